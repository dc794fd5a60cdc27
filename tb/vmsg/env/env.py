"""The environment: an agent per AXI4-Lite port, the mailbox event monitor, scoreboard, trace,
coverage, and the used-index engine checker (AXI4 monitor, used-ring model, notification oracle)."""

from __future__ import annotations

from pyuvm import uvm_env

from .coverage import MailboxCoverage
from .engine_checker import EngineChecker
from .event_monitor import MboxEventMonitor
from .mbox_agent import MboxAgent
from .scoreboard import MailboxScoreboard
from .trace import MessageTrace


class VmsgEnv(uvm_env):
    def build_phase(self):
        self.drv_agent = MboxAgent("drv_agent", self)
        self.dev_agent = MboxAgent("dev_agent", self)
        self.events = MboxEventMonitor("events", self)
        self.scoreboard = MailboxScoreboard("scoreboard", self)
        self.trace = MessageTrace("trace", self)
        self.coverage = MailboxCoverage("coverage", self)
        self.engine = EngineChecker("engine", self)

    def connect_phase(self):
        self.drv_agent.monitor.ap.connect(self.events.drv_in.analysis_export)
        self.dev_agent.monitor.ap.connect(self.events.dev_in.analysis_export)
        for sub in (self.scoreboard, self.trace, self.coverage):
            self.events.ap.connect(sub.analysis_export)
        self.scoreboard.engine_ap.connect(self.trace.engine_in.analysis_export)
        self.dev_agent.monitor.ap.connect(self.engine.dev_in.analysis_export)
        self.scoreboard.engine_ap.connect(self.engine.evt_in.analysis_export)

    def on_reset(self) -> None:
        """Tell every checker that the peripheral was reset (rst_ni asserted)."""
        for c in (self.events, self.scoreboard, self.coverage, self.engine):
            c.on_reset()
