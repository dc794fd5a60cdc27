"""Linux's own virtqueue code against the RTL: the driver side of the I/O is drivers/virtio/
virtio_ring.c (built from the kernel source package, loaded with ctypes, tb/vmsg/linux/), its
split rings in the AXI memory model's buffer, so the used ring Linux reads is the one the
engine wrote. The device side, the firmware, the engine backend and every checker are the
environment's own (IoTest).

The transport is the kernel transport of the build's header format (the seed's for HDR_FORMAT 0,
the 2026 tree's for the 8-byte header, linux.driver.linux_transport_class); the final check
fails a transport of the other format.

Every test also checks, once the engine is idle: no buffer the device completed was lost
(the used->idx the engine published equals what virtqueue_get_buf returned), every DMA mapping
was undone, no transport, driver or DMA error; and vring_interrupt's IRQ_NONE answers are
counted and reported, and fail the test when the notification oracle required no
notification for that EVENT_USED (docs/linux.md: when the design legitimately produces one).
"""

from __future__ import annotations

import errno
import random

import cocotb
import pyuvm

from ..linux.checks import irq_none_problem, lost_buffers
from ..linux.driver import HeapAllocator, LinuxBlk, LinuxBusDriver, LinuxRng
from ..linux.ring import DmaDomain, LinuxRing, plain_buffer
from ..models import BlkDevice, BumpAllocator, RngDevice
from ..models.devices import rng_stream
from ..models.drivers import BlkRequest, RngRequest
from ..proto.constants import VIRTIO_ID_BLOCK, VIRTIO_ID_RNG, Feature
from .io import SECTOR, IoTest, blk_batch, blk_workout
from .transport import BLK_F_FLUSH, EVENT_IDX, VERSION_1

ACCESS_PLATFORM = 1 << Feature.ACCESS_PLATFORM
COHERENT = (0x10_0000, 0x90_0000)   # rings (dma_alloc_coherent)
BOUNCE = (0x90_0000, 0xA0_0000)     # bounce slots (indirect tables)
HEAP = (0xA0_0000, 0x100_0000)      # the drivers' request buffers


