"""Turns both ports' AXI4-Lite transactions into mailbox-level events."""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_analysis_port, uvm_component, uvm_subscriber

from ..regmap import load as load_regmap
from .mbox_events import MboxDecoder


class _PortInput(uvm_subscriber):
    def write(self, txn):
        self.get_parent().feed(txn)


class MboxEventMonitor(uvm_component):
    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.drv_in = _PortInput("drv_in", self)
        self.dev_in = _PortInput("dev_in", self)

    def end_of_elaboration_phase(self):
        msg_size = ConfigDB().get(self, "", "HDL_PARAMS")["MSG_SIZE"]
        self.decoders = {
            "drv": MboxDecoder("drv", load_regmap("vmsg_drv_regs"), msg_size),
            "dev": MboxDecoder("dev", load_regmap("vmsg_dev_regs"), msg_size),
        }

    def feed(self, txn) -> None:
        for ev in self.decoders[txn.port].feed(txn):
            self.ap.write(ev)

    def on_reset(self) -> None:
        for d in self.decoders.values():
            d._reset_staged()
            d._reset_head()
