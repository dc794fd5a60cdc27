"""ctypes wrapper of Linux's virtio_ring.c (the userspace build of sim/vmsgsim/linux.py).

`LinuxRing` loads the library once per process. `DmaDomain` is the DMA side of one memory
(a plain, fixed buffer such as the AXI memory model's): it hands out coherent ring memory
and maps buffers for the ring code (glue.c's hooks call back into it). `LinuxVirtqueue` is
one `struct virtqueue` made by `vring_create_virtqueue`, with the driver-side API of
virtio_ring.c: add_sgs, kick_prepare / notify, get_buf, disable_cb / enable_cb /
enable_cb_delayed, vring_interrupt, detach_unused_buf, del.

Rules this wrapper keeps:
- virtio_ring has no locking: call it from one thread only (cocotb's);
- ctypes swallows (prints) exceptions raised in callbacks: every callback stores its
  exception and the C call that led to it re-raises it on return (`Trap`);
- callback objects stay referenced as long as C may call them;
- a notify callback must not block or await: the caller's `notify` function returns at once
  (the testbench schedules its doorbell write).
"""

from __future__ import annotations

import ctypes
from ctypes import CFUNCTYPE, POINTER, c_bool, c_char, c_char_p, c_int, c_uint, c_uint64, c_void_p
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

IRQ_NONE, IRQ_HANDLED = 0, 1
DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE = 0, 1, 2
ERR = (1 << 64) - 1
PAGE_SIZE = 4096
ENOSPC, ENOMEM, EINVAL, EIO = 28, 12, 22, 5

NOTIFY_FN = CFUNCTYPE(c_bool, c_void_p)
CALLBACK_FN = CFUNCTYPE(None, c_void_p)
ALLOC_FN = CFUNCTYPE(c_uint64, c_uint64)
FREE_FN = CFUNCTYPE(None, c_uint64, c_uint64)
MAP_FN = CFUNCTYPE(c_uint64, c_uint64, c_uint64, c_int)
UNMAP_FN = CFUNCTYPE(None, c_uint64, c_uint64, c_int)


class Trap:
    """Exceptions raised inside ctypes callbacks, re-raised by the C call's wrapper."""

    def __init__(self) -> None:
        self.pending: Optional[BaseException] = None

    def wrap(self, fn: Callable, on_error):
        def inner(*args):
            try:
                return fn(*args)
            except BaseException as exc:  # noqa: BLE001 - re-raised after the C call returns
                if self.pending is None:
                    self.pending = exc
                return on_error
        return inner

    def check(self) -> None:
        exc, self.pending = self.pending, None
        if exc is not None:
            raise exc


class LinuxRing:
    """The loaded library (one per process)."""

    _instance: Optional["LinuxRing"] = None

    def __init__(self, path: Optional[str] = None) -> None:
        if path is None:
            from vmsgsim import linux
            path = str(linux.ensure())
        self.path = path
        self.lib = lib = ctypes.CDLL(path)
        self.trap = Trap()
        sig = {
            "vmsg_dma_new": (c_void_p, [c_void_p, c_uint64, ALLOC_FN, FREE_FN, MAP_FN, UNMAP_FN]),
            "vmsg_dma_delete": (None, [c_void_p]),
            "vmsg_vdev_new": (c_void_p, [c_void_p, c_uint64]),
            "vmsg_vdev_delete": (None, [c_void_p]),
            "vmsg_vdev_features": (c_uint64, [c_void_p]),
            "vmsg_vdev_set_features": (None, [c_void_p, c_uint64]),
            "vmsg_vq_index": (c_uint, [c_void_p]),
            "vmsg_vq_num_free": (c_uint, [c_void_p]),
            "vmsg_create_virtqueue": (c_void_p, [c_uint, c_uint, c_uint, c_void_p, c_bool, NOTIFY_FN,
                                                 CALLBACK_FN, c_char_p]),
            "vmsg_add_sgs": (c_int, [c_void_p, c_uint, c_uint, POINTER(c_uint), POINTER(c_void_p),
                                     POINTER(c_uint), c_void_p]),
            "vring_transport_features": (None, [c_void_p]),
            "vring_del_virtqueue": (None, [c_void_p]),
            "vring_interrupt": (c_int, [c_int, c_void_p]),
            "vring_notification_data": (ctypes.c_uint32, [c_void_p]),
            "virtqueue_kick_prepare": (c_bool, [c_void_p]),
            "virtqueue_notify": (c_bool, [c_void_p]),
            "virtqueue_kick": (c_bool, [c_void_p]),
            "virtqueue_get_buf": (c_void_p, [c_void_p, POINTER(c_uint)]),
            "virtqueue_disable_cb": (None, [c_void_p]),
            "virtqueue_enable_cb": (c_bool, [c_void_p]),
            "virtqueue_enable_cb_delayed": (c_bool, [c_void_p]),
            "virtqueue_enable_cb_prepare": (c_uint, [c_void_p]),
            "virtqueue_poll": (c_bool, [c_void_p, c_uint]),
            "virtqueue_detach_unused_buf": (c_void_p, [c_void_p]),
            "virtqueue_get_vring_size": (c_uint, [c_void_p]),
            "virtqueue_is_broken": (c_bool, [c_void_p]),
            "virtqueue_get_desc_addr": (c_uint64, [c_void_p]),
            "virtqueue_get_avail_addr": (c_uint64, [c_void_p]),
            "virtqueue_get_used_addr": (c_uint64, [c_void_p]),
        }
        for name, (res, args) in sig.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args

    @classmethod
    def get(cls) -> "LinuxRing":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def call(self, name: str, *args):
        """A C call; an exception a callback raised during it is raised here."""
        try:
            return getattr(self.lib, name)(*args)
        finally:
            self.trap.check()