class LinuxIoTest(IoTest):
    """IoTest with the Linux ring library as the driver side (see the module doc)."""

    def build_phase(self):
        super().build_phase()
        # cocotbext-axi's memory on a plain buffer (not its sparse default) that C can address.
        buf = plain_buffer(self.MEM_SIZE)
        ram = self.mem.ram
        assert len(buf) == ram.size
        ram.mem = ram.write_if.mem = ram.read_if.mem = buf
        self.membuf = buf

    async def start_linux(self, *, delayed_cb: bool = False) -> LinuxBusDriver:
        if getattr(self, "dma", None) is None:  # one DMA domain and heap for the whole test
            self.ring = LinuxRing.get()
            self.dma = DmaDomain(self.ring, self.membuf, COHERENT, BOUNCE)
            self.heap = HeapAllocator(*HEAP)
            self.irq_events: dict[int, int] = {}
            self.irq_none = 0
            self.irq_handled = 0
            self.linux_problems: list[str] = []
            self.removed_drivers: list = []
            self.linux_all: list[LinuxBusDriver] = []
        self.delayed_cb = delayed_cb
        drivers = {VIRTIO_ID_BLOCK: lambda: LinuxBlk(delayed_cb=self.delayed_cb),
                   VIRTIO_ID_RNG: lambda: LinuxRng(delayed_cb=self.delayed_cb)}
        bd = LinuxBusDriver(self.bus, self.mem, self.heap, dma=self.dma, drivers=drivers)
        bd.irq_observer = self._irq
        self.bus.event_handler = bd.handle_message
        self.firmware.engine_error_handler = self.on_engine_error
        self.linux = bd
        self.linux_all.append(bd)
        cocotb.log.info("Linux ring: %s (Linux %s), EVENT_IDX from the device, %s callbacks",
                        self.ring.path, _version(), "delayed" if delayed_cb else "plain")
        return bd

    # -- the oracle's verdict on each vring_interrupt ----------------------------------------
    def _watched(self, dev_id: int, index: int):
        eng = self.env.engine
        for q, s in eng.shadow.items():
            if s.dev_id == dev_id and s.vq == index and q in eng.monitor.queues:
                return eng.monitor.queues[q]
        return None

    def _irq(self, transport, vq, handled: bool) -> None:
        wq = self._watched(transport.dev_id, vq.index)
        key = id(wq)
        self.irq_events[key] = n = self.irq_events.get(key, 0) + 1
        if handled:
            self.irq_handled += 1
            return
        self.irq_none += 1
        problem = irq_none_problem(handled, n, wq.oracle.required if wq is not None else None)
        if problem:
            self.linux_problems.append(f"dev {transport.dev_id} vq {vq.index}: vring_interrupt: {problem}")

    async def unregister(self, dev_num: int) -> None:
        core = self.linux.devices.get(dev_num)
        drv = core.driver if core else None
        await self.linux.unregister_device(dev_num)
        if drv is not None:
            self.removed_drivers.append(drv)

    async def peripheral_reset(self, cycles: int = 5, discard: bool = True) -> None:
        """The scheduled EVENT_AVAIL writes are background traffic too: they stop with it."""
        for bd in getattr(self, "linux_all", []):
            for t in bd.transports:
                for task in t.doorbells:
                    if not task.done():
                        task.cancel()
                t.doorbells.clear()
        await super().peripheral_reset(cycles, discard)

    # -- end of test ------------------------------------------------------------------------
    async def quiesce_engine(self, timeout_ns: float = 500_000) -> None:
        await super().quiesce_engine(timeout_ns)
        if getattr(self, "linux", None) is not None:
            await self.linux_final_check()

    async def linux_final_check(self) -> None:
        probs = list(self.linux_problems)
        for bd in self.linux_all:
            for t in bd.transports:
                await t.drain_doorbells()
                probs += [f"dev {t.dev_id} transport: {e}" for e in t.errors]
                if t.HDR_FORMAT is not self.fmt:  # the build's HDR_FORMAT, not the register's
                    probs.append(f"dev {t.dev_id}: {type(t).__name__} speaks {t.HDR_FORMAT.label}, "
                                 f"the build {self.fmt.label}")
        live = [c.driver for c in self.linux.devices.values() if c.driver is not None]
        for drv in live + self.removed_drivers:
            probs += drv.errors
            if drv.lost:
                probs.append(f"{type(drv).__name__}: {drv.lost} completed buffer(s) lost (never returned by get_buf)")
        for core in self.linux.devices.values():
            for vq in core.transport.vqs:
                published = self.mem.read_u16(vq.used_addr + 2)
                if lost_buffers(published, vq.got):
                    probs.append(f"dev {core.transport.dev_id} vq {vq.index}: the engine published used->idx "
                                 f"{published}, Linux got {vq.got} buffers: {lost_buffers(published, vq.got)} lost")
                if vq.broken:
                    probs.append(f"dev {core.transport.dev_id} vq {vq.index}: broken")
        probs += [f"DMA: {e}" for e in self.dma.errors]
        mapped = sum(self.dma.mapped.values())
        expected = sum(len(r._allocs) for c in self.linux.devices.values() if c.driver
                       for r in c.driver.inflight.values())
        if mapped and not expected:
            probs.append(f"DMA: {mapped} mapping(s) left with no request in flight")
        probs += [f"Linux bus driver: {e}" for bd in self.linux_all for e in bd.errors]
        total = sum(vq.irq.handled + vq.irq.none for bd in self.linux_all for t in bd.transports for vq in t.all_vqs)
        cocotb.log.info("Linux vring_interrupt: %d EVENT_USED, %d IRQ_HANDLED, %d IRQ_NONE (each one an event the "
                        "oracle required); %d late EVENT_USED of removed devices dropped; DMA %s",
                        total, self.irq_handled, self.irq_none, sum(bd.late_events for bd in self.linux_all),
                        self.dma.stats)
        assert not probs, "\n".join(probs)


def _version() -> str:
    from vmsgsim import linux

    return linux.info()["version"]


