"""messages.jsonl: one JSON object per message crossing the mailbox.

Written into the test's run folder (VMSG_RUN_DIR). Each line has time_ns,
dir (to_device | to_driver), hex (the whole MSG_SIZE slot), doorbell (an
EVENT_AVAIL taken as a doorbell), source (firmware commit or engine event),
rejected (the TX_ERROR code name, for refused commits) and the decoded
header and payload fields.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from pyuvm import uvm_subscriber

from ..proto import Message, ProtocolError
from . import mbox_ref as ref
from .mbox_events import MboxEvent
from .scoreboard import DIRS


def describe(slot: bytes) -> dict:
    """Decoded header and payload fields of a slot (the codec's view), for humans."""
    h = ref.Header.of(slot)
    out: dict = {"type": h.type, "msg_id": h.msg_id, "dev_id": h.dev_id, "msg_size": h.msg_size}
    if ref.header_size() == ref.HEADER8:
        out["token"] = h.token
    try:
        msg = Message.decode(slot, fmt=ref.FORMAT)
    except ProtocolError as exc:  # a malformed message is still traced
        out["decode_error"] = str(exc)
        return out
    out["name"] = msg.name
    fields = {}
    for f in dataclasses.fields(msg.payload):
        v = getattr(msg.payload, f.name)
        fields[f.name] = v.hex() if isinstance(v, (bytes, bytearray)) else v
    if fields:
        out["payload"] = fields
    return out


class _EngineInput(uvm_subscriber):
    def write(self, ev):
        self.get_parent().engine_event(ev)


class MessageTrace(uvm_subscriber):
    def build_phase(self):
        self.engine_in = _EngineInput("engine_in", self)

    def end_of_elaboration_phase(self):
        run_dir = Path(os.environ.get("VMSG_RUN_DIR", "."))
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / "messages.jsonl"
        self._fh = self.path.open("w", buffering=1)  # line buffered: complete even if the test dies
        self.records: list[dict] = []  # the same records, for tests that inspect the traffic

    def _emit(self, rec: dict) -> None:
        self._fh.write(json.dumps(rec, sort_keys=False) + "\n")
        self.records.append(rec)

    def slots(self, direction: str, *, doorbells: bool = True, rejected: bool = False) -> list[bytes]:
        """The slots that crossed in one direction, in order."""
        return [bytes.fromhex(r["hex"]) for r in self.records
                if r["dir"] == direction and (doorbells or not r["doorbell"]) and (rejected or not r.get("rejected"))]

    def write(self, ev: MboxEvent) -> None:
        if ev.kind in ("commit", "reject"):
            rec = {"time_ns": ev.time_ns, "dir": DIRS[ev.port], "hex": ev.slot.hex(),
                   "doorbell": ev.kind == "commit" and DIRS[ev.port] == "to_device" and ref.is_doorbell(ev.slot),
                   "source": "firmware"}
            if ev.kind == "reject":
                rec["rejected"] = True
            rec.update(describe(ev.slot))
            self._emit(rec)

    def engine_event(self, ev: MboxEvent) -> None:
        rec = {"time_ns": ev.time_ns, "dir": "to_driver", "hex": ev.slot.hex(), "doorbell": False, "source": "engine"}
        rec.update(describe(ev.slot))
        self._emit(rec)

    def final_phase(self):
        self._fh.close()
