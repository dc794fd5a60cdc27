"""End-to-end I/O: real devices behind the device model complete through the used-index
engine, the driver model reaps used buffers on EVENT_USED; data checked against the test's
own expectation. The engine checker (used-ring model, AXI4 rules, notification oracle) runs
in every test."""

from __future__ import annotations

import errno
import random

import pyuvm
from cocotb.triggers import Timer

from ..models import BlkDevice, BlkDriver, BumpAllocator, BusDriver, DeviceBus, RngDevice, RngDriver, VirtioError
from ..models.drivers import BlkRequest
from ..models.devices import rng_stream
from ..proto.constants import VIRTIO_ID_BLOCK, VIRTIO_ID_RNG
from ..seq.bus_layers import DeviceFirmware, DriverBus
from ..seq.engine_backend import EngineBackend
from .transport import BLK_F_FLUSH, EVENT_IDX, VERSION_1, TransportTest

SECTOR = 512
HEAP = 0x0010_0000


class IoTest(TransportTest):
    """Driver rings and buffers in the AXI memory the engine writes; EngineBackend behind
    the device model."""

    io_timeout_ns = 3_000_000

    def make_device_bus(self):
        self.backend = EngineBackend(self.dev_ops, self.cpl, self.params["ENG_QUEUES"], self.params["NUM_VQS"])
        return DeviceBus(self.params["MSG_SIZE"], self.backend, memory=self.mem, fmt=self.fmt)

    async def on_engine_error(self) -> None:
        """Firmware's ENG_ERR handler: a device whose queue failed needs a reset; tell the
        driver (DEVICE_NEEDS_RESET + EVENT_CONFIG)."""
        for err in await self.backend.engine_errors():
            if err["dev"] in self.device_bus.devices:
                await self.firmware.send(await self.device_bus.set_needs_reset(err["dev"]))

    async def wait_until(self, predicate) -> None:
        waited = 0.0
        while not predicate() and waited < self.io_timeout_ns:
            await Timer(200, unit="ns")
            waited += 200

    async def restart_software(self, drivers) -> BusDriver:
        """After a peripheral reset: a new bus layer, firmware and bus driver (the old ones'
        state died with the reset); the device models and the memory stay."""
        p = self.params
        self.bus = DriverBus(self.drv_ops, timeout_ns=self.bus_timeout_ns, fmt=self.driver_format())
        await self.bus.start()
        self.firmware = DeviceFirmware(self.dev_ops, self.device_bus, p["NUM_DEVS"], p["NUM_VQS"])
        await self.firmware.start()
        self.backend.free = list(range(p["ENG_QUEUES"]))  # the engine forgot every queue
        self.backend.queues.clear()
        self.backend.reported.clear()
        for dev in self.device_bus.devices.values():  # the firmware restarts its devices too
            dev.status = 0
            for q in dev.queues:
                q.clear()
        self.allocator = BumpAllocator(self.allocator.next + 0x1000, self.MEM_SIZE - (self.allocator.next + 0x1000))
        self.bus_driver = BusDriver(self.bus, self.mem, self.allocator, drivers=drivers)
        self.bus.event_handler = self.bus_driver.handle_message
        self.firmware.engine_error_handler = self.on_engine_error
        return self.bus_driver

    async def start_models(self, **kw) -> BusDriver:
        self.memory = self.mem
        self.allocator = BumpAllocator(HEAP, self.MEM_SIZE - HEAP)
        kw.setdefault("drivers", {VIRTIO_ID_BLOCK: lambda: BlkDriver(wait_until=self.wait_until),
                                  VIRTIO_ID_RNG: lambda: RngDriver(wait_until=self.wait_until)})
        self.bus_driver = BusDriver(self.bus, self.memory, self.allocator, **kw)
        self.bus.event_handler = self.bus_driver.handle_message
        self.firmware.engine_error_handler = self.on_engine_error
        return self.bus_driver