@pyuvm.test()
class LinuxBlkIoTest(LinuxIoTest):
    """virtio-blk over the completion stream with Linux's ring on the driver side: writes read
    back unchanged (multi-segment scatterlists), flush, get-id, a batch larger than the ring
    (wrap), a read beyond the capacity fails IOERR; EVENT_IDX and delayed callbacks random;
    then the removal path (reset, detach_unused_buf, del_vqs)."""

    async def body(self):
        capacity = 128
        event_idx = random.random() < 0.5
        qsize = random.choice([8, 16, 64])
        # The device also offers ORDER_PLATFORM and RING_PACKED: Linux's filter keeps both, the
        # transport must drop them (strong barriers abort in the userspace shims; split rings).
        dev = BlkDevice(capacity=capacity, queue_size=qsize, serial=b"linux-blk",
                        features=VERSION_1 | BLK_F_FLUSH | ACCESS_PLATFORM | (EVENT_IDX if event_idx else 0)
                        | 1 << Feature.ORDER_PLATFORM | 1 << Feature.RING_PACKED)
        self.device_bus.add(1, dev)
        bd = await self.start_linux(delayed_cb=random.random() < 0.5)
        cocotb.log.info("EVENT_IDX %s, queue size %d", event_idx, qsize)
        await bd.scan()
        core = bd.devices[1]
        assert core.probed, core.probe_error
        assert core.has_feature(Feature.RING_EVENT_IDX) == event_idx and core.has_feature(Feature.ACCESS_PLATFORM)
        assert not core.has_feature(Feature.ORDER_PLATFORM) and not core.has_feature(Feature.RING_PACKED)
        assert core.device_features >> Feature.ORDER_PLATFORM & 1
        drv: LinuxBlk = core.driver
        assert drv.vq.num == qsize and drv.capacity == capacity
        assert await drv.get_id() == b"linux-blk".ljust(20, b"\0")
        shadow = await blk_workout(drv, capacity, 20)
        await blk_batch(drv, capacity, 3 * qsize, shadow)
        assert bytes(dev.storage) == bytes(shadow), "the RAM disk differs from what Linux wrote"
        bad = BlkRequest.read(capacity, 1)
        await drv.submit([bad], check=False)
        assert bad.status == 1, f"read beyond capacity: status {bad.status}, IOERR expected"
        vq = drv.vq
        assert vq.got == drv.completed == 1 + 20 + 3 * qsize + 1
        assert self.env.engine.accepted["stream"] == vq.got, "every completion the engine took reached Linux"
        await self.unregister(1)
        assert drv.aborted == 0 and drv.lost == 0


@pyuvm.test()
class LinuxRngIoTest(LinuxIoTest):
    """virtio-rng over the firmware register path with Linux's ring: the bytes are the device's
    stream in order, single reads and many buffers in flight; EVENT_IDX random. A second rng
    without ACCESS_PLATFORM is refused at probe (ENODEV)."""

    async def body(self):
        seed = random.randrange(1 << 30)
        event_idx = random.random() < 0.5
        self.device_bus.add(2, RngDevice(queue_size=16, event_idx=event_idx, seed=seed,
                                         extra_features=ACCESS_PLATFORM))
        # A device without ACCESS_PLATFORM: this platform restricts memory access, so the probe
        # fails in virtio_features_ok (ENODEV) before any queue exists.
        self.device_bus.add(5, RngDevice(queue_size=4, seed=1))
        bd = await self.start_linux(delayed_cb=random.random() < 0.5)
        await bd.scan()
        refused = bd.devices[5]
        assert not refused.probed and refused.probe_error is not None and refused.probe_error.errno == errno.ENODEV, \
            refused.probe_error
        assert not refused.transport.all_vqs
        core = bd.devices[2]
        assert core.probed, core.probe_error
        assert core.has_feature(Feature.RING_EVENT_IDX) == event_idx
        drv: LinuxRng = core.driver
        sizes = [random.randint(1, 300) for _ in range(24)]
        got = [await drv.read(sizes[0])] + await drv.read_many(sizes[1:])
        assert b"".join(got) == rng_stream(seed, sum(sizes)), "rng bytes differ from the device's stream"
        assert self.env.engine.accepted["regs"] == len(sizes) == drv.vq.got


