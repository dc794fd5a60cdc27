"""Constrained-random system tests: random device sets, random legal operations on several
devices at once, device-side events, hot-plug and removal, resets, bad inputs, random memory
latency and AXI back-pressure; the scoreboard, the engine checker and the notification
oracle stay on throughout."""

from __future__ import annotations

import random

import cocotb
import pyuvm
from cocotb.triggers import Timer

from ..models import BusDriver
from ..seq.random_seqs import (BadInputSeq, DeviceOpsSeq, DeviceSideSeq, driver_factories, queues_of,
                               random_device)
from .io import HEAP, IoTest
from ..models import BumpAllocator


class SystemVseq:
    """Virtual sequence: build, discover, then run every traffic source at once."""

    def __init__(self, test, n_devices: int, ops_per_device: int, device_events: int, bad_inputs: int):
        self.t = test
        self.n_devices = n_devices
        self.ops_per_device = ops_per_device
        self.device_events = device_events
        self.bad_inputs = bad_inputs

    async def run(self):
        t = self.t
        p = t.params
        numbers = random.sample(range(p["NUM_DEVS"]), self.n_devices)
        records = {}
        budget = p["ENG_QUEUES"]  # every virtqueue is served by an engine queue
        for i, n in enumerate(numbers):
            rec = random_device(n, p["NUM_VQS"], max_queues=budget - (len(numbers) - 1 - i))
            records[n] = rec
            budget -= queues_of(rec)
        for r in records.values():
            t.device_bus.add(r.dev_num, r.model)
        t.memory = t.mem
        t.allocator = BumpAllocator(HEAP, t.MEM_SIZE - HEAP)
        t.bus_driver = BusDriver(t.bus, t.mem, t.allocator, drivers=driver_factories(records, t.wait_until))
        t.bus.event_handler = t.bus_driver.handle_message
        t.firmware.engine_error_handler = t.on_engine_error
        found = await t.bus_driver.scan()
        assert found == sorted(numbers), f"GET_DEVICES found {found}, expected {sorted(numbers)}"
        for n in numbers:
            core = t.bus_driver.devices[n]
            assert core.probed, f"dev {n} ({records[n].kind}) probe failed: {core.probe_error}"
        side = DeviceSideSeq("device_side", t, records, self.device_events, p["NUM_DEVS"])
        tasks = [cocotb.start_soon(DeviceOpsSeq(f"ops{n}", t, records[n], self.ops_per_device).start())
                 for n in numbers]
        tasks.append(cocotb.start_soon(side.start()))
        tasks.append(cocotb.start_soon(BadInputSeq("bad_inputs", t, self.bad_inputs).start()))
        for task in tasks:
            await task
        for task in side.ops_seqs:
            await task
        # What the driver wrote is what the devices hold.
        for r in records.values():
            if r.kind == "blk" and r.present:
                assert bytes(r.model.storage) == bytes(r.shadow), f"dev {r.dev_num}: disk differs from the writes"
        return records


@pyuvm.test()
class RandomSystemTest(IoTest):
    """Everything at once, sizes and timing from the seed."""

    bus_timeout_ns = 40_000

    def build_phase(self):
        self.mem_wr_latency = random.choice([0, 2, 16, 64])
        self.mem_rd_latency = random.choice([0, 4, 32])
        super().build_phase()
        if random.random() < 0.5:
            self.mem.set_backpressure(aw=random.random() * 0.4, w=random.random() * 0.4, b=random.random() * 0.4,
                                      ar=random.random() * 0.4, r=random.random() * 0.4)

    async def wait_until_true(self, cond, timeout_ns: float = 2_000_000) -> bool:
        waited = 0.0
        while not cond() and waited < timeout_ns:
            await Timer(200, unit="ns")
            waited += 200
        return cond()

    async def body(self):
        n = random.randint(1, min(4, self.params["NUM_DEVS"]))
        await SystemVseq(self, n, ops_per_device=random.randint(6, 14), device_events=random.randint(2, 6),
                         bad_inputs=random.randint(2, 6)).run()