async def blk_workout(drv: BlkDriver, capacity: int, n_ops: int, shadow: bytearray | None = None) -> bytearray:
    """Random writes, reads and flushes; every read is checked against a shadow disk kept
    by the test (zeros at first). Returns the shadow."""
    shadow = bytearray(capacity * SECTOR) if shadow is None else shadow
    for _ in range(n_ops):
        count = random.randint(1, 8)
        sector = random.randrange(capacity - count + 1)
        op = random.random()
        if op < 0.45:
            data = random.randbytes(count * SECTOR)
            await drv.write(sector, data, segments=random.randint(1, 3))
            shadow[sector * SECTOR:(sector + count) * SECTOR] = data
        elif op < 0.9:
            got = await drv.read(sector, count, segments=random.randint(1, 3))
            assert got == bytes(shadow[sector * SECTOR:(sector + count) * SECTOR]), \
                f"read of {count} sector(s) at {sector} differs from what was written"
        else:
            await drv.flush()
    return shadow


async def blk_batch(drv, capacity: int, n: int, shadow: bytearray) -> None:
    """n one-sector writes and reads submitted at once (more than a ring holds wraps it); each
    read must return what the shadow holds after the writes before it in the batch."""
    reqs = []
    for _ in range(n):
        sector = random.randrange(capacity)
        if random.random() < 0.5:
            data = random.randbytes(SECTOR)
            shadow[sector * SECTOR:(sector + 1) * SECTOR] = data
            reqs.append(BlkRequest.write(sector, data))
        else:
            reqs.append(BlkRequest.read(sector, 1))
            reqs[-1].expect = bytes(shadow[sector * SECTOR:(sector + 1) * SECTOR])
    await drv.submit(reqs)
    for r in reqs:
        if hasattr(r, "expect"):
            assert r.result == r.expect, "a read in a batch returned other data than was written before it"


@pyuvm.test()
class BlkIoTest(IoTest):
    """virtio-blk RAM disk over the completion stream: writes then reads back unchanged
    (multi-descriptor chains), flush, get-id, many requests in flight (ring wrap), a read
    beyond the capacity fails with IOERR."""

    async def body(self):
        capacity = 128
        event_idx = random.random() < 0.5
        dev = BlkDevice(capacity=capacity, queue_size=32,
                        features=VERSION_1 | BLK_F_FLUSH | (EVENT_IDX if event_idx else 0),
                        serial=b"vmsg-blk-test")
        self.device_bus.add(1, dev)
        bd = await self.start_models()
        await bd.scan()
        core = bd.devices[1]
        assert core.probed, core.probe_error
        drv: BlkDriver = core.driver
        assert await drv.get_id() == b"vmsg-blk-test".ljust(20, b"\0")
        shadow = await blk_workout(drv, capacity, 30)
        # Many in flight at once: more than the ring holds, so the ring wraps.
        await blk_batch(drv, capacity, 48, shadow)
        assert bytes(dev.storage) == bytes(shadow), "the RAM disk differs from what the driver wrote"
        bad = BlkRequest.read(capacity, 1)
        await drv.submit([bad], check=False)
        assert bad.status == 1, f"read beyond capacity: status {bad.status}, IOERR expected"
        # The checker saw every completion on the stream port (and checked each on the bus).
        watched = self.env.engine.monitor.queues
        assert len(watched) == 1 and self.env.engine.accepted["stream"] == next(iter(watched.values())).model.accepted == 1 + 30 + 48 + 1


@pyuvm.test()
class RngIoTest(IoTest):
    """virtio-rng over the firmware register path (CPL_ID / CPL_LEN / CPL_PUSH): the bytes the
    driver reads are the device's documented stream, in order, whatever the buffer sizes."""

    async def body(self):
        seed = random.randrange(1 << 30)
        self.device_bus.add(2, RngDevice(queue_size=16, event_idx=random.random() < 0.5, seed=seed))
        bd = await self.start_models()
        await bd.scan()
        drv: RngDriver = bd.devices[2].driver
        sizes = [random.randint(1, 300) for _ in range(24)]
        got = b"".join([await drv.read(sizes[0])] + await drv.read_many(sizes[1:]))
        assert got == rng_stream(seed, sum(sizes)), "rng bytes differ from the device's stream"
        assert self.backend.calls and self.env.engine.accepted["regs"] == len(sizes)