@pyuvm.test()
class LinuxRingSizesTest(LinuxIoTest):
    """Ring sizes 1, 2, 256 and 32768 at once (four engine queues, traffic interleaved): rng on
    the rings of 1 and 2 (a blk request needs three descriptors), blk on 256 and 32768 with
    EVENT_IDX on one and off on the other; Linux's rings are where the engine writes."""

    async def body(self):
        seeds = [random.randrange(1 << 30) for _ in range(2)]
        self.device_bus.add(1, RngDevice(queue_size=1, event_idx=True, seed=seeds[0], extra_features=ACCESS_PLATFORM))
        self.device_bus.add(2, RngDevice(queue_size=2, event_idx=False, seed=seeds[1], extra_features=ACCESS_PLATFORM))
        big = BlkDevice(capacity=64, queue_size=32768, features=VERSION_1 | BLK_F_FLUSH | ACCESS_PLATFORM)
        mid = BlkDevice(capacity=64, queue_size=256, features=VERSION_1 | BLK_F_FLUSH | ACCESS_PLATFORM | EVENT_IDX)
        self.device_bus.add(3, mid)
        self.device_bus.add(4, big)
        bd = await self.start_linux(delayed_cb=random.random() < 0.5)
        await bd.scan()
        sizes = {1: 1, 2: 2, 3: 256, 4: 32768}
        for n, size in sizes.items():
            core = bd.devices[n]
            assert core.probed, core.probe_error
            vq = core.driver.vq
            assert vq.num == size, f"dev {n}: Linux made a ring of {vq.num}, {size} expected"
            assert COHERENT[0] <= vq.desc_addr and vq.used_addr + 6 + 8 * size <= COHERENT[1]

        async def rng_load(n, seed):
            out = []
            for _ in range(4):
                out += await bd.devices[n].driver.read_many([random.randint(1, 64) for _ in range(random.randint(1, 4))])
            assert b"".join(out) == rng_stream(seed, sum(map(len, out))), f"dev {n}: rng bytes differ"

        async def blk_load(n, dev):
            shadow = await blk_workout(bd.devices[n].driver, 64, 8)
            assert bytes(dev.storage) == bytes(shadow), f"dev {n}: disk differs"

        tasks = [cocotb.start_soon(rng_load(1, seeds[0])), cocotb.start_soon(rng_load(2, seeds[1])),
                 cocotb.start_soon(blk_load(3, mid)), cocotb.start_soon(blk_load(4, big))]
        for t in tasks:
            await t
        assert len(self.env.engine.monitor.queues) == 4


@pyuvm.test()
class LinuxResetMidTrafficTest(LinuxIoTest):
    """Resets in the middle of traffic: the rng device is removed while buffers are in flight
    (Linux resets it, takes back what was never used with detach_unused_buf, deletes the
    queue; nothing in flight disappears: every buffer is either returned by get_buf or
    detached) and probed again, while blk traffic goes on; then the blk device too. After each
    re-probe the I/O is right again (the rng stream continues where the device left it)."""

    async def body(self):
        seed = random.randrange(1 << 30)
        rng = RngDevice(queue_size=8, event_idx=random.random() < 0.5, seed=seed, extra_features=ACCESS_PLATFORM)
        blk = BlkDevice(capacity=32, queue_size=16,
                        features=VERSION_1 | BLK_F_FLUSH | ACCESS_PLATFORM | (EVENT_IDX if random.random() < 0.5 else 0))
        self.device_bus.add(1, blk)
        self.device_bus.add(2, rng)
        bd = await self.start_linux(delayed_cb=random.random() < 0.5)
        await bd.scan()
        produced = 0
        shadow = bytearray(32 * SECTOR)
        for _ in range(2):
            drv: LinuxRng = bd.devices[2].driver
            blk_task = cocotb.start_soon(blk_workout(bd.devices[1].driver, 32, 6, shadow))
            got = await drv.read_many([random.randint(1, 100) for _ in range(4)])
            produced += sum(map(len, got))
            reqs = [RngRequest(in_len=random.randint(1, 100)) for _ in range(6)]
            await drv.submit(reqs, wait=False)
            delay = random.randint(0, 3000)  # 0: the reset follows the submission at once
            if delay:
                await cocotb.triggers.Timer(delay, unit="ns")
            await self.unregister(2)  # reset with buffers in flight
            done = [r for r in reqs if r.done and not r.aborted]
            assert len(done) + drv.aborted == len(reqs), "a buffer in flight neither completed nor was detached"
            assert drv.vq.got + drv.vq.detached == drv.vq.added
            produced += sum(len(r.result) for r in done)
            core = await bd.register_device(2)
            assert core.probed, core.probe_error
            more = await core.driver.read(32)
            # Buffers the device filled but Linux detached took bytes of the stream too: the new
            # read continues the stream at some point not before what Linux saw.
            stream = rng_stream(seed, produced + 32 * 8 + 800)
            assert more in stream[produced:], "the rng stream does not continue after the reset"
            produced = stream.index(more, produced) + 32
            await blk_task
        await blk_workout(bd.devices[1].driver, 32, 4, shadow)
        await self.unregister(1)
        core = await bd.register_device(1)
        assert core.probed
        shadow = await blk_workout(core.driver, 32, 4, shadow)
        assert bytes(blk.storage) == bytes(shadow)