class RegionAllocator:
    """First-fit allocator of [start, end) with a free list (ring memory, bounce slots)."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.free_list: list[tuple[int, int]] = [(start, end)]
        self.used: dict[int, int] = {}

    def alloc(self, size: int, align: int = 16) -> Optional[int]:
        size = max(size, 1)
        for i, (lo, hi) in enumerate(self.free_list):
            a = (lo + align - 1) // align * align
            if a + size <= hi:
                parts = [(lo, a)] if a > lo else []
                if a + size < hi:
                    parts.append((a + size, hi))
                self.free_list[i:i + 1] = parts
                self.used[a] = size
                return a
        return None

    def free(self, addr: int) -> None:
        size = self.used.pop(addr)
        self.free_list.append((addr, addr + size))
        self.free_list.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in self.free_list:
            if merged and merged[-1][1] >= lo:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        self.free_list = merged


@dataclass
class DmaStats:
    maps: int = 0
    unmaps: int = 0
    bounces: int = 0
    coherent: int = 0


def plain_buffer(size: int):
    """A plain, page-aligned, zeroed, fixed-size buffer (anonymous mmap) that C can address
    and cocotbext-axi's Memory can use instead of its sparse default."""
    import mmap

    return mmap.mmap(-1, size)


class DmaDomain:
    """DMA of one memory buffer (page aligned, see plain_buffer): bus address = offset in `buf` (the AXI memory model's
    addresses). Coherent allocations (rings) come from [coherent_lo, coherent_hi), bounce
    slots (buffers outside the memory, e.g. indirect tables from kmalloc) from
    [bounce_lo, bounce_hi). Mapping a pointer inside the buffer is a translation."""

    def __init__(self, ring: LinuxRing, buf, coherent: tuple[int, int], bounce: tuple[int, int]) -> None:
        self.ring = ring
        self.buf = buf
        self.size = len(buf)
        self._view = (c_char * self.size).from_buffer(buf)  # pins the buffer's storage
        self.base = ctypes.addressof(self._view)
        if self.base % PAGE_SIZE:
            # vring_init aligns the used ring on the host pointer: bus and host alignment must agree.
            raise ValueError("the memory buffer must be page aligned (use plain_buffer())")
        self.coherent = RegionAllocator(*coherent)
        self.bounce = RegionAllocator(*bounce)
        self.bounced: dict[int, tuple[int, int, int]] = {}   # bus -> (cpu, size, dir)
        self.mapped: dict[tuple[int, int], int] = {}          # (bus, size) -> count
        self.stats = DmaStats()
        self.errors: list[str] = []
        t = ring.trap
        self._cbs = (ALLOC_FN(t.wrap(self._alloc, ERR)), FREE_FN(t.wrap(self._free, None)),
                     MAP_FN(t.wrap(self._map, ERR)), UNMAP_FN(t.wrap(self._unmap, None)))
        self.ptr = ring.call("vmsg_dma_new", self.base, self.size, *self._cbs)
        if not self.ptr:
            raise MemoryError("vmsg_dma_new")

    def cpu(self, bus: int) -> int:
        """Host pointer of a bus address."""
        if not 0 <= bus < self.size:
            raise ValueError(f"bus address {bus:#x} outside the memory")
        return self.base + bus

    def close(self) -> None:
        if self.ptr:
            self.ring.call("vmsg_dma_delete", self.ptr)
            self.ptr = None

    def outstanding(self) -> int:
        return sum(self.mapped.values()) + len(self.bounced)

    # -- hooks (called from C) -------------------------------------------------------------
    def _alloc(self, size: int) -> int:
        bus = self.coherent.alloc(size, PAGE_SIZE)
        if bus is None:
            return ERR
        self.buf[bus:bus + size] = bytes(size)  # dma_alloc_coherent returns zeroed memory
        self.stats.coherent += 1
        return bus

    def _free(self, bus: int, size: int) -> None:
        if self.coherent.used.get(bus) != size:
            self.errors.append(f"dma_free_coherent({bus:#x}, {size}) of no such allocation")
            return
        self.coherent.free(bus)

    def _map(self, cpu: int, size: int, direction: int) -> int:
        self.stats.maps += 1
        if self.base <= cpu and cpu + size <= self.base + self.size:
            bus = cpu - self.base
            self.mapped[(bus, size)] = self.mapped.get((bus, size), 0) + 1
            return bus
        bus = self.bounce.alloc(size, 16)
        if bus is None:
            self.errors.append(f"bounce area full ({size} bytes asked)")
            return ERR
        if direction in (DMA_TO_DEVICE, DMA_BIDIRECTIONAL):
            self.buf[bus:bus + size] = ctypes.string_at(cpu, size)
        self.bounced[bus] = (cpu, size, direction)
        self.stats.bounces += 1
        return bus

    def _unmap(self, bus: int, size: int, direction: int) -> None:
        self.stats.unmaps += 1
        if bus in self.bounced:
            cpu, n, d = self.bounced.pop(bus)
            if n != size or d != direction:
                self.errors.append(f"unmap of bounce {bus:#x}: size/dir {size}/{direction}, mapped {n}/{d}")
            if d in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
                ctypes.memmove(cpu, self.base + bus, n)
            self.bounce.free(bus)
            return
        key = (bus, size)
        if not self.mapped.get(key):
            self.errors.append(f"unmap of {bus:#x}+{size}: not mapped")
            return
        self.mapped[key] -= 1
        if not self.mapped[key]:
            del self.mapped[key]