@pyuvm.test()
class IoMixedRandomTest(IoTest):
    """blk (stream) and rng (register path) at once, with random memory latency and AXI
    back-pressure, EVENT_IDX on or off per device; then one device reset and re-probe while
    the other keeps going."""

    whole_slot_rate = 0.25  # some reads cover the whole slot: the zero fill is observed
    def build_phase(self):
        self.mem_wr_latency = random.choice([0, 4, 16, 64])
        self.mem_rd_latency = random.choice([0, 8, 32])
        super().build_phase()
        self.mem.set_backpressure(aw=random.random() * 0.3, w=random.random() * 0.3, b=random.random() * 0.3,
                                  ar=random.random() * 0.3, r=random.random() * 0.3)

    async def body(self):
        import cocotb

        capacity = 64
        seed = random.randrange(1 << 30)
        blk = BlkDevice(capacity=capacity, queue_size=random.choice([8, 16, 64]),
                        features=VERSION_1 | BLK_F_FLUSH | (EVENT_IDX if random.random() < 0.5 else 0))
        rng = RngDevice(queue_size=random.choice([4, 8, 32]), event_idx=random.random() < 0.5, seed=seed)
        self.device_bus.add(1, blk)
        self.device_bus.add(3, rng)
        bd = await self.start_models()
        await bd.scan()
        blk_drv, rng_drv = bd.devices[1].driver, bd.devices[3].driver
        rng_out = []

        async def rng_load():
            for _ in range(8):
                rng_out.append(await rng_drv.read(random.randint(1, 200)))

        task = cocotb.start_soon(rng_load())
        shadow = await blk_workout(blk_drv, capacity, 16)
        await task
        assert b"".join(rng_out) == rng_stream(seed, sum(map(len, rng_out)))
        # Device reset of the rng: its engine queue is reset, a new probe sets it up again.
        await bd.unregister_device(3)
        core = await bd.register_device(3)
        assert core.probed
        more = await core.driver.read(64)
        assert more == rng_stream(seed, sum(map(len, rng_out)) + 64)[-64:]
        await blk_workout(blk_drv, capacity, 6, shadow)
        assert bytes(blk.storage) == bytes(shadow)


