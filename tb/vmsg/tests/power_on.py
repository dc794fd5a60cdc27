"""The start of every simulation: the clock, with the reset asserted before its first edge.

Simulations start from random initial values (vmsgsim.hdl: +verilator+rand+reset+2), rst_ni's
included, so driving rst_ni to 0 at time 0 may not make it fall, and a clock that starts high
has a rising edge at time 0 that registers the random state outside reset (assertions fire on
it, monitors see random handshakes). start_clock_in_reset drives rst_ni to 1 at time 0 and to 0
one nanosecond later, so it always falls and every flop with an asynchronous reset is reset; the
clock starts low, so its first rising edge comes half a period later, in reset. The caller
releases rst_ni as before.
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Timer


def start_clock_in_reset(dut, period_ns: float, clk=None) -> Clock:
    clk = dut.clk_i if clk is None else clk
    assert period_ns > 2, "the reset falls at 1 ns, before the clock's first rising edge"
    dut.rst_ni.value = 1

    async def fall() -> None:
        await Timer(1, unit="ns")
        dut.rst_ni.value = 0

    cocotb.start_soon(fall())
    clock = Clock(clk, period_ns, unit="ns")
    clock.start(start_high=False)
    return clock
