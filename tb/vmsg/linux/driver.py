"""The Linux-side driver glue: the driver model's virtio-msg transport of the bus's header
format (unchanged for every message it sends: the seed's `VirtioMsgDevice` for the 6-byte
header, the 2026 tree's `VirtioMsgDeviceHdr8` for the 8-byte one) with Linux's virtio_ring.c
behind its virtqueues, and virtio-blk / virtio-rng drivers that do their I/O through the ring
code the way drivers/block/virtio_blk.c and drivers/char/hw_random/virtio-rng.c do.

`LinuxRingTransport` holds what the glue adds to a transport; `LinuxMsgDevice` (seed) and
`LinuxMsgDeviceHdr8` (2026 tree) are it over each transport model, `linux_transport_class(fmt)`
picks the one of a header format, and LinuxBusDriver registers every device with the class of
its own format, as the models' BusDriver does. Both kernels' transports set up, notify and
take events the same way (virtio_msg_setup_vq, _vmsg_notify, virtio_msg_event), so the glue is
one; the messages differ only where the transport models differ.

What is Linux's here: the rings (vring_create_virtqueue, in the AXI memory through the DMA
hooks), every descriptor and avail-ring write (virtqueue_add_sgs), the kick decision
(virtqueue_kick_prepare; the notify callback sends EVENT_AVAIL through the transport), the
reaping of the used ring the engine wrote (vring_interrupt on every EVENT_USED, then
virtqueue_get_buf in the driver's callback, with virtqueue_disable_cb and virtqueue_enable_cb
or, with `delayed_cb`, virtqueue_enable_cb_delayed), and the removal
(virtqueue_detach_unused_buf after the reset). Feature negotiation goes through Linux's
vring_transport_features; RING_PACKED and ORDER_PLATFORM are never negotiated (split rings and
weak barriers only: the userspace shims abort on strong barriers). The platform restricts
memory access (VirtioCore's restricted_mem_access): virtio_features_ok requires ACCESS_PLATFORM,
without which the ring code would put host pointers into the descriptors.

Scheduling: ring calls run in the cocotb thread only; a notify callback cannot await, so it
schedules the EVENT_AVAIL (cocotb.start_soon) and returns true; the scheduled doorbells keep the
kick order, and a failed one is an error of the transport.
"""

from __future__ import annotations

import errno
from typing import Callable, Optional, Sequence

import cocotb
from cocotb.triggers import Event, First, Timer
from cocotb.utils import get_sim_time

from ..models import BusDriver
from ..models.blk_defs import VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX
from ..models.driver import NOTIFY_DATA_FIXED, VirtioMsgDevice, VqInfo
from ..models.driver_hdr8 import VirtioMsgDeviceHdr8
from ..models.drivers import BlkRequest, IoRequest, RngRequest
from ..models.errors import VirtioError
from ..models.virtio_core import VirtioCore
from ..proto.constants import TRANSPORT_FEATURE_END, TRANSPORT_FEATURE_START, Feature, HdrFormat, TransportId
from .checks import lost_buffers
from .ring import ENOSPC, PAGE_SIZE, DmaDomain, LinuxVdev, LinuxVirtqueue, RegionAllocator

# The model's own transport filter is replaced by Linux's vring_transport_features.
ALL_TRANSPORT_BITS = frozenset(range(TRANSPORT_FEATURE_START, TRANSPORT_FEATURE_END))
NEVER = (1 << Feature.RING_PACKED) | (1 << Feature.ORDER_PLATFORM)


class HeapAllocator(RegionAllocator):
    """Buffers of the Linux-side drivers (the model's Allocator protocol, reusing freed blocks)."""

    def alloc(self, size: int, align: int = 8) -> int:
        addr = super().alloc(size, align)
        if addr is None:
            raise MemoryError(f"Linux-side heap exhausted ({size} bytes)")
        return addr


class _NotifyData:
    """What notify_with_data needs of a queue, taken when Linux kicked."""

    def __init__(self, index: int, data: int) -> None:
        self.index = index
        self._data = data

    def notification_data(self) -> int:
        return self._data