@pyuvm.test()
class EngineErrorRecoveryTest(IoTest):
    """A used-ring write that the memory answers with SLVERR: the engine puts that queue in
    the error state (ERR_QUEUES, STATUS.ERR_KIND 1, ERR_ADDR inside the used ring, ENG_ERR
    interrupt) and never publishes past the failed element; the firmware reports
    DEVICE_NEEDS_RESET with EVENT_CONFIG; another device's queue keeps working meanwhile; after
    the driver resets and probes the device again, I/O works and the disk holds what was
    written before the error."""

    io_timeout_ns = 150_000

    async def body(self):
        import cocotb

        capacity = 32
        blk = BlkDevice(capacity=capacity, queue_size=16, features=VERSION_1 | BLK_F_FLUSH)
        seed = random.randrange(1 << 30)
        self.device_bus.add(1, blk)
        self.device_bus.add(2, RngDevice(queue_size=8, seed=seed))
        bd = await self.start_models()
        await bd.scan()
        blk_core, rng_drv = bd.devices[1], bd.devices[2].driver
        shadow = await blk_workout(blk_core.driver, capacity, 6)
        used = blk_core.transport.vq(0).layout.used
        changes = blk_core.config_change_count
        self.mem.add_error(used + 4, used + 4 + 8 * 16, resp=random.choice([2, 3]), write=True, count=1)
        data = random.randbytes(SECTOR)
        async def write_and_catch():
            try:
                await blk_core.driver.write(3, data)
            except Exception as exc:  # noqa: BLE001 - the request's error is what the test checks
                return exc
            return None

        failing = cocotb.start_soon(write_and_catch())
        assert await wait_until_sim(lambda: blk_core.config_change_count > changes), "no EVENT_CONFIG after the error"
        assert await blk_core.transport.get_status() & 0x40, "DEVICE_NEEDS_RESET not set"
        err = self.backend.error_log[-1]
        assert err["dev"] == 1 and err["kind"] == 1, err
        assert used + 4 <= err["addr"] < used + 4 + 8 * 16, f"ERR_ADDR {err['addr']:#x} outside the used ring"
        published = int.from_bytes(self.mem.read(used + 2, 2), "little")
        assert published == err["used_idx"] and published < blk_core.transport.vq(0).avail_idx_shadow
        # The other device's queue is not affected.
        assert await rng_drv.read(50) == rng_stream(seed, 50)
        await bd.unregister_device(1)  # the driver's reset path; the stuck request ends with EIO
        exc = await failing
        assert exc is not None and getattr(exc, "errno", None) == errno.EIO, \
            f"the request whose completion failed should end with EIO, got {exc!r}"
        core = await bd.register_device(1)
        assert core.probed
        # The failed write may or may not have reached the disk (the device did it, the used
        # element failed): accept either content for sector 3, the rest must be intact.
        disk = bytes(blk.storage)
        for s in range(capacity):
            if s != 3:
                assert disk[s * SECTOR:(s + 1) * SECTOR] == bytes(shadow[s * SECTOR:(s + 1) * SECTOR])
        shadow[3 * SECTOR:4 * SECTOR] = disk[3 * SECTOR:4 * SECTOR]
        await blk_workout(core.driver, capacity, 8, shadow)


async def wait_until_sim(cond, timeout_ns: float = 500_000) -> bool:
    waited = 0.0
    while not cond() and waited < timeout_ns:
        await Timer(200, unit="ns")
        waited += 200
    return cond()


@pyuvm.test()
class EventAfterQueueResetTest(IoTest):
    """The ordering rule of docs/architecture.md: an EVENT_USED the engine decided before the
    device side reset its queue reaches the driver before any message the device side commits
    after that reset (or not at all). The driver stops reading, so an earlier message holds the
    head; a completion makes the engine decide an EVENT_USED, which waits at the mailbox; the
    device side resets the queue and commits its answer (a RESET_VQUEUE response); then the
    driver drains: the event must come before that answer."""

    async def body(self):
        import cocotb

        from ..env import mbox_ref as ref

        self.device_bus.add(1, BlkDevice(capacity=8, queue_size=8, features=VERSION_1))
        bd = await self.start_models()
        await bd.scan()
        core = bd.devices[1]
        assert core.probed, core.probe_error
        # The driver stops reading its mailbox: RX_MSG masked, and once its bus layer has
        # drained what was there, the layer stops (no item of it is left half done).
        await self.drv_ops.write("INTR_ENABLE", 0)
        await Timer(3_000, unit="ns")
        self.bus.stop()
        p = self.params
        ms = p["MSG_SIZE"]
        first = self.device_bus.event_config(1, 0, b"")  # holds the head
        await self.firmware.send(first)
        io = cocotb.start_soon(core.driver.write(0, random.randbytes(SECTOR)))
        self.tasks.append(io)
        # The request completes on the device side; the engine publishes and decides the event.
        vq = core.transport.vq(0)
        assert await wait_until_sim(lambda: int.from_bytes(self.mem.read(vq.layout.used + 2, 2), "little") == 1,
                                    100_000), "the completion was never published"
        await Timer(2_000, unit="ns")  # the event is at the mailbox, behind the head
        await self.backend.reset_queue(1, 0)
        # A RESET_VQUEUE response for dev 1 (in the build's header format) that answers no
        # request of the driver: declared to the scoreboard's response rule.
        self.env.scoreboard.planted_responses += 1
        hs = ref.header_size()
        answer = bytearray(ms)
        answer[0:4] = bytes([0x01, 0x0B, 1, 0])
        answer[hs - 2:hs] = hs.to_bytes(2, "little")
        await self.firmware.send(bytes(answer))
        order = []
        while True:
            item = await self.drv_ops.recv()
            if item.empty:
                break
            h = ref.Header.of(item.slot)
            order.append("answer" if h.is_response else ("event_used" if h.msg_id == ref.EVENT_USED else "head"))
        io.cancel()
        core.driver.abort_inflight()
        assert order[0] == "head" and "answer" in order, order
        assert "event_used" not in order[order.index("answer"):], \
            f"an EVENT_USED decided before the queue reset reached the driver after the device's answer: {order}"
        self.logger.info("order after the queue reset: %s", order)