class LinuxVdev:
    """tools/virtio's struct virtio_device: the negotiated features and the DMA device."""

    def __init__(self, ring: LinuxRing, dma: DmaDomain, features: int = 0) -> None:
        self.ring = ring
        self.dma = dma
        self.ptr = ring.call("vmsg_vdev_new", dma.ptr, features)

    @property
    def features(self) -> int:
        return self.ring.call("vmsg_vdev_features", self.ptr)

    @features.setter
    def features(self, value: int) -> None:
        self.ring.call("vmsg_vdev_set_features", self.ptr, value)

    def transport_features(self, features: int) -> int:
        """vring_transport_features() of this Linux on `features`."""
        self.features = features
        self.ring.call("vring_transport_features", self.ptr)
        return self.features

    def close(self) -> None:
        if self.ptr:
            self.ring.call("vmsg_vdev_delete", self.ptr)
            self.ptr = None


@dataclass
class IrqStats:
    handled: int = 0
    none: int = 0
    log: list = field(default_factory=list)  # (used_idx seen in memory, handled)


class LinuxVirtqueue:
    """One virtqueue of Linux's ring code. `notify(vq) -> bool` must return at once;
    `callback(vq)` runs inside vring_interrupt (the driver's virtqueue callback)."""

    def __init__(self, vdev: LinuxVdev, index: int, num: int, *, align: int = PAGE_SIZE,
                 may_reduce_num: bool = True, name: str = "",
                 notify: Callable[["LinuxVirtqueue"], bool],
                 callback: Optional[Callable[["LinuxVirtqueue"], None]] = None) -> None:
        self.ring = ring = vdev.ring
        self.vdev = vdev
        self.name = name
        self._notify = notify
        self._callback = callback
        self._name = name.encode()
        t = ring.trap
        self._c_notify = NOTIFY_FN(t.wrap(lambda _p: bool(self._notify(self)), False))
        self._c_callback = CALLBACK_FN(t.wrap(self._on_callback, None)) if callback else ctypes.cast(None, CALLBACK_FN)
        self.ptr = ring.call("vmsg_create_virtqueue", index, num, align, vdev.ptr, may_reduce_num,
                             self._c_notify, self._c_callback, self._name)
        if not self.ptr:
            raise MemoryError(f"vring_create_virtqueue({index}, {num}) failed")
        self.index = index
        self.num = ring.call("virtqueue_get_vring_size", self.ptr)
        self.num_max = num
        self.desc_addr = ring.call("virtqueue_get_desc_addr", self.ptr)
        self.avail_addr = ring.call("virtqueue_get_avail_addr", self.ptr)
        self.used_addr = ring.call("virtqueue_get_used_addr", self.ptr)
        self.irq = IrqStats()
        self.irq_observer: Optional[Callable[["LinuxVirtqueue", bool], None]] = None
        self.added = 0
        self.got = 0
        self.detached = 0
        self.kicks = 0

    def _on_callback(self, _p) -> None:
        assert self._callback is not None
        self._callback(self)

    def _c(self, name: str, *args):
        if not self.ptr:
            raise RuntimeError(f"{name} on a deleted virtqueue")
        return self.ring.call(name, self.ptr, *args)

    # -- driver API --------------------------------------------------------------------------
    def add_sgs(self, out: Sequence[Sequence[tuple[int, int]]], in_: Sequence[Sequence[tuple[int, int]]],
                token: int) -> int:
        """virtqueue_add_sgs: `out` / `in_` are scatterlists of (host pointer, length); returns
        0 or -errno (-ENOSPC when the ring is full)."""
        if token <= 0:
            raise ValueError("the token (data) must be non-zero")
        lists = list(out) + list(in_)
        counts = (c_uint * max(len(lists), 1))(*[len(sg) for sg in lists])
        flat = [b for sg in lists for b in sg]
        bufs = (c_void_p * max(len(flat), 1))(*[p for p, _ in flat])
        lens = (c_uint * max(len(flat), 1))(*[n for _, n in flat])
        ret = self._c("vmsg_add_sgs", len(out), len(in_), counts, bufs, lens, c_void_p(token))
        if ret == 0:
            self.added += 1
        return ret

    def kick_prepare(self) -> bool:
        return self._c("virtqueue_kick_prepare")

    def notify(self) -> bool:
        """virtqueue_notify: calls the notify function (EVENT_AVAIL)."""
        self.kicks += 1
        return self._c("virtqueue_notify")

    def kick(self) -> bool:
        """virtqueue_kick: kick_prepare, then notify when needed."""
        if self.kick_prepare():
            return self.notify()
        return True

    def get_buf(self) -> Optional[tuple[int, int]]:
        n = c_uint(0)
        token = self._c("virtqueue_get_buf", ctypes.byref(n))
        if not token:
            return None
        self.got += 1
        return token, n.value

    def disable_cb(self) -> None:
        self._c("virtqueue_disable_cb")

    def enable_cb(self) -> bool:
        return self._c("virtqueue_enable_cb")

    def enable_cb_delayed(self) -> bool:
        return self._c("virtqueue_enable_cb_delayed")

    def enable_cb_prepare(self) -> int:
        return self._c("virtqueue_enable_cb_prepare")

    def poll(self, last_used_idx: int) -> bool:
        return self._c("virtqueue_poll", last_used_idx)

    def notification_data(self) -> int:
        return self._c("vring_notification_data")

    @property
    def num_free(self) -> int:
        return self._c("vmsg_vq_num_free")

    @property
    def broken(self) -> bool:
        return self._c("virtqueue_is_broken")

    def interrupt(self) -> bool:
        """vring_interrupt: True for IRQ_HANDLED, False for IRQ_NONE (counted)."""
        if not self.ptr:
            raise RuntimeError("vring_interrupt on a deleted virtqueue")
        handled = self.ring.call("vring_interrupt", 0, self.ptr) == IRQ_HANDLED
        if handled:
            self.irq.handled += 1
        else:
            self.irq.none += 1
        if self.irq_observer is not None:
            self.irq_observer(self, handled)
        return handled

    def detach_unused_buf(self) -> Optional[int]:
        token = self._c("virtqueue_detach_unused_buf")
        if token:
            self.detached += 1
        return token or None

    def delete(self) -> None:
        """vring_del_virtqueue (frees the ring through dma_free_coherent)."""
        if self.ptr:
            self.ring.call("vring_del_virtqueue", self.ptr)
            self.ptr = None
