"""Driver models bound by the virtio core: what a Linux device driver's probe/remove does on
the transport, and the I/O of blk and rng.

I/O (BlkDriver, RngDriver) works as the Linux drivers do: a request is a chain built in ring
memory (buffers from the transport's allocator), added with add_buf, and the queue is kicked
with SplitVirtqueue.kick (virtqueue_kick: notify only when kick_prepare says the device wants
it). Completion arrives as EVENT_USED -> vring_interrupt -> the driver's queue callback, which
reaps with get_buf (virtblk_done's disable_cb / get_buf / enable_cb loop). The submitter waits
through an injected hook, `wait_until(predicate)` (an async callable that returns once the
predicate is true or it gives up), so no asyncio or cocotb primitive is used here: unit tests
pass a hook that polls / advances the loopback, the simulation one that waits in simulated
time. Without a hook a request that is not complete when its kick returns fails ETIMEDOUT.
Passing a queue `callback` replaces the reaping callback (raw queue use; the I/O methods then
refuse to run).
"""
from __future__ import annotations

import errno
import struct
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional, Sequence

from ..proto.constants import VIRTIO_ID_BLOCK, VIRTIO_ID_RNG
from .blk_defs import (BLK_OUTHDR_FMT, BLK_OUTHDR_SIZE, SECTOR_SIZE, VIRTIO_BLK_F_BLK_SIZE,
                       VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_FLUSH,
                       VIRTIO_BLK_F_GEOMETRY, VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SECURE_ERASE,
                       VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_TOPOLOGY,
                       VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_FLUSH,
                       VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT)
from .driver import VqInfo, VqSpec
from .errors import IoStatusError, VirtioError, VirtqueueError
from .memory import Allocator, Memory
from .virtio_core import VirtioCore
from .virtqueue import Buffer, SplitVirtqueue

WaitUntil = Callable[[Callable[[], bool]], Awaitable[Any]]
STATUS_UNWRITTEN = 0xFF         # the driver's status byte before the device writes it

VIRTIO_BLK_F_ZONED = 17
# virtio_blk's feature tables (drivers/block/virtio_blk.c): the modern one adds ZONED.
BLK_DRIVER_FEATURES_LEGACY = [
    VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_GEOMETRY, VIRTIO_BLK_F_RO,
    VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_CONFIG_WCE,
    VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_F_SECURE_ERASE,
]
BLK_DRIVER_FEATURES = BLK_DRIVER_FEATURES_LEGACY + [VIRTIO_BLK_F_ZONED]

# struct virtio_blk_config member offsets the probe reads (include/uapi/linux/virtio_blk.h).
_CFG_CAPACITY, _CFG_SIZE_MAX, _CFG_SEG_MAX, _CFG_BLK_SIZE = 0, 8, 12, 20
_CFG_PHYS_BLOCK_EXP, _CFG_ALIGNMENT_OFFSET, _CFG_MIN_IO_SIZE, _CFG_OPT_IO_SIZE = 24, 25, 26, 28
_CFG_WCE, _CFG_NUM_QUEUES = 32, 34
_CFG_MAX_DISCARD_SECTORS, _CFG_MAX_DISCARD_SEG, _CFG_DISCARD_SECTOR_ALIGNMENT = 36, 40, 44
_CFG_MAX_WRITE_ZEROES_SECTORS = 48
_CFG_MAX_SECURE_ERASE_SECTORS, _CFG_MAX_SECURE_ERASE_SEG, _CFG_SECURE_ERASE_SECTOR_ALIGNMENT = 60, 64, 68
_CFG_ZONED_MODEL = 92
VIRTIO_BLK_Z_NONE, VIRTIO_BLK_Z_HM, VIRTIO_BLK_Z_HA = 0, 1, 2


@dataclass
class GenericDriver:
    """A driver that reads `config_read_len` bytes of config (virtio_cread_bytes: one-byte gets
    in one generation loop), creates the named queues and sets DRIVER_OK itself (set_ready) or
    leaves it to the core. `validate`, when given, is the driver's validate hook
    (`async validate(core)`, run by the core after finalize_features; it may clear bits of
    core.transport.features or raise VirtioError)."""
    feature_table: list[int] = field(default_factory=list)
    queues: Sequence[VqSpec] = ()
    config_read_len: int = 0
    set_ready: bool = True
    config: bytes = b""
    vqs: list[Optional[SplitVirtqueue]] = field(default_factory=list)
    config_changes: int = 0
    removed: bool = False
    validate: Optional[Callable[[VirtioCore], Awaitable[None]]] = None

    async def probe(self, core: VirtioCore) -> None:
        length = min(self.config_read_len, core.transport.config_size)
        if length:
            self.config = await core.cread_bytes(0, length)
        self.vqs = await core.transport.find_vqs(list(self.queues))
        if self.set_ready:
            await core.device_ready()

    async def remove(self, core: VirtioCore) -> None:
        await core.transport.reset()
        await core.transport.del_vqs()
        self.removed = True

    def config_changed(self, core: VirtioCore) -> None:
        self.config_changes += 1


