"""Simulation-speed benchmark of the whole peripheral (run by `make bench`, not a test).

`bench_bare_clock`: the Verilated model alone: the clock runs in C++ and Python sleeps on one
Timer, so the figure is the model's own speed (the reference). The testbench's speed comes from
full pyuvm runs (their simulated time against their wall time).
"""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer

from .base import CLK_PERIOD_NS

CYCLES = int(os.environ.get("VMSG_BARE_CYCLES", "2000000"))


@cocotb.test()
async def bench_bare_clock(dut):
    Clock(dut.clk_i, CLK_PERIOD_NS, unit="ns").start()
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 5)
    dut.rst_ni.value = 1
    t0 = time.perf_counter()
    await Timer(CYCLES * CLK_PERIOD_NS, unit="ns")
    wall = time.perf_counter() - t0
    out = os.path.join(os.environ.get("VMSG_RUN_DIR", "."), "speed.json")
    with open(out, "w") as fh:
        json.dump({"cycles": CYCLES, "wall_s": wall, "cycles_per_s": CYCLES / wall}, fh)
