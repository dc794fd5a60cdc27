"""AXI4 memory slave for the engine's master port, built on cocotbext-axi's AxiRam.

cocotbext-axi's AxiSlaveWrite handles one burst at a time (AW, then its W beats, then
`await b_channel.send(b)`) and AxiSlaveRead sends each R beat with `await r_channel.send(r)`;
both sources are queues driven one item per clock. Latency is added by replacing the B and R
sources with a delay line: `send` time-stamps the response and returns at once (so the slave
goes on with the next burst: responses are pipelined, not serialised), and a separate
coroutine hands each response to the real source when its time has come. Responses stay in
order, as they do for the single AXI ID the engine uses.

Back-pressure: random pause generators on AW / W / AR (ready low) and B / R (valid held back).
Errors: address ranges that answer SLVERR or DECERR for writes, reads or both; a failing beat
is not written. Silence: `stall(cycles)` holds every B and R response back until then (the
memory answers nothing for a bounded time; responses keep their order). Memory contents: `read(addr, n)` / `write(addr, data)` (addresses modulo the
memory size).
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from dataclasses import dataclass

import cocotb
from cocotb.triggers import Event, Timer
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiBus, AxiRam
from cocotbext.axi.constants import AxiResp

OKAY, EXOKAY, SLVERR, DECERR = 0, 1, 2, 3


class _InjectedError(Exception):
    pass


@dataclass
class ErrorRange:
    start: int
    end: int  # exclusive
    resp: int = SLVERR  # SLVERR or DECERR
    write: bool = True
    read: bool = False
    count: int | None = None  # number of failing transactions left (None: unlimited)
    hits: int = 0

    def match(self, addr: int, n: int, is_write: bool) -> bool:
        if (is_write and not self.write) or (not is_write and not self.read):
            return False
        if self.count is not None and self.count <= 0:
            return False
        return addr < self.end and addr + n > self.start


class _DelayLine:
    """Stands in for a cocotbext-axi response source (B or R) and delays each item."""

    def __init__(self, source, latency_ns_fn, hook=None, hold_until_fn=None):
        self._src = source
        self._hold_until = hold_until_fn
        self._latency_ns = latency_ns_fn
        self._hook = hook
        self._q: deque = deque()
        self._gen = 0  # bumped by clear(): a response taken before it is dropped
        self._ev = Event()
        self._task = cocotb.start_soon(self._run())

    def __getattr__(self, name):  # _transaction_obj, count, empty, ...
        return getattr(self._src, name)

    async def send(self, obj):
        if self._hook is not None:
            self._hook(obj)
        self._q.append((get_sim_time(unit="ns") + self._latency_ns(), obj))
        self._ev.set()

    def clear(self):
        self._gen += 1
        self._q.clear()
        self._src.clear()

    def pending(self) -> int:
        return len(self._q)

    async def _run(self):
        while True:
            while not self._q:
                self._ev.clear()
                await self._ev.wait()
            due, obj = self._q.popleft()
            gen = self._gen
            while True:  # a stall that began meanwhile holds this response too
                if self._hold_until is not None:
                    due = max(due, self._hold_until())
                now = get_sim_time(unit="ns")
                if due <= now:
                    break
                await Timer(due - now, unit="ns")
            if gen == self._gen:
                await self._src.send(obj)


def _pauses(rng: random.Random, prob: float, max_run: int = 8):
    """Endless pause pattern: runs of pause (True) with probability `prob` per decision."""
    while True:
        if rng.random() < prob:
            for _ in range(rng.randint(1, max_run)):
                yield True
        else:
            for _ in range(rng.randint(1, max_run)):
                yield False


class AxiMem:
    """Memory on the engine's AXI4 master port."""

    def __init__(self, dut, clk, rst, prefix: str = "m_axi", size: int = 2**24,
                 clk_period_ns: float = 10.0, wr_latency: int = 0, rd_latency: int = 0,
                 seed: int = 0):
        self.clk = clk
        self.period = clk_period_ns
        self.size = size
        self.wr_latency = wr_latency  # cycles between the last W beat and B
        self.rd_latency = rd_latency  # cycles between AR and the R beat
        self.rng = random.Random(seed)
        self.errors: list[ErrorRange] = []
        self.stall_until_ns = 0.0
        self.ram = AxiRam(AxiBus.from_prefix(dut, prefix), clk, rst, reset_active_level=False, size=size)
        for ch in (self.ram.write_if.aw_channel, self.ram.write_if.w_channel, self.ram.write_if.b_channel,
                   self.ram.read_if.ar_channel, self.ram.read_if.r_channel):
            ch.log.setLevel("WARNING")
        self.ram.write_if.log.setLevel("WARNING")
        self.ram.read_if.log.setLevel("WARNING")
        self._wr_resp = OKAY  # response of the burst being processed
        self._rd_resp = OKAY
        wif, rif = self.ram.write_if, self.ram.read_if
        wif.b_channel = _DelayLine(wif.b_channel, lambda: self.wr_latency * self.period, self._b_hook,
                                   lambda: self.stall_until_ns)
        rif.r_channel = _DelayLine(rif.r_channel, lambda: self.rd_latency * self.period, self._r_hook,
                                   lambda: self.stall_until_ns)
        wif._write = self._write
        rif._read = self._read

    # -- memory -------------------------------------------------------------------------
    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.ram.read(addr % self.size, n))

    def write(self, addr: int, data: bytes) -> None:
        self.ram.write(addr % self.size, bytes(data))

    def read_u16(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 2), "little")

    def write_u16(self, addr: int, v: int) -> None:
        self.write(addr, (v & 0xFFFF).to_bytes(2, "little"))

    def stall(self, cycles: int) -> float:
        """No B or R response leaves for `cycles` cycles from now; returns when it ends (ns)."""
        self.stall_until_ns = get_sim_time(unit="ns") + cycles * self.period
        return self.stall_until_ns

    # -- errors -------------------------------------------------------------------------
    def add_error(self, start: int, end: int, resp: int = SLVERR, write: bool = True,
                  read: bool = False, count: int | None = None) -> ErrorRange:
        er = ErrorRange(start, end, resp, write, read, count)
        self.errors.append(er)
        return er

    def clear_errors(self) -> None:
        self.errors.clear()

    def _lookup(self, addr: int, n: int, is_write: bool) -> ErrorRange | None:
        for er in self.errors:
            if er.match(addr, n, is_write):
                return er
        return None

    async def _write(self, address: int, data: bytes) -> None:
        er = self._lookup(address, len(data), True)
        if er is not None:
            er.hits += 1
            self._wr_resp = max(self._wr_resp, er.resp)
            raise _InjectedError()
        self.ram.write(address % self.size, data)

    async def _read(self, address: int, length: int) -> bytes:
        er = self._lookup(address, length, False)
        if er is not None:
            er.hits += 1
            self._rd_resp = max(self._rd_resp, er.resp)
            raise _InjectedError()
        return self.ram.read(address % self.size, length)

    def _b_hook(self, b) -> None:
        if self._wr_resp != OKAY:
            b.bresp = AxiResp(self._wr_resp)
            self._consume(True)
        self._wr_resp = OKAY

    def _r_hook(self, r) -> None:
        if self._rd_resp != OKAY:
            r.rresp = AxiResp(self._rd_resp)
            self._consume(False)
        self._rd_resp = OKAY

    def _consume(self, is_write: bool) -> None:
        for er in self.errors:
            if er.hits and er.count is not None and ((is_write and er.write) or (not is_write and er.read)):
                er.count -= 1
                er.hits = 0

    # -- back-pressure --------------------------------------------------------------------
    def pace_b(self, every: int = 1) -> None:
        """B responses leave at most one per `every` cycles (1: no pacing), a fixed pattern
        instead of the random pauses of set_backpressure."""
        src = self.ram.write_if.b_channel._src
        if every > 1:
            src.set_pause_generator(itertools.cycle([False] + [True] * (every - 1)))
        else:
            src.clear_pause_generator()
            src.pause = False

    def set_backpressure(self, aw: float = 0.0, w: float = 0.0, b: float = 0.0,
                         ar: float = 0.0, r: float = 0.0) -> None:
        """Probability of a pause run on each channel (0 = none)."""
        wif, rif = self.ram.write_if, self.ram.read_if
        chans = ((wif.aw_channel, aw), (wif.w_channel, w), (wif.b_channel._src, b),
                 (rif.ar_channel, ar), (rif.r_channel._src, r))
        for ch, p in chans:
            if p > 0:
                ch.set_pause_generator(_pauses(random.Random(self.rng.random()), p))
            else:
                ch.clear_pause_generator()
                ch.pause = False

    def on_reset(self) -> None:
        """The master was reset: responses still waiting in the delay lines are dropped."""
        self.ram.write_if.b_channel.clear()
        self.ram.read_if.r_channel.clear()
        self.stall_until_ns = 0.0

    def idle(self) -> bool:
        """No response waiting in a delay line."""
        return not self.ram.write_if.b_channel.pending() and not self.ram.read_if.r_channel.pending()