def split_buffer(addr: int, length: int, segments: int) -> list[Buffer]:
    """[addr, addr + length) as up to `segments` descriptors of near-equal size (none empty)."""
    segments = max(1, min(segments, length))
    base, extra = divmod(length, segments)
    out, pos = [], addr
    for i in range(segments):
        n = base + (i < extra)
        out.append((pos, n))
        pos += n
    return out


@dataclass(eq=False)
class IoRequest:
    """One request chain: what the device reads (`out_data`, may be split in `out_segments`
    descriptors after any header) and how many bytes it may write (`in_len`, in `in_segments`
    descriptors). Filled in on completion: `used_len`, `result` (the writable bytes, cut to
    what the driver type reports), `done`; `aborted` when the driver went away first."""
    out_data: bytes = b""
    in_len: int = 0
    out_segments: int = 1
    in_segments: int = 1
    used_len: Optional[int] = None
    result: bytes = b""
    done: bool = False
    aborted: bool = False
    _allocs: list[int] = field(default_factory=list, repr=False)
    _in_addr: int = field(default=0, repr=False)

    def _alloc(self, alloc: Allocator, size: int, align: int) -> int:
        addr = alloc.alloc(size, align)
        self._allocs.append(addr)
        return addr

    def build(self, mem: Memory, alloc: Allocator) -> tuple[list[Buffer], list[Buffer]]:
        """Allocate and fill the buffers; returns (out_bufs, in_bufs) for add_buf."""
        out: list[Buffer] = []
        inb: list[Buffer] = []
        if self.out_data:
            addr = self._alloc(alloc, len(self.out_data), 8)
            mem.write(addr, self.out_data)
            out += split_buffer(addr, len(self.out_data), self.out_segments)
        if self.in_len:
            self._in_addr = self._alloc(alloc, self.in_len, 8)
            inb += split_buffer(self._in_addr, self.in_len, self.in_segments)
        return out, inb

    def finish(self, mem: Memory, used_len: int) -> None:
        self.used_len = used_len
        self.result = mem.read(self._in_addr, min(used_len, self.in_len)) if self.in_len else b""
        self.done = True

    def release(self, alloc: Allocator) -> None:
        for addr in self._allocs:
            alloc.free(addr)
        self._allocs.clear()

    def check(self) -> None:
        """Raise when the request failed (subclasses check their status)."""
        if self.aborted:
            raise VirtioError(errno.EIO, "request aborted: the driver was removed")


@dataclass(eq=False)
class BlkRequest(IoRequest):
    """A virtio-blk request: header {type, 0, sector} in its own descriptor, OUT data
    (out_segments descriptors), IN data (in_segments descriptors), then a 1-byte status
    descriptor. `status` is the byte the device wrote (None: it wrote none)."""
    type: int = VIRTIO_BLK_T_IN
    sector: int = 0
    status: Optional[int] = None
    _status_addr: int = field(default=0, repr=False)

    @classmethod
    def read(cls, sector: int, count: int, segments: int = 1) -> "BlkRequest":
        return cls(type=VIRTIO_BLK_T_IN, sector=sector, in_len=count * SECTOR_SIZE, in_segments=segments)

    @classmethod
    def write(cls, sector: int, data: bytes, segments: int = 1) -> "BlkRequest":
        return cls(type=VIRTIO_BLK_T_OUT, sector=sector, out_data=bytes(data), out_segments=segments)

    @classmethod
    def flush(cls) -> "BlkRequest":
        return cls(type=VIRTIO_BLK_T_FLUSH)

    @classmethod
    def get_id(cls) -> "BlkRequest":
        return cls(type=VIRTIO_BLK_T_GET_ID, in_len=VIRTIO_BLK_ID_BYTES)

    def build(self, mem: Memory, alloc: Allocator) -> tuple[list[Buffer], list[Buffer]]:
        hdr = self._alloc(alloc, BLK_OUTHDR_SIZE, 8)
        mem.write(hdr, struct.pack(BLK_OUTHDR_FMT, self.type, 0, self.sector))
        out, inb = super().build(mem, alloc)
        self._status_addr = self._alloc(alloc, 1, 1)
        mem.write(self._status_addr, bytes([STATUS_UNWRITTEN]))
        return [(hdr, BLK_OUTHDR_SIZE)] + out, inb + [(self._status_addr, 1)]

    def finish(self, mem: Memory, used_len: int) -> None:
        # The status byte counts only when the device says it wrote something.
        self.status = mem.read(self._status_addr, 1)[0] if used_len else None
        if self.status == STATUS_UNWRITTEN:
            self.status = None
        super().finish(mem, max(used_len - 1, 0))
        self.used_len = used_len

    def check(self) -> None:
        super().check()
        if self.status != VIRTIO_BLK_S_OK:
            raise IoStatusError(self.status, f"blk request type {self.type} sector {self.sector}")


