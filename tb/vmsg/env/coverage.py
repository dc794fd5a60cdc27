"""Functional coverage of the mailbox (cocotb-coverage).

Coverpoints: every message id crossing in each direction (requests,
responses, events, doorbells), in each header format (the build's HDR_FORMAT,
crossed with the message ids), every commit outcome (TX_ERROR code) per
port, FIFO occupancy at commit, doorbell coalescing, underflow, engine
events. Results are written to coverage.yml in the run folder and merged by
`make cov`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db
from pyuvm import uvm_subscriber

from . import mbox_ref as ref
from .mbox_events import MboxEvent
from .scoreboard import DIRS

_TRANSPORT_IDS = list(range(0x02, 0x0D)) + [0x40, 0x41, 0x42]
_BUS_IDS = [0x02, 0x03, 0x40]
_FORMATS = ["seed6", "hdr8"]


def _format(*_args) -> str:
    """The header format of this simulation (mbox_ref.FORMAT, set from the build)."""
    return "hdr8" if ref.FORMAT == ref.HDR8 else "seed6"


@CoverPoint("vmsg.msg.transport_id", xf=lambda d, h, a: None if h.is_bus else h.msg_id, bins=_TRANSPORT_IDS)
@CoverPoint("vmsg.msg.bus_id", xf=lambda d, h, a: h.msg_id if h.is_bus else None, bins=_BUS_IDS)
@CoverPoint("vmsg.msg.dir", xf=lambda d, h, a: d, bins=["to_device", "to_driver"])
@CoverPoint("vmsg.msg.kind", xf=lambda d, h, a: ("bus" if h.is_bus else "transport") + ("_resp" if h.is_response else "_req"),
            bins=["transport_req", "transport_resp", "bus_req", "bus_resp"])
@CoverCross("vmsg.msg.dir_x_kind", items=["vmsg.msg.dir", "vmsg.msg.kind"],
            ign_bins=[("to_device", "transport_resp"), ("to_device", "bus_resp")])
@CoverPoint("vmsg.msg.format", xf=_format, bins=_FORMATS)
@CoverCross("vmsg.msg.format_x_transport_id", items=["vmsg.msg.format", "vmsg.msg.transport_id"])
@CoverCross("vmsg.msg.format_x_bus_id", items=["vmsg.msg.format", "vmsg.msg.bus_id"])
def _sample_message(direction: str, header: ref.Header, accepted: bool) -> None:
    pass


@CoverPoint("vmsg.commit.outcome", xf=lambda port, code: ref.CODE_NAMES[code], bins=list(ref.CODE_NAMES.values()))
@CoverPoint("vmsg.commit.port", xf=lambda port, code: port, bins=["drv", "dev"])
@CoverCross("vmsg.commit.port_x_outcome", items=["vmsg.commit.port", "vmsg.commit.outcome"],
            ign_bins=[("dev", "DB_RANGE")])
def _sample_commit(port: str, code: int) -> None:
    pass


@CoverPoint("vmsg.fifo.occupancy", xf=lambda direction, level: level, bins=["empty", "partial", "full"])
@CoverPoint("vmsg.fifo.dir", xf=lambda direction, level: direction, bins=["to_device", "to_driver"])
@CoverCross("vmsg.fifo.dir_x_occupancy", items=["vmsg.fifo.dir", "vmsg.fifo.occupancy"])
def _sample_fifo(direction: str, level: str) -> None:
    pass


@CoverPoint("vmsg.doorbell.kick", xf=lambda coalesced: coalesced, bins=[False, True])
def _sample_kick(coalesced: bool) -> None:
    pass


@CoverPoint("vmsg.rx.underflow", xf=lambda port: port, bins=["drv", "dev"])
def _sample_underflow(port: str) -> None:
    pass


class MailboxCoverage(uvm_subscriber):
    def build_phase(self):
        self.level = {"to_device": 0, "to_driver": 0}
        self.db_pending: set[int] = set()
        self.last_code: dict[str, int] = {}

    def end_of_elaboration_phase(self):
        from pyuvm import ConfigDB

        p = ConfigDB().get(self, "", "HDL_PARAMS")
        self.depth = {"to_device": p["TO_DEV_DEPTH"], "to_driver": p["TO_DRV_DEPTH"]}
        self.num_vqs = p["NUM_VQS"]

    def write(self, ev: MboxEvent) -> None:
        if ev.kind in ("commit", "reject"):
            direction = DIRS[ev.port]
            h = ref.Header.of(ev.slot)
            level = self.level[direction]
            _sample_fifo(direction, "empty" if level == 0 else "full" if level >= self.depth[direction] else "partial")
            if ev.kind == "commit":
                _sample_message(direction, h, True)
                _sample_commit(ev.port, ref.NONE)
                if direction == "to_device" and ref.is_doorbell(ev.slot):
                    p = h.dev_id * self.num_vqs + ref.payload_u32(ev.slot, 0)
                    _sample_kick(p in self.db_pending)
                    self.db_pending.add(p)
                else:
                    self.level[direction] += 1
        elif ev.kind == "tx_error":
            _sample_commit(ev.port, ev.code)
        elif ev.kind == "pop":
            direction = "to_driver" if ev.port == "drv" else "to_device"
            self.level[direction] = max(0, self.level[direction] - 1)
        elif ev.kind == "underflow":
            _sample_underflow(ev.port)
        elif ev.kind == "db_clear":
            for bit in range(32):
                if ev.value >> bit & 1:
                    self.db_pending.discard(ev.code * 32 + bit)

    def on_reset(self) -> None:
        self.level = {"to_device": 0, "to_driver": 0}
        self.db_pending.clear()

    def report_phase(self):
        run_dir = Path(os.environ.get("VMSG_RUN_DIR", "."))
        coverage_db.export_to_yaml(filename=str(run_dir / "coverage.yml"))


OPS = ["config_read", "config_write", "status", "ping", "io", "kick", "reset", "device_config_change",
       "hotplug", "removal", "bad_type_rsvd", "bad_type_dir", "bad_size_small", "bad_size_large", "bad_db_range"]


@CoverPoint("vmsg.ops.op", xf=lambda op, kind: op, bins=OPS)
@CoverPoint("vmsg.ops.target", xf=lambda op, kind: kind, bins=["blk", "rng", "generic", "driver", "device"])
def sample_op(op: str, kind: str) -> None:
    """One operation of the random sequences (what was exercised, on what)."""


@CoverPoint("vmsg.engine.decision", xf=lambda event_idx, notify: (event_idx, notify),
            bins=[(False, False), (False, True), (True, False), (True, True)])
def sample_engine_decision(event_idx: bool, notify: bool) -> None:
    """One notification decision of the engine as observed (EVENT_IDX or flags): notify = an
    EVENT_USED the engine emitted (read by the driver); not = a decision read the engine made
    without an EVENT_USED of its own (suppressed or merged), counted per queue period as
    decisions observed on the AXI port minus events read."""


@CoverPoint("vmsg.engine.idx_wrap", xf=lambda wrapped: wrapped, bins=[True])
def sample_idx_wrap(wrapped: bool) -> None:
    """A used->idx write that wrapped past 65535."""
