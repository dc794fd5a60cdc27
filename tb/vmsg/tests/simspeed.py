"""Simulation-speed reference for `make bench` (not a test): the Verilated model alone.

The clock runs in C++ and Python sleeps on one Timer, so the test's real time is the model's own
speed; the bench compares full pyuvm runs against it (simulated time over the test's real time,
both from results.xml).
"""

from __future__ import annotations

import os

import cocotb
from cocotb.triggers import ClockCycles, Timer

from .base import CLK_PERIOD_NS
from .power_on import start_clock_in_reset

CYCLES = int(os.environ.get("VMSG_BARE_CYCLES", "2000000"))


@cocotb.test()
async def bench_bare_clock(dut):
    start_clock_in_reset(dut, CLK_PERIOD_NS)
    await ClockCycles(dut.clk_i, 5)
    dut.rst_ni.value = 1
    await Timer(CYCLES * CLK_PERIOD_NS, unit="ns")