@dataclass(eq=False)
class RngRequest(IoRequest):
    """A virtio-rng request: one writable buffer of in_len bytes; `result` is what the device
    wrote (used_len bytes)."""


class QueueIo:
    """Request plumbing of an I/O driver with one queue (self.vqs[0] after probe)."""

    def _io_init(self, wait_until: Optional[WaitUntil], own_callback: bool) -> None:
        self.core = None
        self.wait_until = wait_until
        self.own_callback = own_callback
        self.inflight: list[IoRequest] = []
        self.completed = 0

    def _queue(self) -> SplitVirtqueue:
        if self.core is None or not self.vqs or self.vqs[0] is None:
            raise VirtioError(errno.ENODEV, "driver not probed")
        if not self.own_callback:
            raise VirtioError(errno.EINVAL, "queue callback replaced: I/O helpers unavailable")
        return self.vqs[0]

    def reap(self, vq: SplitVirtqueue) -> None:
        """virtqueue_get_buf until the queue has nothing used: finish and release each request."""
        mem = self.core.transport.memory
        alloc = self.core.transport.allocator
        while (got := vq.get_buf()) is not None:
            req, length = got
            req.finish(mem, length)
            req.release(alloc)
            if req in self.inflight:
                self.inflight.remove(req)
            self.completed += 1

    def vq_done(self, vq: SplitVirtqueue) -> None:
        """The queue callback (virtblk_done): reap with callbacks off, then re-enable them and
        reap again when buffers slipped in meanwhile."""
        while True:
            vq.disable_cb()
            self.reap(vq)
            if vq.broken or vq.enable_cb():
                return

    async def _wait(self, predicate: Callable[[], bool], what: str) -> None:
        if predicate():
            return
        if self.wait_until is None:
            raise VirtioError(errno.ETIMEDOUT, f"{what}: not complete and no wait hook")
        await self.wait_until(predicate)
        if not predicate():
            raise VirtioError(errno.ETIMEDOUT, what)

    async def _kick(self, vq: SplitVirtqueue) -> None:
        if not await vq.kick():
            raise VirtioError(errno.EIO, f"vq {vq.index}: notify failed")

    async def submit(self, requests: Sequence[IoRequest], *, check: bool = True) -> list[IoRequest]:
        """Put all requests in flight (kicking once per batch that fits the ring; when the ring
        is full, kick and wait for room), then wait until every one is complete. With check,
        the first failed request raises (IoStatusError for an error status)."""
        vq = self._queue()
        mem, alloc = self.core.transport.memory, self.core.transport.allocator
        for req in requests:
            out, inb = req.build(mem, alloc)
            need = len(out) + len(inb)
            if need > vq.num:
                req.release(alloc)
                raise VirtqueueError(errno.ENOSPC, f"{need} descriptors never fit a ring of {vq.num}")
            while True:
                try:
                    await vq.add_buf(out, inb, req)
                    break
                except VirtqueueError as exc:
                    if exc.errno != errno.ENOSPC:
                        req.release(alloc)
                        raise
                await self._kick(vq)
                await self._wait(lambda: vq.num_free >= need or vq.broken, "waiting for ring space")
                if vq.broken:
                    req.release(alloc)
                    raise VirtqueueError(errno.EIO, f"vq {vq.index} is broken")
            self.inflight.append(req)
        await self._kick(vq)
        await self._wait(lambda: all(r.done for r in requests) or vq.broken, "waiting for completion")
        if not all(r.done for r in requests):
            raise VirtqueueError(errno.EIO, f"vq {vq.index} is broken")
        if check:
            for req in requests:
                req.check()
        return list(requests)

    def abort_inflight(self) -> None:
        """After the device was reset and its queues deleted: nothing will complete these."""
        alloc = self.core.transport.allocator if self.core is not None else None
        for req in self.inflight:
            req.aborted = req.done = True
            if alloc is not None:
                req.release(alloc)
        self.inflight.clear()