@pyuvm.test()
class StaleDoorbellAfterResetTest(IoTest):
    """A kick that a device reset overtook (doorbells keep no order with messages): the driver
    kicks an rng queue while the firmware is busy elsewhere (its doorbells left pending), then
    removes the device, which resets it. The firmware's reset discards the doorbell
    (EngineBackend.discard_doorbells), so when the firmware looks at its doorbells again while
    the next driver starts (ACKNOWLEDGE and DRIVER set, no DRIVER_OK yet) nothing reaches the
    device: no DEVICE_NEEDS_RESET, and the next driver's reads return the device's stream."""

    async def body(self):
        import cocotb

        dev_num, seed = random.randrange(self.params["NUM_DEVS"]), random.randrange(1 << 30)
        self.device_bus.add(dev_num, RngDevice(queue_size=8, seed=seed))
        bd = await self.start_models()
        await bd.scan()
        core = bd.devices[dev_num]
        assert core.probed, core.probe_error
        assert await core.driver.read(16) == rng_stream(seed, 16)
        fw = self.firmware
        fw.defer_doorbells = True
        doorbell = dev_num * self.params["NUM_VQS"]  # queue 0
        pend = self.dev_ops.regs.addr("DB_PENDING") + 4 * (doorbell // 32)

        async def read_and_catch():
            try:
                await core.driver.read(8)
            except VirtioError as exc:
                return exc
            return None

        reading = cocotb.start_soon(read_and_catch())
        self.tasks.append(reading)
        waited = 0
        while not await self.dev_ops.read(pend) >> doorbell % 32 & 1:
            assert waited < 100, "the kick never made its doorbell pending"
            await Timer(500, unit="ns")
            waited += 1
        await bd.unregister_device(dev_num)  # the driver's remove path resets the device
        exc = await reading
        assert exc is not None and exc.errno == errno.EIO, f"the read the reset aborted ended with {exc!r}"
        assert self.backend.discarded == [(dev_num, 0)], f"doorbells discarded: {self.backend.discarded}"
        assert not await self.dev_ops.read(pend) >> doorbell % 32 & 1, "the reset left the doorbell pending"
        # The next driver starts; meanwhile the firmware gets to its doorbells.
        transport = core.transport
        await transport.set_status(0x01)
        await transport.set_status(0x03)
        kicks = len(fw.kicks)
        fw.defer_doorbells = False
        await fw.service_doorbells()
        status = await transport.get_status()
        assert status == 0x03, f"device status {status:#x} after the stale doorbell (0x40: DEVICE_NEEDS_RESET)"
        assert fw.kicks[kicks:] == [], f"the firmware took kicks the reset discarded: {fw.kicks[kicks:]}"
        await transport.reset()
        core = await bd.register_device(dev_num)
        assert core is not None and core.probed, "the device did not probe again"
        assert await core.driver.read(32) == rng_stream(seed, 48)[16:], \
            "the next driver's bytes are not the device's stream after the first 16"
