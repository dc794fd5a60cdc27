"""Base pyuvm test of the whole peripheral.

It clocks and resets the DUT, builds the BFMs and the environment, reads the
configuration back from BUS_INFO / CAPS (and compares it with the HDL
parameters the build used), starts the driver-side bus layer and the device
firmware, runs the test's `body`, drains, and fails the test if the
scoreboard or either software side saw a problem.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from typing import Callable

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer
from pyuvm import ConfigDB, uvm_test

from ..bfm.axi_mem import AxiMem
from ..bfm.axil import AxilPortBfm
from ..bfm.eng_ports import CplSource
from ..env.env import VmsgEnv
from ..seq.bus_layers import DeviceFirmware, DriverBus
from ..seq.port_ops import PortOps

CLK_PERIOD_NS = 10


@dataclass
class Waiver:
    """An error the test provokes on purpose: `match(source, error)` says whether one recorded
    error is it; `why` is printed; at least `min_count` errors must match (a waiver that meets
    nothing fails the test too: the provoked error did not happen)."""
    match: Callable[[object, object], bool]
    why: str
    min_count: int = 1
    seen: int = 0


class VmsgBaseTest(uvm_test):
    """Subclasses override `body` (and `make_device_bus` for their devices).

    Every error anywhere fails the test: the errors of every DriverBus, DeviceFirmware and
    BusDriver the test ever used (also those a peripheral reset retired), of every transport
    those bus drivers created (with their queues' ring errors) and of the device models; a
    test that provokes an error on purpose says so with `expect_error`.
    """

    start_firmware = True     # run DeviceFirmware on the device port
    start_driver_bus = True   # run DriverBus on the driver port
    firmware_doorbells = True # the firmware takes doorbell interrupts
    bus_timeout_ns = 200_000  # DriverBus: longest wait for a response
    mem_wr_latency = 0        # driver memory on the engine's AXI4 master: B delay (cycles)
    mem_rd_latency = 0        # R delay (cycles)
    MEM_SIZE = 1 << 24
    drain_ns = 2_000

    def build_phase(self):
        self.dut = cocotb.top
        self.params: dict[str, int] = json.loads(os.environ["VMSG_HDL_PARAMS"])
        ConfigDB().set(None, "*", "HDL_PARAMS", self.params)
        ConfigDB().set(None, "*", "MSG_SIZE", self.params["MSG_SIZE"])
        dut = self.dut
        self.clock = Clock(dut.clk_i, CLK_PERIOD_NS, unit="ns")
        self.clock.start()
        dut.rst_ni.value = 0
        self.mem = AxiMem(dut, dut.clk_i, dut.rst_ni, prefix="m_axi", size=self.MEM_SIZE,
                          clk_period_ns=CLK_PERIOD_NS, wr_latency=self.mem_wr_latency,
                          rd_latency=self.mem_rd_latency, seed=random.randrange(1 << 30))
        self.cpl = CplSource(dut, dut.clk_i, port="s_cpl_{}", ready="s_cpl_ready")
        ConfigDB().set(None, "*", "DUT", dut)
        ConfigDB().set(None, "*", "AXI_MEM", self.mem)
        ConfigDB().set(None, "*", "CPL_SOURCE", self.cpl)
        self.drv_bfm = AxilPortBfm(dut, "s_drv_axil", dut.drv_irq_o, dut.clk_i, dut.rst_ni)
        self.dev_bfm = AxilPortBfm(dut, "s_dev_axil", dut.dev_irq_o, dut.clk_i, dut.rst_ni)
        for agent, bfm, port, regmap in (("drv_agent", self.drv_bfm, "drv", "vmsg_drv_regs"),
                                          ("dev_agent", self.dev_bfm, "dev", "vmsg_dev_regs")):
            ConfigDB().set(None, f"*{agent}*", "BFM", bfm)
            ConfigDB().set(None, f"*{agent}*", "PORT", port)
            ConfigDB().set(None, f"*{agent}*", "REGMAP", regmap)
        self.env = VmsgEnv("env", self)

    # --- every software side the test used, for the end-of-test error list ----------------------
    @property
    def bus(self):
        return self._bus

    @bus.setter
    def bus(self, value) -> None:
        self._bus = value
        self.__dict__.setdefault("error_sources", []).append(value)

    @property
    def firmware(self):
        return self._firmware

    @firmware.setter
    def firmware(self, value) -> None:
        self._firmware = value
        if value is not None:
            self.__dict__.setdefault("error_sources", []).append(value)

    @property
    def bus_driver(self):
        return self._bus_driver

    @bus_driver.setter
    def bus_driver(self, value) -> None:
        self._bus_driver = value
        self.__dict__.setdefault("error_sources", []).append(value)

    def expect_error(self, match: Callable[[object, object], bool], why: str, min_count: int = 1) -> Waiver:
        """Declare errors the test provokes on purpose (see Waiver)."""
        w = Waiver(match, why, min_count)
        self.__dict__.setdefault("waivers", []).append(w)
        return w

    def recorded_errors(self) -> list[tuple[str, object, object]]:
        """(where, source, error) of every error recorded so far by any software side."""
        out: list[tuple[str, object, object]] = []
        seen: set[int] = set()
        for src in self.__dict__.get("error_sources", []):
            if id(src) in seen:
                continue
            seen.add(id(src))
            kind = type(src).__name__
            out += [(kind, src, e) for e in src.errors]
            for tr in getattr(src, "transports", []):
                out += [(f"dev {tr.dev_id} transport", tr, e) for e in tr.errors]
                for vq in tr.vqs:
                    out += [(f"dev {tr.dev_id} vq {vq.index}", tr, e) for e in vq.errors]
        device_bus = getattr(self, "device_bus", None)
        for num, dev in (getattr(device_bus, "devices", None) or {}).items():
            out += [(f"device model {num}", dev, e) for e in getattr(dev, "ring_errors", [])]
        return out

    def error_problems(self) -> list[str]:
        """The recorded errors no waiver explains, and every waiver that met too few errors."""
        waivers = self.__dict__.get("waivers", [])
        for w in waivers:
            w.seen = 0
        problems = []
        for where, src, err in self.recorded_errors():
            w = next((w for w in waivers if w.match(src, err)), None)
            if w is None:
                problems.append(f"{where}: {err}")
            else:
                w.seen += 1
        problems += [f"expected error not seen ({w.seen} of at least {w.min_count}): {w.why}"
                     for w in waivers if w.seen < w.min_count]
        return problems

    def make_device_bus(self):
        """The device model behind the firmware; subclasses return theirs."""
        raise NotImplementedError

    async def reset(self) -> None:
        self.dut.rst_ni.value = 0
        await ClockCycles(self.dut.clk_i, 5)
        self.dut.rst_ni.value = 1
        await ClockCycles(self.dut.clk_i, 2)

    async def check_configuration(self) -> None:
        """BUS_INFO and CAPS must report the parameters the HDL was built with."""
        p = self.params
        for ops in (self.drv_ops, self.dev_ops):
            regs = ops.regs
            assert await ops.read("ID") == 0x47534D56, "ID register"
            info = await ops.read("BUS_INFO")
            assert regs.get("BUS_INFO", "REVISION", info) == 1, "BUS_INFO.REVISION"
            assert regs.get("BUS_INFO", "MSG_SIZE", info) == p["MSG_SIZE"], "BUS_INFO.MSG_SIZE"
            caps = regs.decode("CAPS", await ops.read("CAPS"))
            tx, rx = ("TO_DEV_DEPTH", "TO_DRV_DEPTH") if ops is self.drv_ops else ("TO_DRV_DEPTH", "TO_DEV_DEPTH")
            assert caps == {"TX_DEPTH": p[tx], "RX_DEPTH": p[rx], "NUM_DEVS": p["NUM_DEVS"] & 0xFF,
                            "NUM_VQS": p["NUM_VQS"]}, f"CAPS {caps}"

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        self.drv_ops = PortOps(self.env.drv_agent.seqr)
        self.dev_ops = PortOps(self.env.dev_agent.seqr)
        await self.check_configuration()
        self.bus = DriverBus(self.drv_ops, timeout_ns=self.bus_timeout_ns)
        self.firmware = None
        self.tasks: list = []  # background traffic a peripheral reset cancels
        if self.start_driver_bus:
            await self.bus.start()
        if self.start_firmware:
            self.device_bus = self.make_device_bus()
            self.firmware = DeviceFirmware(self.dev_ops, self.device_bus, self.params["NUM_DEVS"], self.params["NUM_VQS"])
            await self.firmware.start(doorbells=self.firmware_doorbells)
        await self.body()
        await Timer(self.drain_ns, unit="ns")
        await self.quiesce_engine()
        self.bus.stop()
        if self.firmware is not None:
            self.firmware.stop()
        problems = self.error_problems()
        problems += self.env.scoreboard.problems()
        problems += await self.env.engine.final_check(self.dev_ops)
        self.drop_objection()
        assert not problems, "\n".join(problems)

    async def body(self) -> None:
        raise NotImplementedError

    async def peripheral_reset(self, cycles: int = 5, discard: bool = True) -> None:
        """rst_ni at any moment: background traffic (self.tasks) and both software sides stop,
        every checker and BFM forgets what was in flight, the port agents drop the items of
        killed sequences; after the reset both ports DISCARD their staged message (software's
        first act after a reset: a write issued just before it may still land)."""
        for t in self.tasks:
            t.cancel()
        self.tasks.clear()
        self.bus.stop()
        if self.firmware is not None:
            self.firmware.stop()
        self.dut.rst_ni.value = 0
        self.env.on_reset()
        for bfm in (self.drv_bfm, self.dev_bfm):
            bfm.monitor.reset()
        self.mem.on_reset()
        self.cpl.reset()
        for agent in (self.env.drv_agent, self.env.dev_agent):
            agent.seqr.flush()
        await ClockCycles(self.dut.clk_i, cycles)
        self.dut.rst_ni.value = 1
        await ClockCycles(self.dut.clk_i, 2)
        for agent in (self.env.drv_agent, self.env.dev_agent):
            while agent.driver.busy:
                await ClockCycles(self.dut.clk_i, 10)
        for bfm in (self.drv_bfm, self.dev_bfm):
            bfm.monitor.reset()
        self.env.on_reset()
        if discard:
            for ops in (self.drv_ops, self.dev_ops):
                await ops.write("TX_CTRL", ops.regs.value("TX_CTRL", DISCARD=1))

    async def quiesce_engine(self, timeout_ns: float = 500_000) -> None:
        """Wait until no completion is queued, the engine has nothing in flight on its AXI
        master and every notification has been taken by the driver."""
        waited = 0.0
        while True:
            await self.cpl.wait_idle()
            busy = not self.mem.idle() or not self.env.engine.monitor.idle()
            if not busy:
                for q in self.env.engine.monitor.queues:
                    status = await self.dev_ops.read(f"ENG.Q[{q}].STATUS")
                    busy |= bool((status >> 17) & 1) and not (status >> 16) & 1  # BUSY, not ERROR
                busy |= bool(await self.dev_ops.read("ENG.EVT_PENDING_LO") or await self.dev_ops.read("ENG.EVT_PENDING_HI"))
                if self.start_driver_bus:  # the driver takes every message (EVENT_USED included)
                    busy |= not (await self.drv_ops.read("RX_STATUS") >> 9) & 1
            if not busy:
                await Timer(200, unit="ns")
                return
            if waited > timeout_ns:
                raise AssertionError("the engine or the mailbox did not become idle at the end of the test")
            await Timer(500, unit="ns")
            waited += 500
