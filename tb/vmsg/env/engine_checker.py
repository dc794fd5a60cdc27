"""Checks of the used-index engine inside the whole peripheral.

The checker learns what it needs from the wires, not from the stimulus:
- queue configuration and resets, by snooping the device port's writes to the
  ENG block (an ENABLE write starts watching a queue, an acknowledged RESET
  closes it);
- accepted completions: the completion stream's handshakes and the firmware
  path's CPL_PUSH writes that answered OKAY (with the CPL_ID / CPL_LEN written
  before them) feed a used-ring reference model per queue;
- EVENT_USED messages popped by the driver (from the mailbox scoreboard) are
  the delivered notifications, at the time the driver's pop began.
The AXI4 monitor (EngineAxiMonitor) then checks every burst, the ordering of
used->idx after its elements' B responses, the ring and idx in memory at every
idx write against the model, and runs the notification oracle on every
decision read, and the time-ordered notification rule (every required
notification followed by an EVENT_USED read after its idx became visible, no
event without a requirement of its own). `final_check` checks the engine's
counters against the testbench's own counts once the engine is idle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyuvm import ConfigDB, uvm_component, uvm_subscriber

from ..bfm.axi_monitor import EngineAxiMonitor
from .coverage import sample_engine_decision, sample_idx_wrap
from ..bfm.axil import OKAY
from ..ref import UsedRingModel
from ..regmap import load as load_regmap
from . import mbox_ref as ref

Q_STRIDE = 0x40


@dataclass
class QueueShadow:
    used: int = 0
    avail: int = 0
    dev_id: int = 0
    vq: int = 0
    size_log2: int = 0
    event_idx: bool = False
    enabled: bool = False
    counters_at_watch: dict = field(default_factory=dict)


class _DevPortInput(uvm_subscriber):
    def write(self, txn):
        self.get_parent().dev_txn(txn)


class _EventInput(uvm_subscriber):
    def write(self, ev):
        self.get_parent().engine_event(ev)


class EngineChecker(uvm_component):
    def build_phase(self):
        self.dev_in = _DevPortInput("dev_in", self)
        self.evt_in = _EventInput("evt_in", self)
        self.shadow: dict[int, QueueShadow] = {}
        self.cpl_id = 0
        self.cpl_len = 0
        self.errors: list[str] = []
        self.accepted = {"stream": 0, "regs": 0}
        self.before_reset: set[int] = set()
        self.sampled: set[int] = set()  # periods whose silent decisions were sampled
        ConfigDB().set(None, "*", "ENGINE_EVENTS", self.expected_events)

    def end_of_elaboration_phase(self):
        regs = load_regmap("vmsg_dev_regs")
        self.eng_base = regs.addr("ENG")
        self.eng_size = regs.size("ENG")
        self.q_base = regs.addr("ENG.Q[0].USED_LO")
        self.offs = {n: regs.addr(f"ENG.Q[0].{n}") - self.q_base for n in
                     ("USED_LO", "USED_HI", "AVAIL_LO", "AVAIL_HI", "CTRL", "DEV")}
        self.a_cpl_id = regs.addr("ENG.CPL_ID")
        self.a_cpl_len = regs.addr("ENG.CPL_LEN")
        self.a_cpl_push = regs.addr("ENG.CPL_PUSH")
        self.ctrl = {n: regs.field("ENG.Q[0].CTRL", n) for n in ("ENABLE", "EVENT_IDX", "RESET", "SIZE_LOG2")}
        self.num_q = ConfigDB().get(self, "", "HDL_PARAMS")["ENG_QUEUES"]
        dut = ConfigDB().get(self, "", "DUT")
        self.mem = ConfigDB().get(self, "", "AXI_MEM")
        max_beats = int(ConfigDB().get(self, "", "HDL_PARAMS").get("MAX_BURST_BEATS", 256))
        self.monitor = EngineAxiMonitor(dut, dut.clk_i, self.mem, prefix="m_axi", log=self.logger,
                                        max_beats=max_beats)
        self._last_new: dict[int, int] = {}
        self.monitor.on_decision = self._decision
        cpl = ConfigDB().get(self, "", "CPL_SOURCE")
        cpl.on_accept = lambda c, _cycle: self._accepted(c.q, c.id, c.len, "stream")

    # --- configuration snoop -------------------------------------------------------
    def dev_txn(self, t) -> None:
        if not t.write or t.resp != OKAY or not self.eng_base <= t.addr < self.eng_base + self.eng_size:
            return
        if t.addr == self.a_cpl_id:
            self.cpl_id = t.data
        elif t.addr == self.a_cpl_len:
            self.cpl_len = t.data
        elif t.addr == self.a_cpl_push:
            self._accepted(t.data & 0xFF, self.cpl_id, self.cpl_len, "regs")
        elif t.addr >= self.q_base:
            q, off = divmod(t.addr - self.q_base, Q_STRIDE)
            if q < self.num_q:
                self._queue_write(q, off, t.data, t.start_ns)

    def _queue_write(self, q: int, off: int, data: int, start_ns: float) -> None:
        s = self.shadow.setdefault(q, QueueShadow())
        o = self.offs
        if off == o["USED_LO"]:
            s.used = (s.used & ~0xFFFFFFFF) | data
        elif off == o["USED_HI"]:
            s.used = (s.used & 0xFFFFFFFF) | data << 32
        elif off == o["AVAIL_LO"]:
            s.avail = (s.avail & ~0xFFFFFFFF) | data
        elif off == o["AVAIL_HI"]:
            s.avail = (s.avail & 0xFFFFFFFF) | data << 32
        elif off == o["DEV"]:
            s.dev_id, s.vq = data & 0xFFFF, data >> 16
        elif off == o["CTRL"]:
            if self.ctrl["RESET"].get(data):
                self._last_new.pop(q, None)
                if q in self.monitor.queues:
                    self.monitor.close(q, reset_ns=start_ns)
                s.enabled = False
                return
            s.size_log2 = self.ctrl["SIZE_LOG2"].get(data)
            s.event_idx = bool(self.ctrl["EVENT_IDX"].get(data))
            enable = bool(self.ctrl["ENABLE"].get(data))
            if enable and not s.enabled and q not in self.monitor.queues:
                wq = self.monitor.watch(q, s.used, s.avail, 1 << s.size_log2, s.event_idx,
                                        UsedRingModel(s.used, 1 << s.size_log2))
                wq.owner = (s.dev_id, s.vq)
            s.enabled = enable

    def _decision(self, q: int, new: int, value: int, notify: bool) -> None:
        last = self._last_new.get(q, 0)
        if last > 0xF000 and new < 0x1000:  # crossed 65535 -> 0 (not a queue restarting at 0)
            sample_idx_wrap(True)
        self._last_new[q] = new

    def _accepted(self, q: int, id_: int, len_: int, path: str) -> None:
        wq = self.monitor.queues.get(q)
        if wq is None:
            # The engine drops (and counts) completions of a queue that is not enabled.
            return
        self.accepted[path] += 1
        wq.model.complete(id_, len_)

    # --- notifications -------------------------------------------------------------
    def engine_event(self, ev) -> None:
        dev_id = int.from_bytes(ev.slot[2:4], "little")
        vq = ref.payload_u32(ev.slot, 0)
        t = ev.start_ns  # the driver's pop began: it reads the ring after this
        for q, s in self.shadow.items():
            if s.dev_id == dev_id and s.vq == vq and (q in self.monitor.queues or s.enabled):
                self._sample_event(self.monitor.on_event(q, t))
                return
        # A notification that was pending when its queue was reset: the latest closed period
        # that served this device queue (an engine queue serves several devices in turn).
        for wq in reversed(self.monitor.closed):
            if wq.after_close != 0 and wq.owner == (dev_id, vq):
                self._sample_event(self.monitor.on_event(wq.q, t, period=wq))
                return
        self.errors.append(f"EVENT_USED for dev {dev_id} vq {vq}: no engine queue serves it")

    def expected_events(self, t_ns: float) -> list[tuple[int, int]]:
        """(dev_id, vq) of every engine queue for which an EVENT_USED read at t_ns would answer
        a required notification: the scoreboard's expectation for an engine event."""
        return [(s.dev_id, s.vq) for q, s in self.shadow.items() if self.monitor.can_take(q, t_ns)]

    @staticmethod
    def _sample_event(wq) -> None:
        """Coverage of what the engine did: it emitted an EVENT_USED (that answered something)."""
        if wq is not None:
            sample_engine_decision(wq.event_idx, True)

    def _sample_silent(self, periods) -> None:
        """Coverage: decisions the engine made (decision reads answered) without an event of their own."""
        for w in periods:
            if id(w) in self.sampled:
                continue
            self.sampled.add(id(w))
            for _ in range(max(0, len(w.oracle.decisions) - w.delivered)):
                sample_engine_decision(w.event_idx, False)

    async def final_check(self, ops) -> list[str]:
        """Once the engine is idle: counters and delivered events against the oracle."""
        self._sample_silent(self.monitor.closed + list(self.monitor.queues.values()))
        probs = list(self.errors) + list(self.monitor.errors)
        if not self.monitor.idle():
            probs.append("AXI traffic still in flight at the end of the test")
        for q, wq in self.monitor.queues.items():
            base = f"ENG.Q[{q}]."
            m = wq.model
            if m.published != m.accepted:
                probs.append(f"q{q}: published {m.published} of {m.accepted} accepted completions")
            status = await ops.read(base + "STATUS")
            if status & 0xFFFF != m.accepted & 0xFFFF and not (status >> 16) & 1:
                probs.append(f"q{q}: STATUS.USED_IDX {status & 0xFFFF}, {m.accepted} completions accepted")
            # The engine's counters count since the peripheral reset: a queue reset keeps them,
            # so they cover every period this engine queue was watched.
            periods = [c for c in self.monitor.closed if c.q == q and id(c) not in self.before_reset] + [wq]
            required = sum(w.required for w in periods)
            # decisions whose R came while the reset write was in flight: the engine may have
            # made them or discarded them (see EngineAxiMonitor.close)
            maybe = sum(len(w.maybe_vis) for w in periods)
            suppressed = sum(w.oracle.suppressed - w.maybe_sup for w in periods)
            maybe_sup = sum(w.maybe_sup for w in periods)
            delivered = sum(w.delivered for w in periods)
            notify = await ops.read(base + "NOTIFY_CNT")
            suppress = await ops.read(base + "SUPPRESS_CNT")
            merged = await ops.read(base + "MERGED_CNT")
            if not required <= notify <= required + maybe:
                probs.append(f"q{q}: NOTIFY_CNT {notify}, the spec requires {required}"
                             + (f" (up to {maybe} more decided while a queue reset began)" if maybe else ""))
            if not suppressed <= suppress <= suppressed + maybe_sup:
                probs.append(f"q{q}: SUPPRESS_CNT {suppress}, oracle {suppressed}"
                             + (f" (up to {maybe_sup} more decided while a queue reset began)" if maybe_sup else ""))
            if wq.unanswered:
                probs.append(f"q{q}: {wq.unanswered} required notification(s) with no EVENT_USED read by the "
                             f"driver after their idx became visible (missed)")
            # docs/engine.md: NOTIFY_CNT = delivered + MERGED_CNT + pending, and a queue reset
            # clears a pending notification (counted in neither): at most one per reset period.
            lost = len(periods) - 1
            if not required - delivered - lost <= merged <= required + maybe - delivered:
                probs.append(f"q{q}: MERGED_CNT {merged}, but {required} required - {delivered} EVENT_USED read"
                             f" = {required - delivered}" + (f" (up to {lost} cleared by queue resets)" if lost else "")
                             + (f" (up to {maybe} more decided while a queue reset began)" if maybe else ""))
        return probs

    def on_reset(self) -> None:
        """Peripheral reset: every engine queue is disabled, nothing is in flight any more."""
        for q in list(self.monitor.queues):
            self.monitor.close(q)
        # The engine's counters restart at 0: periods before the reset no longer count.
        self.before_reset = {id(w) for w in self.monitor.closed}
        for w in self.monitor.closed:  # the mailbox was reset too: no event of theirs comes any more
            w.after_close = 0
        self.monitor.forget_in_flight()
        for s in self.shadow.values():
            s.enabled = False

    def summary(self) -> dict:
        out = {}
        for q, wq in self.monitor.queues.items():
            out[q] = {"accepted": wq.model.accepted, "idx_writes": wq.idx_writes,
                      "required": wq.oracle.required, "delivered": wq.delivered}
        return out
