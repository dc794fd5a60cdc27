"""Constrained-random system tests: random device sets, random legal operations on several
devices at once, device-side events, hot-plug and removal, resets, bad inputs, random memory
latency and AXI back-pressure; the scoreboard, the engine checker and the notification
oracle stay on throughout."""

from __future__ import annotations

import random

import cocotb
import pyuvm
from cocotb.triggers import Lock, Timer

from ..models import BlkDevice, BumpAllocator, BusDriver
from ..seq.random_seqs import (BLK_F_FLUSH, EVENT_IDX, VERSION_1, BadInputSeq, DeviceOpsSeq, DeviceSideSeq,
                               IdxWrapSeq, driver_factories, queues_of, random_device, sample_wire_coverage,
                               underflow_pops)
from ..seq.transport_seqs import GetDevicesSeq, ProbeSeq
from .io import HEAP, SECTOR, IoTest


class SystemVseq:
    """Virtual sequence: build, discover, then run every traffic source at once."""

    def __init__(self, test, n_devices: int, ops_per_device: int, device_events: int, bad_inputs: int,
                 reserved_queues: int = 0, extra=None):
        self.t = test
        self.n_devices = n_devices
        self.ops_per_device = ops_per_device
        self.device_events = device_events
        self.bad_inputs = bad_inputs
        # devices outside the random operations: extra(numbers) -> {dev_num: model}, using
        # reserved_queues engine queues between them
        self.reserved_queues = reserved_queues
        self.extra = extra

    async def run(self):
        await self.setup()
        await self.traffic()
        return self.records

    async def setup(self):
        """A random device set on the device side; discovery and probe on the driver side."""
        t = self.t
        p = t.params
        numbers = self.device_numbers()
        self.records = records = {}
        budget = p["ENG_QUEUES"] - self.reserved_queues  # every virtqueue is served by an engine queue
        big = random.random() < 0.5  # one device gets a large first ring (up to 32768 entries)
        for i, n in enumerate(numbers):
            rec = random_device(n, p["NUM_VQS"], max_queues=budget - (len(numbers) - 1 - i), big_ring=big and i == 0)
            records[n] = rec
            budget -= queues_of(rec)
        for r in records.values():
            t.device_bus.add(r.dev_num, r.model)
        for n, model in (self.extra(numbers) if self.extra else {}).items():
            t.device_bus.add(n, model)
        t.memory = t.mem
        t.allocator = BumpAllocator(HEAP, t.MEM_SIZE - HEAP)
        t.bus_driver = BusDriver(t.bus, t.mem, t.allocator, drivers=driver_factories(records, t.wait_until))
        t.bus.event_handler = t.bus_driver.handle_message
        t.firmware.engine_error_handler = t.on_engine_error
        await underflow_pops(t)  # nothing is out yet: both FIFOs are empty and stay so
        await self.discover()

    def device_numbers(self) -> list[int]:
        """n_devices distinct device numbers; with more than 32 doorbells (more than one
        DB_PENDING word) at least one device in each word's range, so every word is used."""
        p = self.t.params
        per_word = max(1, 32 // p["NUM_VQS"])
        words = -(-p["NUM_DEVS"] // per_word)
        numbers = [random.randrange(w * per_word, min(p["NUM_DEVS"], (w + 1) * per_word)) for w in range(words)] \
            if words > 1 else []
        rest = [n for n in range(p["NUM_DEVS"]) if n not in numbers]
        numbers += random.sample(rest, max(0, self.n_devices - len(numbers)))
        return numbers[:p["ENG_QUEUES"]]  # every device takes at least one engine queue

    async def discover(self):
        """GET_DEVICES finds exactly the device side's population; every device probes."""
        t = self.t
        present = sorted(t.device_bus.devices)
        await GetDevicesSeq(t.bus_driver, expect=present).start()
        for n in present:
            if n not in t.bus_driver.devices:
                await ProbeSeq(t.bus_driver, n).start()

    async def traffic(self):
        """Every traffic source at once; the tasks are registered so that a reset can stop them."""
        t = self.t
        p = t.params
        live = [r for r in self.records.values() if r.present]
        side = DeviceSideSeq("device_side", t, self.records, self.device_events, p["NUM_DEVS"])
        side.reserved_queues = self.reserved_queues
        tasks = [cocotb.start_soon(DeviceOpsSeq(f"ops{r.dev_num}", t, r, self.ops_per_device).start()) for r in live]
        tasks.append(cocotb.start_soon(side.start()))
        tasks.append(cocotb.start_soon(BadInputSeq("bad_inputs", t, self.bad_inputs).start()))
        t.tasks.extend(tasks)
        for task in tasks:
            await task
        for task in side.ops_seqs:
            await task
        # What the driver wrote is what the devices hold.
        for r in self.records.values():
            if r.kind == "blk" and r.present:
                assert bytes(r.model.storage) == bytes(r.shadow), f"dev {r.dev_num}: disk differs from the writes"

    def resync_after_reset(self):
        """What the driver knows after a reset: a write whose acknowledgement the reset
        swallowed may or may not have reached the disk, so each sector it covers may hold the
        acknowledged contents or that write's; `settle_after_reset` finds out by reading
        through the driver. Nothing is taken from the device model."""
        for r in self.records.values():
            r.lock, r.reset_lock = Lock(), Lock()
            if r.kind == "blk":  # (sectors left uncertain by a device reset under I/O stay so)
                for first, data in r.writes_in_flight.values():
                    for i in range(len(data) // SECTOR):
                        s = first + i
                        cands = r.uncertain.setdefault(s, [bytes(r.shadow[s * SECTOR:(s + 1) * SECTOR])])
                        cands.append(data[i * SECTOR:(i + 1) * SECTOR])
                r.writes_in_flight.clear()
            elif r.kind == "rng":
                # Bytes the device put in buffers whose completion the reset swallowed are lost:
                # the stream goes on at most the size of the reads in flight further on.
                r.rng_positions = {pos + k for pos in (r.rng_positions or {r.rng_read})
                                   for k in range(r.rng_in_flight + 1)}
                r.rng_in_flight = 0
            r.present = r.dev_num in self.t.device_bus.devices


    async def settle_after_reset(self):
        """After the restart: every blk disk read back through the driver equals the shadow,
        except the sectors a write in flight at the reset covers, which hold the acknowledged
        contents or that write's; the shadow then takes what was read there. Returns the
        number of sectors that were uncertain."""
        n = 0
        for r in self.records.values():
            core = self.t.bus_driver.devices.get(r.dev_num)
            if r.kind != "blk" or not r.present or core is None or not core.probed:
                continue
            if r.kicks_refused:  # no request can reach it (its kicks are refused): nothing was ever written
                assert not r.uncertain and not any(r.shadow), f"dev {r.dev_num}: writes to a device no kick reaches"
                continue
            cap = len(r.shadow) // SECTOR
            disk = b"".join([await core.driver.read(s, 8) for s in range(0, cap, 8)])
            for s in range(cap):
                got = disk[s * SECTOR:(s + 1) * SECTOR]
                allowed = r.uncertain.get(s, [bytes(r.shadow[s * SECTOR:(s + 1) * SECTOR])])
                if got not in allowed:
                    raise AssertionError(f"dev {r.dev_num} sector {s} after the reset holds data the driver never "
                                         f"wrote there ({len(allowed)} allowed value(s))")
                r.shadow[s * SECTOR:(s + 1) * SECTOR] = got
            n += len(r.uncertain)
            r.uncertain = {}
        return n


@pyuvm.test()
class RandomSystemTest(IoTest):
    """Everything at once, sizes and timing from the seed."""

    whole_slot_rate = 0.25  # some reads cover the whole slot: the zero fill is observed
    bus_timeout_ns = 40_000

    def build_phase(self):
        self.mem_wr_latency = random.choice([0, 2, 16, 64])
        self.mem_rd_latency = random.choice([0, 4, 32])
        super().build_phase()
        # A response may wait behind a full to-driver FIFO whose messages the driver reads word
        # by word (whole slots at times): the wait grows with MSG_SIZE (40 us suits 64 bytes;
        # with msg256 a response was once popped more than 40 us after its request's commit).
        self.bus_timeout_ns = max(40_000, 40_000 * self.params["MSG_SIZE"] // 64)
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
        sample_wire_coverage(self)


    def in_flight(self) -> dict[str, bool]:
        """What is under way right now: an access on each port, engine work (a completion
        not taken, an AXI transaction or response outstanding)."""
        return {"driver port": self.env.drv_agent.driver.busy, "device port": self.env.dev_agent.driver.busy,
                "engine": bool(self.cpl.pending) or not self.mem.idle() or not self.env.engine.monitor.idle()}

    async def wait_for_traffic_in_flight(self, patience_ns: int = 20_000) -> dict[str, bool]:
        """Wait (bounded) for a moment when both ports and the engine are busy, else one when
        at least something is; returns what was in flight at that moment."""
        for want_all in (True, False):
            waited = 0
            while waited < patience_ns:
                busy = self.in_flight()
                if all(busy.values()) if want_all else any(busy.values()):
                    return busy
                await Timer(30, unit="ns")
                waited += 30
        return self.in_flight()


@pyuvm.test()
class RandomResetSystemTest(RandomSystemTest):
    """The random system, with a peripheral reset at a random moment of its traffic: whatever
    was in flight is dropped; software starts again (discovery finds the device side's
    population, every device probes again) and a second round of random traffic runs, with
    every check on."""

    async def body(self):
        n = random.randint(1, min(4, self.params["NUM_DEVS"]))
        vseq = SystemVseq(self, n, ops_per_device=random.randint(6, 14), device_events=random.randint(1, 4),
                          bad_inputs=random.randint(1, 4))
        await vseq.setup()
        traffic = cocotb.start_soon(vseq.traffic())
        self.tasks.append(traffic)
        # The reset comes after a random number (1..20) of 1 us samples that found traffic in
        # flight, so that it always lands inside the traffic, however short the traffic is.
        target, seen = random.randint(1, 20), 0
        while seen < target and not traffic.done():
            await Timer(1_000, unit="ns")
            seen += any(self.in_flight().values())
        busy = await self.wait_for_traffic_in_flight()
        rounds = quiet = 0
        while not any(busy.values()):
            if not traffic.done():
                # The traffic is under way but quiet (a removal waits for the requests to the
                # unplugged device to time out, with nothing on the bus): wait on, bounded.
                quiet += 1
                if quiet > 50:  # 50 waits of up to 40 us
                    break
            else:
                # The traffic ended before the reset found it in flight (a short draw): another
                # round, without device events, so that the reset still lands inside traffic.
                if traffic.exception() is not None:
                    raise traffic.exception()
                if rounds == 3:
                    break
                rounds += 1
                self.logger.info("traffic ended before the reset: round %d of more traffic", rounds)
                vseq.ops_per_device, vseq.device_events = random.randint(3, 8), 0
                traffic = cocotb.start_soon(vseq.traffic())
                self.tasks.append(traffic)
            busy = await self.wait_for_traffic_in_flight()
        self.logger.info("peripheral reset with in flight: %s", ", ".join(k for k, v in busy.items() if v))
        assert any(busy.values()), "the peripheral reset found nothing in flight on either port or the engine"
        await self.peripheral_reset()
        await underflow_pops(self)  # software has not started again: nothing can arrive
        vseq.resync_after_reset()
        await self.restart_software(self.bus_driver.drivers)
        await vseq.discover()
        uncertain = await vseq.settle_after_reset()
        self.logger.info("after the reset: %d blk sector(s) were written by a request in flight", uncertain)
        vseq.ops_per_device = random.randint(3, 8)
        vseq.device_events = 0
        await vseq.traffic()
        sample_wire_coverage(self)


@pyuvm.test()
class IdxWrapSystemTest(RandomSystemTest):
    """The random system while one more blk device's queue passes 65536 completions: used->idx
    and avail->idx wrap past 65535 at system level (IdxWrapSeq: flushes in batches of half a
    ring of 256, 4096 or 32768 entries, polled with notifications off or through callbacks with
    EVENT_IDX, at random), with the other devices' random operations, device-side events and
    bad inputs around it; every check on. The wrap device is kept out of the random
    operations and removals."""

    async def body(self):
        p = self.params
        wrap = {}

        def extra(numbers):
            wrap["dev"] = random.choice([n for n in range(p["NUM_DEVS"]) if n not in numbers])
            features = VERSION_1 | BLK_F_FLUSH | (EVENT_IDX if random.random() < 0.5 else 0)
            return {wrap["dev"]: BlkDevice(capacity=8, queue_size=random.choice([256, 4096, 32768]), features=features)}

        n = random.randint(1, min(3, p["NUM_DEVS"] - 1))
        vseq = SystemVseq(self, n, ops_per_device=random.randint(4, 10), device_events=random.randint(1, 3),
                          bad_inputs=random.randint(1, 3), reserved_queues=1, extra=extra)
        await vseq.setup()
        seq = IdxWrapSeq("idx_wrap", self, wrap["dev"])
        task = cocotb.start_soon(seq.start())
        self.tasks.append(task)
        await vseq.traffic()
        await task
        assert seq.completed >= 65536, f"only {seq.completed} completions on the wrap queue"
        sample_wire_coverage(self)
