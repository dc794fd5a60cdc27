"""messages.jsonl: one JSON object per message crossing the mailbox.

Written into the test's run folder (VMSG_RUN_DIR). Each line has time_ns,
dir (to_device | to_driver), hex (the whole MSG_SIZE slot), doorbell (an
EVENT_AVAIL taken as a doorbell), source (firmware commit or engine event),
rejected (the TX_ERROR code name, for refused commits) and the decoded
header and payload fields.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pyuvm import ConfigDB, uvm_subscriber

from . import mbox_ref as ref
from .mbox_events import MboxEvent
from .scoreboard import DIRS


def describe(slot: bytes) -> dict:
    """Decoded fields of a slot, for humans reading the trace."""
    try:
        from ..proto import decode_fields  # the codec, when it knows the message
    except ImportError:  # pragma: no cover - codec always present in the package
        decode_fields = None
    h = ref.Header.of(slot)
    out = {"type": h.type, "msg_id": h.msg_id, "dev_id": h.dev_id, "msg_size": h.msg_size}
    if decode_fields is not None:
        try:
            out.update(decode_fields(slot))
        except Exception as exc:  # a malformed message is still traced
            out["decode_error"] = str(exc)
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
        self._fh = self.path.open("w")
        self.count = 0

    def _emit(self, rec: dict) -> None:
        self._fh.write(json.dumps(rec, sort_keys=False) + "\n")
        self.count += 1

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