class LinuxRingTransport:
    """What the glue adds to a transport model: Linux's virtqueues behind it (see the module
    doc). A mixin, first base of a class whose second base is the transport model."""

    def __init__(self, bus, dev_id, memory, allocator, *, dma: DmaDomain, **kw) -> None:
        kw["transport_features"] = ALL_TRANSPORT_BITS
        super().__init__(bus, dev_id, memory, allocator, **kw)
        self.ring = dma.ring
        self.vdev = LinuxVdev(self.ring, dma)
        self.doorbells: list = []   # scheduled EVENT_AVAIL tasks
        self.irq_observer: Optional[Callable[[LinuxVirtqueue, bool], None]] = None
        self.all_vqs: list[LinuxVirtqueue] = []  # every queue this transport made (stats)

    async def finalize_features(self) -> None:
        self.features = self.vdev.transport_features(self.features) & ~NEVER
        self.vdev.features = self.features
        await super().finalize_features()

    def _linux_notify(self, vq: LinuxVirtqueue) -> bool:
        """virtqueue_notify's callback: no await here; the EVENT_AVAIL is scheduled."""
        if self.has_feature(Feature.NOTIFICATION_DATA):  # the model's notify_data switch
            send = self.notify_with_data if self.notify_data == NOTIFY_DATA_FIXED else self.notify_with_data_rfc
            coro = send(_NotifyData(vq.index, vq.notification_data()))
        else:
            coro = self.notify(vq)
        self.doorbells = [t for t in self.doorbells if not t.done()]
        self.doorbells.append(cocotb.start_soon(self._doorbell(vq.index, coro)))
        return True

    async def _doorbell(self, index: int, coro) -> None:
        if not await coro:
            self._log(errno.EIO, f"EVENT_AVAIL of vq {index} failed")

    async def _setup_vq(self, index: int, info: VqInfo) -> LinuxVirtqueue:
        num = await self._vq_get(index)
        try:
            vq = LinuxVirtqueue(self.vdev, index, num, align=PAGE_SIZE, may_reduce_num=True,
                                name=info.name or "", notify=self._linux_notify, callback=info.callback)
        except MemoryError as exc:
            raise VirtioError(errno.ENOMEM, str(exc)) from exc
        vq.num_max = num
        vq.irq_observer = self._observe
        self.vqs.append(vq)
        self.all_vqs.append(vq)
        ret = await self._vq_set(vq, index)
        if ret:
            self._del_vq(vq)
            raise VirtioError(-ret, f"SET_VQUEUE {index} failed")
        return vq

    def _observe(self, vq: LinuxVirtqueue, handled: bool) -> None:
        if self.irq_observer is not None:
            self.irq_observer(vq, handled)

    async def drain_doorbells(self) -> None:
        for t in list(self.doorbells):
            await t
        self.doorbells.clear()


class LinuxMsgDevice(LinuxRingTransport, VirtioMsgDevice):
    """The seed's transport (6-byte header) with Linux's virtqueues."""


class LinuxMsgDeviceHdr8(LinuxRingTransport, VirtioMsgDeviceHdr8):
    """The 2026 tree's transport (8-byte header) with Linux's virtqueues."""


def linux_transport_class(fmt: HdrFormat | int | str = HdrFormat.SEED6) -> type[LinuxRingTransport]:
    """The Linux transport of a header format (driver_hdr8.transport_class's counterpart)."""
    return LinuxMsgDeviceHdr8 if HdrFormat.parse(fmt) is HdrFormat.HDR8 else LinuxMsgDevice


class LinuxBusDriver(BusDriver):
    """The bus driver of the models, registering Linux transports of its header format
    (LinuxMsgDevice for the seed's, LinuxMsgDeviceHdr8 for the 8-byte one)."""

    def __init__(self, bus, memory, allocator, *, dma: DmaDomain, **kw) -> None:
        super().__init__(bus, memory, allocator, **kw)
        self.dma = dma
        self.transports: list[LinuxRingTransport] = []
        self.removed: set[int] = set()
        self.late_events = 0
        self.irq_observer: Optional[Callable[[LinuxRingTransport, LinuxVirtqueue, bool], None]] = None

    async def register_device(self, dev_num: int) -> Optional[VirtioCore]:
        transport = linux_transport_class(self.fmt)(self.bus, dev_num, self.memory, self.allocator,
                                                    dma=self.dma, **self.transport_args())
        transport.irq_observer = lambda vq, handled: self._observe(transport, vq, handled)
        self.transports.append(transport)
        try:
            await transport.register()
        except VirtioError as exc:
            self.errors.append(exc)
            return None
        factory = self.drivers.get(transport.device_id)
        # The platform restricts memory access: the device reaches only the AXI memory, through
        # bus addresses (virtio_features_ok then requires VERSION_1 and ACCESS_PLATFORM; without
        # it virtio_ring would put host pointers into the descriptors).
        core = VirtioCore(transport, factory() if factory else None, restricted_mem_access=True)
        self.devices[dev_num] = core
        await core.register()
        return core

    def _observe(self, transport, vq, handled) -> None:
        if self.irq_observer is not None:
            self.irq_observer(transport, vq, handled)

    async def unregister_device(self, dev_num: int) -> None:
        self.removed.add(dev_num)
        await super().unregister_device(dev_num)

    async def handle_message(self, slot: bytes) -> int:
        """An EVENT_USED for a device removed while it had buffers in flight (the event was
        already on its way when the removal began) is counted and dropped, as the kernel's
        transport drops an event for a queue it no longer has; anything else is the model's."""
        dev_id = int.from_bytes(slot[2:4], "little")
        if (slot[0] & 0x3) == 0 and slot[1] == TransportId.EVENT_USED and dev_id not in self.devices \
                and dev_id in self.removed:
            self.late_events += 1
            return -errno.EINVAL
        return await super().handle_message(slot)


