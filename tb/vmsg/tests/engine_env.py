"""Test environment of the used-index engine alone (DUT vmsg_used_engine).

Builds the clock, reset, the AXI memory (latency, back-pressure, errors), the AXI monitor with
the reference models, the register port, the completion stream driver and the event sink, and
offers queue set-up, firmware completions, a driver emulation that moves used_event / flags
in memory, quiescence and the end-of-test checks against the reference models.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge, Timer
from cocotb.utils import get_sim_time

from vmsg.bfm.axi_mem import AxiMem
from vmsg.bfm.axi_monitor import EngineAxiMonitor, WatchedQueue
from vmsg.bfm.eng_ports import Completion, CplSource, EngRegPort, EvtSink
from vmsg.ref import UsedRingModel
from vmsg.tests.power_on import start_clock_in_reset

CLK_NS = 10

# ENG block: global registers
CAPS, ERRQ_LO, ERRQ_HI = 0x000, 0x008, 0x00C
CPL_ID, CPL_LEN, CPL_PUSH, CPL_STATUS, CPL_REJECTED = 0x010, 0x014, 0x018, 0x01C, 0x020
CPL_BAD_QUEUE, EVT_PENDING_LO, EVT_PENDING_HI, TIMEOUT = 0x024, 0x028, 0x02C, 0x030
# per-queue block at 0x1000 + 0x40 * q
Q_BASE, Q_STRIDE = 0x1000, 0x40
USED_LO, USED_HI, AVAIL_LO, AVAIL_HI, CTRL, DEV, STATUS = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18
ERR_ADDR_LO, ERR_ADDR_HI, CPL_CNT, IDX_WR_CNT, NOTIFY_CNT = 0x1C, 0x20, 0x24, 0x28, 0x2C
SUPPRESS_CNT, ERR_CNT, DROP_CNT, MERGED_CNT = 0x30, 0x34, 0x38, 0x3C
CTRL_ENABLE, CTRL_EVENT_IDX, CTRL_RESET = 1, 2, 4
ST_ERROR, ST_BUSY, ST_RESETTING = 1 << 16, 1 << 17, 1 << 21
ST_ERR_KIND_SHIFT, ST_ERR_KIND_MASK = 18, 0x7

ERR_KIND_WRITE, ERR_KIND_READ, ERR_KIND_CONFIG, ERR_KIND_TIMEOUT = 1, 2, 3, 4
MEM_TIMEOUT_DEFAULT = 65536  # docs/engine.md: reset value of TIMEOUT


def qreg(q: int, off: int) -> int:
    return Q_BASE + Q_STRIDE * q + off


def hdl_params() -> dict:
    return json.loads(os.environ.get("VMSG_HDL_PARAMS", "{}"))


class EngineEnv:
    def __init__(self, dut, wr_latency: int = 0, rd_latency: int = 0, seed: int | None = None,
                 mem_size: int = 1 << 24, cpl_idle: float = 0.0):
        self.dut = dut
        self.seed = seed if seed is not None else int(getattr(cocotb, "RANDOM_SEED", 1))
        self.rng = random.Random(self.seed)
        p = hdl_params()
        self.num_q = int(p.get("NUM_Q", 4))
        self.data_w = len(dut.m_axi_wdata)
        self.addr_w = len(dut.m_axi_awaddr)
        self.cpl_fifo_depth = int(p.get("CPL_FIFO_DEPTH", 8))
        self.clk = dut.clk_i
        self.wr_latency = wr_latency
        self.rd_latency = rd_latency
        self.mem_size = mem_size
        self.cpl_idle = cpl_idle
        self.dev_of: dict[int, tuple[int, int]] = {}
        self.q_of_dev: dict[tuple[int, int], int] = {}
        self.fw_accepted: dict[int, int] = {}
        self._movers: list = []

    async def start(self) -> None:
        dut = self.dut
        start_clock_in_reset(dut, CLK_NS)
        self.mem = AxiMem(dut, dut.clk_i, dut.rst_ni, size=self.mem_size, clk_period_ns=CLK_NS,
                          wr_latency=self.wr_latency, rd_latency=self.rd_latency, seed=self.seed)
        p = hdl_params()
        self.mon = EngineAxiMonitor(dut, dut.clk_i, self.mem, axi_id=int(p.get("AXI_ID", 0)),
                                    axi_cache=int(p.get("AXI_CACHE", 0b0010)),
                                    axi_prot=int(p.get("AXI_PROT", 0)),
                                    max_beats=int(p.get("MAX_BURST_BEATS", 256)))
        self.regs = EngRegPort(dut, dut.clk_i)
        self.cpl = CplSource(dut, dut.clk_i, idle_prob=self.cpl_idle, seed=self.seed + 1)
        self.cpl.on_accept = self._on_stream_accept
        self.evt = EvtSink(dut, dut.clk_i, seed=self.seed + 2, period_ns=CLK_NS)
        self.evt.on_event = self._on_event
        self.err_irqs = 0
        cocotb.start_soon(self._count_irq())
        await ClockCycles(dut.clk_i, 5)
        dut.rst_ni.value = 1
        await ClockCycles(dut.clk_i, 3)
        caps = await self.regs.read(CAPS)
        assert caps & 0xFF == self.num_q, f"CAPS.NUM_Q {caps & 0xFF} != {self.num_q}"
        assert (caps >> 8) & 0xFF == self.data_w // 8
        assert (caps >> 16) & 0xFF == self.addr_w

    async def _count_irq(self) -> None:
        """Counts err_irq_o pulses: cycles with err_irq_o high (pulses may be back to back)."""
        from cocotb.triggers import RisingEdge
        while True:
            await RisingEdge(self.dut.err_irq_o)
            while True:
                await FallingEdge(self.clk)
                if not int(self.dut.err_irq_o.value):
                    break
                self.err_irqs += 1

    def now(self) -> float:
        return get_sim_time(unit="ns")

    # -- queues ---------------------------------------------------------------------------
    async def setup_queue(self, q: int, used: int, avail: int, size: int, event_idx: bool = False,
                          enable: bool = True, loose: bool = False, flags: int = 0,
                          used_event: int = 0) -> WatchedQueue:
        dev, vq = 0x100 + q, (q * 3 + 1) & 0xFFFF
        self.dev_of[q] = (dev, vq)
        self.q_of_dev[(dev, vq)] = q
        # the driver's avail ring: flags and used_event; the used ring zeroed
        self.mem.write(used, bytes(4 + 8 * size + 2))
        self.mem.write(avail, bytes(4 + 2 * size + 2))
        self.mem.write_u16(avail, flags)
        self.mem.write_u16(avail + 4 + 2 * size, used_event)
        r = self.regs
        await r.write(qreg(q, USED_LO), used & 0xFFFFFFFF)
        await r.write(qreg(q, USED_HI), used >> 32)
        await r.write(qreg(q, AVAIL_LO), avail & 0xFFFFFFFF)
        await r.write(qreg(q, AVAIL_HI), avail >> 32)
        await r.write(qreg(q, DEV), dev | (vq << 16))
        wq = self.mon.watch(q, used, avail, size, event_idx, UsedRingModel(used, size), loose=loose)
        wq.base = await self.counters(q)
        ctrl = (CTRL_EVENT_IDX if event_idx else 0) | ((size.bit_length() - 1) << 8)
        await r.write(qreg(q, CTRL), ctrl | (CTRL_ENABLE if enable else 0))
        return wq

    async def disable(self, q: int) -> None:
        v = await self.regs.read(qreg(q, CTRL))
        await self.regs.write(qreg(q, CTRL), v & ~CTRL_ENABLE)

    async def reset_queue(self, q: int, wait: bool = True, timeout_cycles: int = 200000) -> int:
        """Queue reset: the RESET write (acknowledged at once), then, with `wait`, STATUS read
        until RESETTING is 0. Returns the cycles from the write until RESETTING read 0 (with
        `wait`) or until the write's ack. The monitor closes the queue at the write's ack: no
        new transaction of the queue may follow it."""
        t0 = self.now()
        cycles = await self.regs.write(qreg(q, CTRL), CTRL_RESET)
        assert cycles <= 8, f"q{q}: RESET write acknowledged after {cycles} cycles"
        self._close(q, t0)
        if wait:
            while await self.regs.read(qreg(q, STATUS)) & ST_RESETTING:
                assert self.now() - t0 < timeout_cycles * CLK_NS, f"q{q}: reset not finished"
            cycles = round((self.now() - t0) / CLK_NS)
        return cycles

    def _close(self, q: int, reset_ns: float | None = None) -> None:
        if q in self.mon.queues:
            wq = self.mon.close(q, reset_ns)
            # after the ack an event already presented on evt_* may still come for it, and one
            # whose pending bit was set and is presented before the reset finished (the reset
            # clears the bit only then; docs/engine.md, Disable and reset)
            d = self.dut
            presented = bool(int(d.evt_valid_o.value)) and \
                self.q_of_dev.get((int(d.evt_dev_id_o.value), int(d.evt_vq_o.value))) == q
            wq.after_close = int(presented) + 1

    async def reset_engine(self, cycles: int = 5) -> dict:
        """rst_ni low for `cycles` cycles at this moment (asynchronous reset): the memory drops
        the responses it still holds, the stream driver its completions, the monitor closes
        every queue (nothing of theirs may be written or read any more) and forgets what was in
        flight. Returns what was in flight when rst_ni fell."""
        m = self.mon
        # between edges, so that the monitor's sampling of this cycle's edge is not mixed in
        await FallingEdge(self.clk)
        inflight = {"writes": len(m.b_pending) + len(m.aw_pending), "reads": len(m.ar_pending),
                    "mem": not self.mem.idle(), "cpl": len(self.cpl.pending)}
        self.dut.rst_ni.value = 0
        self.mem.on_reset()
        self.cpl.reset()
        for q in list(m.queues):
            m.close(q).after_close = 0
        m.forget_in_flight()
        await ClockCycles(self.clk, cycles)
        m.forget_in_flight()
        self.dut.rst_ni.value = 1
        await ClockCycles(self.clk, 3)
        return inflight

    def _on_stream_accept(self, c: Completion, _cycle: int) -> None:
        wq = self.mon.queues.get(c.q)
        if wq is not None and not wq.loose and getattr(wq, "accepting", True):
            wq.model.complete(c.id, c.len)

    def _on_event(self, dev: int, vq: int) -> None:
        q = self.q_of_dev.get((dev, vq))
        if q is None:
            self.mon.error(f"EVENT_USED with unknown dev {dev:#x} vq {vq}")
            return
        self.mon.on_event(q, self.evt.event_ns[-1])  # the handshake's rising edge

    def complete(self, q: int, id_: int, len_: int) -> None:
        self.cpl.send(Completion(q, id_, len_))

    async def push_fw(self, q: int, id_: int, len_: int, expect_ok: bool | None = True) -> bool:
        """Firmware completion through CPL_ID / CPL_LEN / CPL_PUSH; returns accepted."""
        await self.regs.write(CPL_ID, id_)
        await self.regs.write(CPL_LEN, len_)
        err = await self.regs.write_err(CPL_PUSH, q)
        if expect_ok is not None:
            assert err != expect_ok, f"CPL_PUSH q{q}: err={err}, expected accepted={expect_ok}"
        if not err:
            wq = self.mon.queues.get(q)
            if wq is not None and not wq.loose:
                wq.model.complete(id_, len_)
        return not err

    # -- driver emulation -----------------------------------------------------------------
    def start_driver(self, q: int, period_cycles: int = 37, no_int_prob: float = 0.3,
                     ue_window: tuple[int, int] = (-3, 12)) -> None:
        """Moves avail->flags (NO_INTERRUPT) and used_event in memory, as a driver does."""
        async def mover():
            rng = random.Random(self.seed * 1000 + q)
            while True:
                await Timer(CLK_NS * rng.randint(1, 2 * period_cycles), unit="ns")
                wq = self.mon.queues.get(q)
                if wq is None:
                    continue
                if wq.event_idx:
                    ue = (wq.vis + rng.randint(*ue_window)) & 0xFFFF
                    self.mem.write_u16(wq.avail + 4 + 2 * wq.size, ue)
                else:
                    self.mem.write_u16(wq.avail, 1 if rng.random() < no_int_prob else 0)
        self._movers.append(cocotb.start_soon(mover()))

    def stop_drivers(self) -> None:
        for t in self._movers:
            t.cancel()
        self._movers.clear()

    # -- quiescence and checks ------------------------------------------------------------
    async def quiesce(self, timeout_cycles: int = 200000, queues=None) -> None:
        """Wait until the stream is drained, the firmware FIFO is empty, every watched queue
        is idle (STATUS.BUSY = 0), no event is pending and the memory has nothing in flight."""
        queues = list(self.mon.queues) if queues is None else queues
        t_end = self.now() + timeout_cycles * CLK_NS
        await self.cpl.wait_idle()
        while True:
            await ClockCycles(self.clk, 20)
            busy = False
            st = await self.regs.read(CPL_STATUS)
            if st & 0xFF != self.cpl_fifo_depth:
                busy = True
            for q in queues:
                s = await self.regs.read(qreg(q, STATUS))
                if s & ST_BUSY and not s & ST_ERROR:
                    busy = True
            evl = await self.regs.read(EVT_PENDING_LO)
            evh = await self.regs.read(EVT_PENDING_HI)
            if evl or evh or int(self.dut.evt_valid_o.value):
                busy = busy or not self.evt.hold
            if not self.mem.idle() or not self.mon.idle():
                busy = True
            if not busy:
                await ClockCycles(self.clk, 10)
                return
            assert self.now() < t_end, "engine did not become idle"

    async def counters(self, q: int) -> dict:
        r = self.regs
        return {name: await r.read(qreg(q, off)) for name, off in (
            ("cpl", CPL_CNT), ("idx_wr", IDX_WR_CNT), ("notify", NOTIFY_CNT), ("suppress", SUPPRESS_CNT),
            ("err", ERR_CNT), ("drop", DROP_CNT), ("merged", MERGED_CNT), ("status", STATUS))}

    async def check_queue(self, q: int) -> dict:
        """End checks of one watched, idle queue against the reference models. Returns the
        counters since the queue was set up (STATUS as read)."""
        wq = self.mon.queues[q]
        raw = await self.counters(q)
        cnt = {k: (v - wq.base.get(k, 0)) & 0xFFFFFFFF if k != "status" else v for k, v in raw.items()}
        st = cnt["status"]
        if not wq.loose:
            m = wq.model
            assert m.published == m.accepted, \
                f"q{q}: published {m.published} of {m.accepted} accepted completions"
            assert st & 0xFFFF == m.accepted & 0xFFFF, f"q{q}: STATUS.USED_IDX {st & 0xFFFF}"
            probs = m.compare_memory(self.mem.read, max(0, m.accepted - m.size), m.accepted) + \
                m.compare_idx(self.mem.read)
            assert not probs, f"q{q}: {probs[:5]}"
        assert not st & ST_BUSY, f"q{q}: still busy"
        assert cnt["idx_wr"] == wq.idx_writes, f"q{q}: IDX_WR_CNT {cnt['idx_wr']} != {wq.idx_writes} seen"
        assert wq.reads == wq.idx_writes, f"q{q}: {wq.reads} decision reads for {wq.idx_writes} idx writes"
        # Notifications: the testbench's own counts (oracle on the values read, events seen on
        # evt_*, time-ordered) are the expectation; the design's counters are checked against them.
        assert wq.required == wq.oracle.required
        assert cnt["notify"] == wq.required, \
            f"q{q}: NOTIFY_CNT {cnt['notify']} != {wq.required} required by the spec"
        assert cnt["suppress"] == wq.oracle.suppressed, \
            f"q{q}: SUPPRESS_CNT {cnt['suppress']} != {wq.oracle.suppressed}"
        assert wq.spurious == 0, f"q{q}: {wq.spurious} spurious EVENT_USED"
        if not self.evt.hold:
            assert wq.unanswered == 0, \
                f"q{q}: {wq.unanswered} required notification(s) with no EVENT_USED after their idx became visible"
            # docs/engine.md: NOTIFY_CNT = events delivered + MERGED_CNT + pending (none pending here)
            assert cnt["merged"] == wq.required - wq.delivered, \
                f"q{q}: MERGED_CNT {cnt['merged']}, but {wq.required} required - {wq.delivered} events = " \
                f"{wq.required - wq.delivered}"
        return cnt

    def check_monitor(self) -> None:
        assert not self.mon.errors, "AXI monitor: " + "; ".join(self.mon.errors[:8])
