"""Drivers of the used-index engine's non-AXI ports: the ENG register request port, the
completion stream and the EVENT_USED output.

Inputs are driven and outputs sampled at the falling clock edge, where every signal is stable;
the DUT samples at the rising edge. Each driver sleeps while it has nothing to do.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Callable

import cocotb
from cocotb.triggers import Event, FallingEdge, RisingEdge
from cocotb.utils import get_sim_time


class RegError(Exception):
    """A register access answered err (SLVERR)."""


class EngRegPort:
    """s_reg_* request port: one request at a time, waits for rd_ack / wr_ack."""

    def __init__(self, dut, clk, timeout_cycles: int = 100000):
        self.dut = dut
        self.clk = clk
        self.timeout = timeout_cycles
        self._lock_free = Event()
        self._lock_free.set()
        dut.s_reg_req_i.value = 0
        dut.s_reg_addr_i.value = 0
        dut.s_reg_we_i.value = 0
        dut.s_reg_wdata_i.value = 0
        dut.s_reg_wmask_i.value = 0

    async def access(self, addr: int, we: bool, wdata: int = 0, wmask: int = 0xFFFFFFFF) -> tuple[int, bool, int]:
        """Returns (rdata, err, cycles until the ack)."""
        while not self._lock_free.is_set():
            await self._lock_free.wait()
        self._lock_free.clear()
        d = self.dut
        await FallingEdge(self.clk)
        d.s_reg_req_i.value = 1
        d.s_reg_addr_i.value = addr
        d.s_reg_we_i.value = int(we)
        d.s_reg_wdata_i.value = wdata & 0xFFFFFFFF
        d.s_reg_wmask_i.value = wmask & 0xFFFFFFFF
        await FallingEdge(self.clk)
        d.s_reg_req_i.value = 0
        cycles = 0
        while True:
            if int(d.s_reg_rd_ack_o.value) or int(d.s_reg_wr_ack_o.value):
                if we != bool(int(d.s_reg_wr_ack_o.value)):
                    raise AssertionError(f"register {addr:#x}: wrong ack kind")
                rdata, err = int(d.s_reg_rdata_o.value), bool(int(d.s_reg_err_o.value))
                break
            cycles += 1
            if cycles > self.timeout:
                raise AssertionError(f"register {addr:#x}: no ack in {self.timeout} cycles")
            await FallingEdge(self.clk)
        self._lock_free.set()
        return rdata, err, cycles

    async def read(self, addr: int) -> int:
        data, err, _ = await self.access(addr, False)
        if err:
            raise RegError(f"read {addr:#x} answered err")
        return data

    async def write(self, addr: int, value: int, mask: int = 0xFFFFFFFF) -> int:
        """Returns the cycles until the ack."""
        _, err, cycles = await self.access(addr, True, value, mask)
        if err:
            raise RegError(f"write {addr:#x} = {value:#x} answered err")
        return cycles

    async def read_err(self, addr: int) -> bool:
        return (await self.access(addr, False))[1]

    async def write_err(self, addr: int, value: int, mask: int = 0xFFFFFFFF) -> bool:
        return (await self.access(addr, True, value, mask))[1]


@dataclass
class Completion:
    q: int
    id: int
    len: int


class CplSource:
    """Completion stream driver. `send()` queues completions; `on_accept(c, cycle)` is called
    for each one the port takes (s_cpl_valid_i && s_cpl_ready_o at a rising edge)."""

    def __init__(self, dut, clk, idle_prob: float = 0.0, seed: int = 0, port: str = "s_cpl_{}_i",
                 ready: str = "s_cpl_ready_o"):
        """port: name pattern of the inputs ({} = valid, queue, id, len); ready: the output."""
        self.dut = dut
        self.clk = clk
        self._valid, self._queue, self._id, self._len = (getattr(dut, port.format(n)) for n in ("valid", "queue", "id", "len"))
        self._ready = getattr(dut, ready)
        self.idle_prob = idle_prob
        self.rng = random.Random(seed)
        self._gen = 0  # bumped by reset()
        self.pending: deque[Completion] = deque()
        self.on_accept: Callable[[Completion, int], None] | None = None
        self.accepted = 0
        self.cycle = 0
        self._wake = Event()
        self._idle = Event()
        self._idle.set()
        self._valid.value = 0
        self._queue.value = 0
        self._id.value = 0
        self._len.value = 0
        self._task = cocotb.start_soon(self._run())

    def send(self, c: Completion) -> None:
        self.pending.append(c)
        self._idle.clear()
        self._wake.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def reset(self) -> None:
        """The port was reset: completions not yet taken are dropped."""
        self.pending.clear()
        self._valid.value = 0
        self._gen += 1

    async def _run(self) -> None:
        while True:
            while not self.pending:
                self._valid.value = 0
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            await FallingEdge(self.clk)
            if self.idle_prob and self.rng.random() < self.idle_prob:
                self._valid.value = 0
                continue
            if not self.pending:  # reset meanwhile
                continue
            c = self.pending[0]
            gen = self._gen
            self._valid.value = 1
            self._queue.value = c.q
            self._id.value = c.id
            self._len.value = c.len
            while not int(self._ready.value) and gen == self._gen:
                await FallingEdge(self.clk)
            if gen != self._gen:  # reset meanwhile: this completion was dropped
                continue
            self.pending.popleft()
            self.accepted += 1
            if self.on_accept is not None:
                self.on_accept(c, 0)
            if not self.pending:
                await FallingEdge(self.clk)
                self._valid.value = 0


class EvtSink:
    """EVENT_USED consumer: evt_ready_i with optional random back-pressure, or held low while
    `hold` is set. Calls on_event(dev_id, vq) for each event taken."""

    def __init__(self, dut, clk, busy_prob: float = 0.0, seed: int = 1, period_ns: float = 10.0):
        self.dut = dut
        self.clk = clk
        self.half_period_ns = period_ns / 2
        self.busy_prob = busy_prob
        self.rng = random.Random(seed)
        self.hold = False
        self.release_ns: float | None = None  # while held: release at the first falling edge >= this
        self.events: list[tuple[int, int]] = []
        self.event_ns: list[float] = []  # handshake (rising edge) time of each event
        self.on_event: Callable[[int, int], None] | None = None
        dut.evt_ready_i.value = 0
        self._task = cocotb.start_soon(self._run())

    def set_hold(self, hold: bool) -> None:
        """Only the sink's own loop drives evt_ready_i (at falling edges), so that every
        handshake it allows is also recorded."""
        self.hold = hold

    async def _run(self) -> None:
        d = self.dut
        while True:
            if not int(d.evt_valid_o.value):
                d.evt_ready_i.value = 0
                await RisingEdge(d.evt_valid_o)
            await FallingEdge(self.clk)
            if self.hold and self.release_ns is not None and get_sim_time(unit="ns") >= self.release_ns:
                self.hold, self.release_ns = False, None
            ready = not self.hold and not (self.busy_prob and self.rng.random() < self.busy_prob)
            d.evt_ready_i.value = int(ready)
            if ready and int(d.evt_valid_o.value):
                ev = (int(d.evt_dev_id_o.value), int(d.evt_vq_o.value))
                self.events.append(ev)
                self.event_ns.append(get_sim_time(unit="ns") + self.half_period_ns)
                if self.on_event is not None:
                    self.on_event(*ev)