class LinuxQueueIo:
    """I/O of a driver with one queue through Linux's ring code."""

    timeout_ns = 3_000_000

    def _io_init(self, delayed_cb: bool) -> None:
        self.core: Optional[VirtioCore] = None
        self.vq: Optional[LinuxVirtqueue] = None
        self.delayed_cb = delayed_cb
        self.inflight: dict[int, IoRequest] = {}
        self.next_token = 1
        self.completed = 0
        self.aborted = 0
        self.lost = 0
        self.errors: list[str] = []
        self._progress = Event()

    # virtblk_done / random_recv_done: the queue callback, run inside vring_interrupt.
    def vq_done(self, vq: LinuxVirtqueue) -> None:
        while True:
            vq.disable_cb()
            self.vq_done_poll(vq)
            if vq.broken:
                break
            if vq.enable_cb_delayed() if self.delayed_cb else vq.enable_cb():
                break
        self._progress.set()

    def vq_done_poll(self, vq: LinuxVirtqueue) -> None:
        """virtqueue_get_buf until it returns nothing (flush_bufs), callbacks left as they are."""
        mem = self.core.transport.memory
        while (got := vq.get_buf()) is not None:
            token, length = got
            req = self.inflight.pop(token, None)
            if req is None:
                self.errors.append(f"vq {vq.index}: get_buf returned unknown token {token}")
                continue
            req.finish(mem, length)
            req.release(self.core.transport.allocator)
            self.completed += 1

    async def _wait(self, predicate, what: str) -> None:
        """Wake on every callback (and every 10 us) until predicate() holds."""
        deadline = get_sim_time(unit="ns") + self.timeout_ns
        while not predicate():
            if get_sim_time(unit="ns") >= deadline:
                raise VirtioError(errno.ETIMEDOUT, what)
            self._progress.clear()
            await First(self._progress.wait(), Timer(10_000, unit="ns"))

    def _kick(self) -> None:
        if self.vq.kick_prepare():
            self.vq.notify()

    @staticmethod
    def _sg_lists(dma: DmaDomain, out: list, inb: list, split_data: bool):
        """virtio_blk's sgs: header, data, status each its own scatterlist; others one list each."""
        cpu = lambda bufs: [(dma.cpu(a), n) for a, n in bufs]  # noqa: E731
        if split_data:
            outs = [cpu(out[:1])] + ([cpu(out[1:])] if out[1:] else [])
            ins = ([cpu(inb[:-1])] if inb[:-1] else []) + [cpu(inb[-1:])]
        else:
            outs = [cpu(out)] if out else []
            ins = [cpu(inb)] if inb else []
        return outs, ins

    async def submit(self, requests: Sequence[IoRequest], *, check: bool = True, wait: bool = True) -> None:
        vq = self.vq
        if vq is None or self.core is None:
            raise VirtioError(errno.ENODEV, "driver not probed")
        tr: LinuxRingTransport = self.core.transport
        for req in requests:
            out, inb = req.build(tr.memory, tr.allocator)
            outs, ins = self._sg_lists(tr.vdev.dma, out, inb, isinstance(req, BlkRequest))
            need = len(out) + len(inb)
            token = self.next_token
            self.next_token += 1
            while True:
                ret = vq.add_sgs(outs, ins, token)
                if ret == 0:
                    break
                if ret != -ENOSPC or need > vq.num:
                    req.release(tr.allocator)
                    raise VirtioError(-ret, f"virtqueue_add_sgs: {ret}")
                self._kick()  # the ring is full: kick what is there, wait for room
                await self._wait(lambda: vq.num_free >= need or vq.broken, "waiting for ring space")
            self.inflight[token] = req
        self._kick()
        if not wait:
            return
        await self._wait(lambda: all(r.done for r in requests), "waiting for completion")
        if check:
            for req in requests:
                req.check()

    async def linux_remove(self, core: VirtioCore) -> None:
        """The removal as virtio_console's remove_vqs does it: reset the device (it uses no
        more buffers), take what it did use with virtqueue_get_buf (those requests complete),
        then virtqueue_detach_unused_buf for what it never used (those fail with EIO), then
        del_vqs. A buffer the engine published that get_buf did not return is lost."""
        tr: LinuxRingTransport = core.transport
        await tr.reset()
        await tr.drain_doorbells()
        for vq in list(tr.vqs):
            vq.disable_cb()
            self.vq_done_poll(vq)
            self.lost += lost_buffers(tr.memory.read_u16(vq.used_addr + 2), vq.got)
            while (token := vq.detach_unused_buf()) is not None:
                req = self.inflight.pop(token, None)
                if req is None:
                    self.errors.append(f"vq {vq.index}: detach_unused_buf returned unknown token {token}")
                    continue
                req.aborted = req.done = True
                req.release(tr.allocator)
                self.aborted += 1
        await tr.del_vqs()
        if self.inflight:
            self.errors.append(f"{len(self.inflight)} request(s) neither used nor detached at removal")
        self._progress.set()


    def surprise_remove(self, core: VirtioCore) -> None:
        """The peripheral went away under the driver (rst_ni): no message can be sent. Take
        what the device used, detach the rest, delete the queues (no RESET_VQUEUE)."""
        tr: LinuxRingTransport = core.transport
        for t in tr.doorbells:
            if not t.done():
                t.cancel()
        tr.doorbells.clear()
        for vq in list(tr.vqs):
            vq.disable_cb()
            self.vq_done_poll(vq)
            self.lost += lost_buffers(tr.memory.read_u16(vq.used_addr + 2), vq.got)
            while (token := vq.detach_unused_buf()) is not None:
                req = self.inflight.pop(token, None)
                if req is not None:
                    req.aborted = req.done = True
                    req.release(tr.allocator)
                    self.aborted += 1
            tr._del_vq(vq)
        self._progress.set()


