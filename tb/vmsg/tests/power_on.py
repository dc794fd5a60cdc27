"""The start of every simulation: the clock, with the reset asserted before its first edge.

Simulations start from random initial values (vmsgsim.hdl: +verilator+rand+reset+2), the clock's
and rst_ni's included. The model's first evaluation compares them with random previous values,
so a clock that is merely driven at time 0 may still show a rising edge at time 0 that
registers the random state outside reset (assertions fire on it, monitors see random
handshakes), and rst_ni driven to 0 may never fall. start_clock_in_reset therefore sets the clock
to 0 and rst_ni to 1 at once (before that first evaluation; it must be called before the test's
first await), drives rst_ni to 0 one nanosecond later, so that it falls and every flop with an
asynchronous reset is reset, and starts the clock low: its first rising edge comes half a period
later, in reset. The caller releases rst_ni as before.
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import Timer


def start_clock_in_reset(dut, period_ns: float, clk=None) -> Clock:
    clk = dut.clk_i if clk is None else clk
    assert period_ns > 2, "rst_ni falls at 1 ns, before the clock's first rising edge"
    clk.value = Immediate(0)
    dut.rst_ni.value = Immediate(1)

    async def fall() -> None:
        await Timer(1, unit="ns")
        dut.rst_ni.value = 0

    cocotb.start_soon(fall())
    clock = Clock(clk, period_ns, unit="ns")
    clock.start(start_high=False)
    return clock
