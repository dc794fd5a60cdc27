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
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge, Timer
from pyuvm import ConfigDB, uvm_test

from ..bfm.axi_mem import AxiMem
from ..bfm.axil import AxilPortBfm
from ..bfm.eng_ports import CplSource
from ..env import mbox_ref as ref
from ..env.env import VmsgEnv
from ..proto.constants import HdrFormat
from ..seq.bus_layers import DeviceFirmware, DriverBus
from ..seq.port_ops import PortOps
from .power_on import start_clock_in_reset

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
    whole_slot_rate = 0.0     # share of message reads that read the whole slot (zero fill observed)
    check_counters = True     # end of test: every mailbox/doorbell counter against the scoreboard

    def build_phase(self):
        self.dut = cocotb.top
        self.params: dict[str, int] = json.loads(os.environ["VMSG_HDL_PARAMS"])
        # The header format is the build's (HDR_FORMAT, from the configuration); every checker
        # parses the wires in it and check_configuration compares it with BUS_INFO.
        self.fmt = HdrFormat.parse(self.params.get("HDR_FORMAT", 0))
        ref.set_format(self.fmt)
        ConfigDB().set(None, "*", "HDL_PARAMS", self.params)
        ConfigDB().set(None, "*", "MSG_SIZE", self.params["MSG_SIZE"])
        dut = self.dut
        self.clock = start_clock_in_reset(dut, CLK_PERIOD_NS)
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
        value.eio_judge = self.judge_event_used

    def judge_event_used(self, slot: bytes) -> str | None:
        """Every EVENT_USED follows a publish of the used index to a higher value, so the k-th
        EVENT_USED of a queue is delivered when its used idx is at least k (counted from the
        queue's set-up, wraps included). One that finds nothing new (-EIO) is a notification
        whose entries an earlier event's callback already took: legal while that bound
        holds; an event beyond it is spurious (or belongs to an earlier life of the queue)."""
        h = ref.Header.of(slot)
        index = ref.payload_u32(slot, 0)
        core = getattr(self, "_bus_driver", None) and self._bus_driver.devices.get(h.dev_id)
        vq = next((v for v in core.transport.vqs if v.index == index), None) if core else None
        if vq is None or not hasattr(vq, "layout") or not hasattr(vq, "mem"):
            return None  # unknown device or queue (the handler's own error says so), or a ring model without the split layout
        book = self.__dict__.setdefault("used_books", {})
        raw = int.from_bytes(vq.mem.read(vq.layout.used + 2, 2), "little")
        last_raw, total, events = book.get(id(vq), (0, 0, 0))
        total += (raw - last_raw) & 0xFFFF
        events += 1
        book[id(vq)] = (raw, total, events)
        if events > total:
            return (f"EVENT_USED number {events} of queue {index} with its used idx at {total}: "
                    f"more events than publishes")
        return None

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
                    out += [(f"dev {tr.dev_id} vq {vq.index}", tr, e) for e in getattr(vq, "errors", [])]
        device_bus = getattr(self, "device_bus", None)
        for num, dev in (getattr(device_bus, "devices", None) or {}).items():
            out += [(f"device model {num}", dev, e) for e in getattr(dev, "ring_errors", [])]
        out += [("event order", self, e) for e in self.event_order_problems()]
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

    def event_order_problems(self) -> list[str]:
        """After the driver received the response to a RESET_VQUEUE of a queue, or to a device
        reset (SET_DEVICE_STATUS 0), or the device's removal (EVENT_DEVICE removed), it must
        receive no EVENT_USED for that queue until the queue is set up again (SET_VQUEUE
        response). Checked in the order the driver popped the messages."""
        out = []
        num_vqs = self.params["NUM_VQS"]
        for src in {id(s): s for s in self.__dict__.get("error_sources", []) if hasattr(s, "rx_log")}.values():
            dead: dict[tuple[int, int], str] = {}  # (dev, vq) -> why no event may come
            for t, slot, req in src.rx_log:
                h = ref.Header.of(slot)
                if h.is_bus:
                    if not h.is_response and h.msg_id == ref.BUS_EVENT_DEVICE and ref.payload_u16(slot, 2) == 2:
                        dev = ref.payload_u16(slot, 0)
                        dead.update({(dev, q): f"EVENT_DEVICE removed at {t:.0f} ns" for q in range(num_vqs)})
                    continue
                if not h.is_response and h.msg_id == ref.EVENT_USED:
                    vq = ref.payload_u32(slot, 0)
                    why = dead.get((h.dev_id, vq))
                    if why is not None:
                        out.append(f"EVENT_USED for dev {h.dev_id} vq {vq} reached the driver at {t:.0f} ns, "
                                   f"after {why}")
                    continue
                if req is None:
                    continue
                arg = ref.payload_u32(req, 0)
                if h.msg_id == 0x0B:    # RESET_VQUEUE
                    dead[(h.dev_id, arg)] = f"the RESET_VQUEUE {arg} response at {t:.0f} ns"
                elif h.msg_id == 0x08 and arg & 0xFF == 0:  # SET_DEVICE_STATUS 0: device reset
                    dead.update({(h.dev_id, q): f"the device reset response at {t:.0f} ns" for q in range(num_vqs)})
                elif h.msg_id == 0x0A:  # SET_VQUEUE: the queue lives again
                    dead.pop((h.dev_id, arg), None)
        return out

    def driver_format(self) -> HdrFormat | None:
        """The header format the host side is configured for: None is what BUS_INFO reports
        (the right one); an interoperability test returns the other."""
        return None

    def make_device_bus(self):
        """The device model behind the firmware; subclasses return theirs (in `self.fmt`)."""
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
            assert regs.get("BUS_INFO", "HDR_FORMAT", info) == int(self.fmt), \
                f"BUS_INFO.HDR_FORMAT {regs.get('BUS_INFO', 'HDR_FORMAT', info)}, the build has {self.fmt.label}"
            caps = regs.decode("CAPS", await ops.read("CAPS"))
            tx, rx = ("TO_DEV_DEPTH", "TO_DRV_DEPTH") if ops is self.drv_ops else ("TO_DRV_DEPTH", "TO_DEV_DEPTH")
            assert caps == {"TX_DEPTH": p[tx], "RX_DEPTH": p[rx], "NUM_DEVS": p["NUM_DEVS"] & 0xFF,
                            "NUM_VQS": p["NUM_VQS"]}, f"CAPS {caps}"

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        for agent in (self.env.drv_agent, self.env.dev_agent):
            agent.driver.whole_slot_rate = self.whole_slot_rate
        self.drv_ops = PortOps(self.env.drv_agent.seqr)
        self.dev_ops = PortOps(self.env.dev_agent.seqr)
        await self.check_configuration()
        # per device number, responses in request order (both software sides speak for themselves)
        self.env.scoreboard.check_responses = self.start_firmware and self.start_driver_bus
        self.bus = DriverBus(self.drv_ops, timeout_ns=self.bus_timeout_ns, fmt=self.driver_format())
        self.firmware = None
        self.tasks: list = []  # background traffic a peripheral reset cancels
        self.stats: Counter = Counter()  # what the stimulus reached (logged at the end)
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
        # An operation the stopped software had begun (a pop, a commit) still completes on the
        # wires: the checkers see it before the counters are read against them.
        for agent in (self.env.drv_agent, self.env.dev_agent):
            while agent.driver.busy:
                await ClockCycles(self.dut.clk_i, 10)
        if self.stats:
            self.logger.info("stimulus: %s", dict(self.stats))
        problems = self.error_problems()
        if self.check_counters:
            problems += await self.counter_problems()
        problems += self.env.scoreboard.problems()
        problems += await self.env.engine.final_check(self.dev_ops)
        self.drop_objection()
        assert not problems, "\n".join(problems)

    async def body(self) -> None:
        raise NotImplementedError

    async def counter_problems(self) -> list[str]:
        """Every counter of both ports (TX_ACCEPTED, TX_REJ_*, RX_POPPED, RX_UNDERFLOW,
        TX_DOORBELLS, DB_KICKS, DB_COALESCED) against the scoreboard's prediction from the
        wires since the last reset. Read when nothing is in flight."""
        out = []
        for port, regs in self.env.scoreboard.expected_counters().items():
            ops = self.drv_ops if port == "drv" else self.dev_ops
            for reg, (lo, hi) in regs.items():
                got = await ops.read(reg)
                if not lo <= got <= hi:
                    out.append(f"{port} {reg} reads {got}, the scoreboard predicts "
                               f"{lo if lo == hi else f'{lo}..{hi}'}")
        return out

    async def peripheral_reset(self, cycles: int = 5, discard: bool = True) -> None:
        """rst_ni at any moment: background traffic (self.tasks) and both software sides stop,
        every checker and BFM forgets what was in flight, the port agents drop the items of
        killed sequences; after the reset both ports DISCARD their staged message (software's
        first act after a reset: a write issued just before it may still land)."""
        # Between clock edges: a reset in the timestep of an edge would race with the
        # monitors' sampling of that edge (they would see a handshake of the world the reset
        # has just dropped).
        await FallingEdge(self.dut.clk_i)
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