class BlkDriver(GenericDriver, QueueIo):
    """virtio-blk as the transport sees it, in the order of Linux 6.12's virtblk_probe:
      init_vq: num_queues with virtio_cread_feature(MQ) (one 2-byte get); MQ with 0 queues fails
        (EINVAL); min(num_queues, nr_cpu_ids) queues "req.0".. (`nr_cpu_ids`, default 1; the
        model does I/O on queue 0); find_vqs;
      virtblk_read_limits: seg_max (SEG_MAX), size_max (SIZE_MAX), blk_size (BLK_SIZE),
        physical_block_exp, alignment_offset, min_io_size, opt_io_size (TOPOLOGY),
        discard_sector_alignment, max_discard_sectors, max_discard_seg (DISCARD),
        max_write_zeroes_sectors (WRITE_ZEROES), secure_erase_sector_alignment,
        max_secure_erase_sectors, max_secure_erase_seg (SECURE_ERASE; any of them 0 fails the
        probe with EINVAL after del_vqs), zoned.model (ZONED: host-managed is not modelled and
        fails EOPNOTSUPP, an unknown model EINVAL); each a typed accessor (one get, no
        generation read);
      virtblk_get_cache_mode: wce (CONFIG_WCE, one 1-byte get);
      virtblk_update_capacity: capacity with virtio_cread (a u64: generation, get(0, 8),
        generation);
      virtio_device_ready.
    The values read are kept in `limits`; `capacity` in sectors. I/O: read / write / flush /
    get_id one request at a time, `submit([BlkRequest...])` for many in flight; an error status
    raises IoStatusError (a VirtioError EIO carrying the status)."""

    feature_table_legacy = BLK_DRIVER_FEATURES_LEGACY

    def __init__(self, callback=None, *, wait_until: Optional[WaitUntil] = None, nr_cpu_ids: int = 1) -> None:
        super().__init__(feature_table=list(BLK_DRIVER_FEATURES), queues=[])
        self.callback = callback
        self.nr_cpu_ids = nr_cpu_ids
        self.capacity = 0
        self.limits: dict[str, int] = {}
        self.writeback = False
        self._io_init(wait_until, callback is None)

    async def probe(self, core: VirtioCore) -> None:
        self.core = core
        await self._init_vq(core)
        try:
            await self._read_limits(core)
        except VirtioError:
            await core.transport.del_vqs()          # out_free_vq
            raise
        self.writeback = await self._get_cache_mode(core)
        self.capacity = await core.cread(_CFG_CAPACITY, 8)   # virtblk_update_capacity
        await core.device_ready()

    async def _init_vq(self, core: VirtioCore) -> None:
        num_vqs = await core.cread_feature(VIRTIO_BLK_F_MQ, _CFG_NUM_QUEUES, 2)
        if num_vqs == 0:
            raise VirtioError(errno.EINVAL, "MQ advertised but zero queues reported")
        num_vqs = min(self.nr_cpu_ids, 1 if num_vqs is None else num_vqs)
        self.queues = [VqInfo(f"req.{i}", self.callback or self.vq_done) for i in range(num_vqs)]
        self.vqs = await core.transport.find_vqs(list(self.queues))

    async def _read_limits(self, core: VirtioCore) -> None:
        lim = self.limits
        reads = [("seg_max", VIRTIO_BLK_F_SEG_MAX, _CFG_SEG_MAX, 4),
                 ("size_max", VIRTIO_BLK_F_SIZE_MAX, _CFG_SIZE_MAX, 4),
                 ("blk_size", VIRTIO_BLK_F_BLK_SIZE, _CFG_BLK_SIZE, 4),
                 ("physical_block_exp", VIRTIO_BLK_F_TOPOLOGY, _CFG_PHYS_BLOCK_EXP, 1),
                 ("alignment_offset", VIRTIO_BLK_F_TOPOLOGY, _CFG_ALIGNMENT_OFFSET, 1),
                 ("min_io_size", VIRTIO_BLK_F_TOPOLOGY, _CFG_MIN_IO_SIZE, 2),
                 ("opt_io_size", VIRTIO_BLK_F_TOPOLOGY, _CFG_OPT_IO_SIZE, 4)]
        for name, bit, offset, size in reads:
            value = await core.cread_feature(bit, offset, size)
            if value is not None:
                lim[name] = value
        if core.has_feature(VIRTIO_BLK_F_DISCARD):
            for name, offset in (("discard_sector_alignment", _CFG_DISCARD_SECTOR_ALIGNMENT),
                                 ("max_discard_sectors", _CFG_MAX_DISCARD_SECTORS),
                                 ("max_discard_seg", _CFG_MAX_DISCARD_SEG)):
                lim[name] = await core.cread(offset, 4)
        if core.has_feature(VIRTIO_BLK_F_WRITE_ZEROES):
            lim["max_write_zeroes_sectors"] = await core.cread(_CFG_MAX_WRITE_ZEROES_SECTORS, 4)
        if core.has_feature(VIRTIO_BLK_F_SECURE_ERASE):
            for name, offset in (("secure_erase_sector_alignment", _CFG_SECURE_ERASE_SECTOR_ALIGNMENT),
                                 ("max_secure_erase_sectors", _CFG_MAX_SECURE_ERASE_SECTORS),
                                 ("max_secure_erase_seg", _CFG_MAX_SECURE_ERASE_SEG)):
                lim[name] = await core.cread(offset, 4)
                if not lim[name]:
                    raise VirtioError(errno.EINVAL, f"virtio_blk: {name} can't be 0")
        if core.has_feature(VIRTIO_BLK_F_ZONED):
            model = lim["zoned_model"] = await core.cread(_CFG_ZONED_MODEL, 1)
            if model == VIRTIO_BLK_Z_HM:
                raise VirtioError(errno.EOPNOTSUPP, "host-managed zoned limits are not modelled")
            if model not in (VIRTIO_BLK_Z_NONE, VIRTIO_BLK_Z_HA):
                raise VirtioError(errno.EINVAL, f"unsupported zone model {model}")

    async def _get_cache_mode(self, core: VirtioCore) -> bool:
        wce = await core.cread_feature(VIRTIO_BLK_F_CONFIG_WCE, _CFG_WCE, 1)
        if wce is None:
            return core.has_feature(VIRTIO_BLK_F_FLUSH)
        return bool(wce)

    async def remove(self, core: VirtioCore) -> None:
        await super().remove(core)
        self.abort_inflight()

    # --- I/O (virtio_blk requests) -------------------------------------------------------------
    async def read(self, sector: int, count: int, *, segments: int = 1) -> bytes:
        """count sectors from `sector`; the data lands in `segments` descriptors."""
        req = BlkRequest.read(sector, count, segments)
        await self.submit([req])
        return req.result

    async def write(self, sector: int, data: bytes, *, segments: int = 1) -> None:
        await self.submit([BlkRequest.write(sector, data, segments)])

    async def flush(self) -> None:
        await self.submit([BlkRequest.flush()])

    async def get_id(self) -> bytes:
        """The device's 20-byte id string (zero padded)."""
        req = BlkRequest.get_id()
        await self.submit([req])
        return req.result