@pyuvm.test()
class LinuxIdxWrapTest(LinuxIoTest):
    """used->idx and avail->idx wrap past 65535 on one queue: Linux's ring and the engine count
    on through the wrap, nothing lost (flush requests in large batches, EVENT_IDX with delayed
    callbacks so that one EVENT_USED covers a batch)."""

    TOTAL = 65536 + 512

    async def body(self):
        blk = BlkDevice(capacity=8, queue_size=4096, features=VERSION_1 | BLK_F_FLUSH | ACCESS_PLATFORM | EVENT_IDX)
        self.device_bus.add(1, blk)
        bd = await self.start_linux(delayed_cb=True)
        await bd.scan()
        drv: LinuxBlk = bd.devices[1].driver
        done = 0
        while done < self.TOTAL:
            n = min(2048, self.TOTAL - done)
            reqs = [BlkRequest.flush() for _ in range(n)]
            await drv.submit(reqs)
            assert all(r.status == 0 for r in reqs)
            done += n
        vq = drv.vq
        assert vq.got == self.TOTAL
        assert self.mem.read_u16(vq.used_addr + 2) == self.TOTAL & 0xFFFF


@pyuvm.test()
class LinuxPeripheralResetTest(LinuxIoTest):
    """rst_ni in the middle of Linux-driven traffic (blk reads and rng reads in flight): the
    peripheral forgets everything; Linux's side takes what the engine had published
    (virtqueue_get_buf), detaches the rest and deletes its queues without a message (the
    peripheral is gone); software starts again from discovery with new Linux queues, and the
    disk still holds what was written before."""

    async def body(self):
        capacity = 32
        seed = random.randrange(1 << 30)
        blk = BlkDevice(capacity=capacity, queue_size=16,
                        features=VERSION_1 | BLK_F_FLUSH | ACCESS_PLATFORM | (EVENT_IDX if random.random() < 0.5 else 0))
        rng = RngDevice(queue_size=8, event_idx=random.random() < 0.5, seed=seed, extra_features=ACCESS_PLATFORM)
        self.device_bus.add(1, blk)
        self.device_bus.add(2, rng)
        bd = await self.start_linux(delayed_cb=random.random() < 0.5)
        await bd.scan()
        shadow = await blk_workout(bd.devices[1].driver, capacity, 6)
        blk_drv, rng_drv = bd.devices[1].driver, bd.devices[2].driver

        async def reads():
            while True:
                sector = random.randrange(capacity)
                got = await blk_drv.read(sector, 1)
                assert got == bytes(shadow[sector * SECTOR:(sector + 1) * SECTOR])

        async def rng_reads():
            while True:
                await rng_drv.read_many([random.randint(1, 64) for _ in range(3)])

        self.tasks += [cocotb.start_soon(reads()), cocotb.start_soon(rng_reads())]
        await cocotb.triggers.Timer(random.randint(2_000, 30_000), unit="ns")
        assert blk_drv.inflight or rng_drv.inflight or blk_drv.completed, "no traffic when the reset came"
        await self.peripheral_reset()
        for drv, core in ((blk_drv, bd.devices[1]), (rng_drv, bd.devices[2])):
            added = drv.vq.added
            drv.surprise_remove(core)
            assert drv.vq.got + drv.vq.detached == added, "a buffer in flight neither completed nor was detached"
            assert not drv.inflight
            self.removed_drivers.append(drv)
        bd.devices.clear()
        # New bus layer, firmware and engine backend (IoTest.restart_software), then Linux again.
        self.allocator = BumpAllocator(HEAP[0], 0)
        await self.restart_software(bd.drivers)
        bd2 = await self.start_linux(delayed_cb=self.delayed_cb)
        assert await bd2.scan() == [1, 2]
        core = bd2.devices[1]
        assert core.probed, core.probe_error
        assert await core.driver.read(0, capacity) == bytes(shadow), "the disk lost data over the reset"
        await blk_workout(core.driver, capacity, 4, shadow)
        assert bytes(blk.storage) == bytes(shadow)
        more = await bd2.devices[2].driver.read(16)
        assert len(more) == 16
