"""AXI4-Lite port BFM: an active master, a passive monitor and the port's interrupt.

The master is cocotbext-axi's AxiLiteMaster. The monitor samples the bus only
while a transaction is open and sleeps on valid edges otherwise, so that an
idle port costs no Python work per clock.

The monitor is also the port's liveness watchdog: a slave that makes no progress
for STALL_LIMIT clock cycles while a master waits on it (a valid AW, W or AR
beat not accepted, or an accepted request with no B or R beat) fails the test at
once (AxilStall), instead of leaving a simulation that waits forever. Every
request of the peripheral completes within a few dozen cycles (the longest is a
commit's zero fill: one cycle per word of the slot), so the limit has a wide
margin; a master that holds BREADY or RREADY low is not the slave's fault and
does not count.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Callable

import cocotb
from cocotb.triggers import Event, First, RisingEdge, Timer
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

OKAY, EXOKAY, SLVERR, DECERR = 0, 1, 2, 3
FLUSHED = -1  # the operation was dropped by a reset of the port (no response on the bus)


@dataclass
class AxilTxn:
    """One completed AXI4-Lite transaction as seen on the wires."""

    write: bool
    addr: int
    data: int
    strb: int
    resp: int
    start_ns: float
    end_ns: float

    def __str__(self) -> str:
        kind = "W" if self.write else "R"
        return f"{kind} {self.addr:#06x} {self.data:#010x} strb={self.strb:x} resp={self.resp} @{self.end_ns:.0f}ns"


class AxilStall(AssertionError):
    """The slave of an AXI4-Lite port stopped answering (see the module docstring)."""


STALL_LIMIT = 2000  # clock cycles without progress while a master waits on the slave


def stall_step(stalled: int, awv: int, awr: int, wv: int, wr: int, bv: int, br: int, arv: int, arr: int,
               rv: int, rr: int, writes_open: int, reads_open: int) -> int:
    """One clock edge of the liveness watchdog: the count of cycles in a row in which a master
    waited on the slave (a valid AW, W or AR beat not accepted; a write accepted with no B beat;
    a read accepted with no R beat) and no handshake happened; 0 after any handshake or when
    nobody waits on the slave (a master that holds BREADY / RREADY low waits on itself)."""
    if (awv and awr) or (wv and wr) or (bv and br) or (arv and arr) or (rv and rr):
        return 0
    if (awv and not awr) or (wv and not wr) or (arv and not arr) or (writes_open and not bv) \
            or (reads_open and not rv):
        return stalled + 1
    return 0


class AxilMonitor:
    """Passive AXI4-Lite monitor; calls every subscriber with each AxilTxn."""

    def __init__(self, dut, prefix: str, clk, stall_limit: int = STALL_LIMIT):
        self.clk = clk
        self.prefix = prefix
        self.stall_limit = stall_limit
        self._s = {n: getattr(dut, f"{prefix}_{n}") for n in (
            "awaddr", "awvalid", "awready", "wdata", "wstrb", "wvalid", "wready",
            "bresp", "bvalid", "bready", "araddr", "arvalid", "arready",
            "rdata", "rresp", "rvalid", "rready")}
        self._subscribers: list[Callable[[AxilTxn], None]] = []
        self._reset_pending = False
        self._task = cocotb.start_soon(self._run())

    def subscribe(self, fn: Callable[[AxilTxn], None]) -> None:
        self._subscribers.append(fn)

    def reset(self) -> None:
        """The port was reset: handshakes seen so far belong to no transaction any more."""
        self._reset_pending = True

    def _v(self, name: str) -> int:
        val = self._s[name].value
        return int(val) if val.is_resolvable else 0

    async def _run(self) -> None:
        aw: deque[tuple[int, float]] = deque()
        w: deque[tuple[int, int]] = deque()
        ar: deque[tuple[int, float]] = deque()
        wait_b: deque[tuple[int, int, int, float]] = deque()
        s = self._s
        stalled = 0  # cycles in a row in which a master waited on the slave and nothing moved
        while True:
            if self._reset_pending:
                self._reset_pending = False
                stalled = 0
                for q in (aw, w, ar, wait_b):
                    q.clear()
            valids = self._v("awvalid") | self._v("wvalid") | self._v("arvalid")
            if not valids and not (aw or w or ar or wait_b):
                await First(RisingEdge(s["awvalid"]), RisingEdge(s["wvalid"]), RisingEdge(s["arvalid"]))
            await RisingEdge(self.clk)
            if self._reset_pending:
                # reset() was called in this time step, before this edge was looked at: a
                # handshake on the edge of the reset belongs to no transaction either.
                continue
            now = get_sim_time(unit="ns")
            v = self._v
            awv, awr, wv, wr, bv, br = v("awvalid"), v("awready"), v("wvalid"), v("wready"), v("bvalid"), v("bready")
            arv, arr, rv, rr = v("arvalid"), v("arready"), v("rvalid"), v("rready")
            stalled = stall_step(stalled, awv, awr, wv, wr, bv, br, arv, arr, rv, rr, len(wait_b), len(ar))
            if stalled > self.stall_limit:
                raise AxilStall(
                    f"{self.prefix}: the AXI4-Lite slave made no progress for {self.stall_limit} clock cycles "
                    f"(at {now:.0f}ns: awvalid={awv} awready={awr} wvalid={wv} wready={wr} arvalid={arv} "
                    f"arready={arr}; {len(wait_b)} write(s) without B, {len(ar)} read(s) without R)")
            if awv and awr:
                aw.append((v("awaddr"), now))
            if wv and wr:
                w.append((v("wdata"), v("wstrb")))
            while aw and w:
                (addr, t0), (data, strb) = aw.popleft(), w.popleft()
                wait_b.append((addr, data, strb, t0))
            if bv and br and wait_b:
                addr, data, strb, t0 = wait_b.popleft()
                self._emit(AxilTxn(True, addr, data, strb, v("bresp"), t0, now))
            if arv and arr:
                ar.append((v("araddr"), now))
            if rv and rr and ar:
                addr, t0 = ar.popleft()
                self._emit(AxilTxn(False, addr, v("rdata"), 0, v("rresp"), t0, now))

    def _emit(self, txn: AxilTxn) -> None:
        for fn in self._subscribers:
            fn(txn)


class AxilPortBfm:
    """Master + monitor + interrupt line of one AXI4-Lite port."""

    def __init__(self, dut, prefix: str, irq, clk, rst_n):
        self.name = prefix
        self.clk = clk
        self.irq = irq
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, prefix), clk, rst_n, reset_active_level=False)
        for sub in ("", ".write", ".read"):  # one INFO line per access is too chatty
            logging.getLogger(f"cocotb.{dut._name}.{prefix}{sub}").setLevel(logging.WARNING)
        self.monitor = AxilMonitor(dut, prefix, clk)
        self._irq_event = Event()
        cocotb.start_soon(self._watch_irq())

    async def write(self, addr: int, data: int, strb: int = 0xF) -> int:
        """Write one 32-bit word (byte lanes from strb); returns BRESP."""
        if strb == 0xF:
            resp = await self.master.write(addr, data.to_bytes(4, "little"))
            return FLUSHED if resp is None else int(resp.resp)
        # Partial word: cocotbext-axi derives WSTRB from address and length, so
        # contiguous lanes only (what firmware issues with byte/half stores).
        lanes = [i for i in range(4) if strb >> i & 1]
        if lanes != list(range(lanes[0], lanes[-1] + 1)):
            raise ValueError(f"non-contiguous strobe {strb:#x}")
        raw = data.to_bytes(4, "little")[lanes[0]:lanes[-1] + 1]
        resp = await self.master.write(addr + lanes[0], raw)
        return FLUSHED if resp is None else int(resp.resp)

    async def read(self, addr: int) -> tuple[int, int]:
        """Read one 32-bit word; returns (data, RRESP)."""
        resp = await self.master.read(addr, 4)
        if resp is None:
            return 0, FLUSHED
        return int.from_bytes(resp.data, "little"), int(resp.resp)

    def irq_level(self) -> bool:
        v = self.irq.value
        return bool(v.is_resolvable and int(v))

    async def _watch_irq(self) -> None:
        while True:
            await RisingEdge(self.irq)
            self._irq_event.set()

    async def wait_irq(self, timeout_ns: float | None = None) -> bool:
        """Wait until the interrupt line is high; False on timeout."""
        if self.irq_level():
            return True
        self._irq_event.clear()
        if timeout_ns is None:
            await self._irq_event.wait()
            return True
        await First(self._irq_event.wait(), Timer(timeout_ns, unit="ns"))
        return self.irq_level()