class RngDriver(GenericDriver, QueueIo):
    """virtio-rng (drivers/char/hw_random/virtio-rng.c probe_common): no features, no config
    read; find_vqs with one queue "input"; virtio_device_ready. read(n) as hwrng's read. (The
    kernel then queues one entropy request of its own; the model queues buffers only when asked.)"""

    def __init__(self, callback=None, *, wait_until: Optional[WaitUntil] = None) -> None:
        super().__init__(feature_table=[], queues=[VqInfo("input", callback or self.vq_done)])
        self._io_init(wait_until, callback is None)

    async def probe(self, core: VirtioCore) -> None:
        self.core = core
        await super().probe(core)

    async def remove(self, core: VirtioCore) -> None:
        await super().remove(core)
        self.abort_inflight()

    async def read(self, n: int) -> bytes:
        """One buffer of n bytes; returns the bytes the device wrote (used length)."""
        req = RngRequest(in_len=n)
        await self.submit([req])
        return req.result

    async def read_many(self, sizes: Sequence[int]) -> list[bytes]:
        """Several buffers in flight at once."""
        reqs = [RngRequest(in_len=n) for n in sizes]
        await self.submit(reqs)
        return [r.result for r in reqs]


# Default driver table of the bus driver: virtio device id -> driver factory.
DEFAULT_DRIVERS = {VIRTIO_ID_BLOCK: BlkDriver, VIRTIO_ID_RNG: RngDriver}