class LinuxBlk(LinuxQueueIo):
    """virtio_blk through Linux's ring: one queue "req.0", requests of header / data / status
    scatterlists (virtblk_add_req), completions in virtblk_done."""

    feature_table = [VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH]

    def __init__(self, *, delayed_cb: bool = False) -> None:
        self._io_init(delayed_cb)
        self.capacity = 0

    async def probe(self, core: VirtioCore) -> None:
        self.core = core
        (self.vq,) = await core.transport.find_vqs([VqInfo("req.0", self.vq_done)])
        self.capacity = await core.cread64(0)  # virtio_cread(capacity): a u64
        await core.device_ready()

    async def remove(self, core: VirtioCore) -> None:
        await self.linux_remove(core)

    def config_changed(self, core: VirtioCore) -> None:
        pass

    async def read(self, sector: int, count: int, segments: int = 1) -> bytes:
        req = BlkRequest.read(sector, count, segments)
        await self.submit([req])
        return req.result

    async def write(self, sector: int, data: bytes, segments: int = 1) -> None:
        await self.submit([BlkRequest.write(sector, data, segments)])

    async def flush(self) -> None:
        await self.submit([BlkRequest.flush()])

    async def get_id(self) -> bytes:
        req = BlkRequest.get_id()
        await self.submit([req])
        return req.result


class LinuxRng(LinuxQueueIo):
    """virtio-rng through Linux's ring: one queue "input"; each read one inbuf
    (virtqueue_add_inbuf + virtqueue_kick), reaped in random_recv_done."""

    feature_table: list[int] = []

    def __init__(self, *, delayed_cb: bool = False) -> None:
        self._io_init(delayed_cb)

    async def probe(self, core: VirtioCore) -> None:
        self.core = core
        (self.vq,) = await core.transport.find_vqs([VqInfo("input", self.vq_done)])
        await core.device_ready()

    async def remove(self, core: VirtioCore) -> None:
        await self.linux_remove(core)

    def config_changed(self, core: VirtioCore) -> None:
        pass

    async def read(self, n: int) -> bytes:
        req = RngRequest(in_len=n)
        await self.submit([req])
        return req.result

    async def read_many(self, sizes: Sequence[int]) -> list[bytes]:
        reqs = [RngRequest(in_len=n) for n in sizes]
        await self.submit(reqs)
        return [r.result for r in reqs]
