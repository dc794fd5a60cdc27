"""Driver side of a split virtqueue in a memory model, as Linux's virtio_ring.c builds it.

Layout (vring_init): descriptor table (16 bytes each), avail ring right after it, used ring at
the next `align` boundary. The bookkeeping (free list through desc_extra, avail/flags shadows,
last_used_idx, num_added) follows the kernel's split-ring code so that the bytes written to
memory, the kick decisions and the used_event values are the ones Linux would produce.
"""
from __future__ import annotations

import errno
import struct
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, Sequence

from ..proto.constants import (VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE,
                               VRING_USED_F_NO_NOTIFY)
from .errors import VirtqueueError
from .memory import Allocator, Memory, read_u16, read_u32, write_u16

DESC_SIZE = 16
USED_ELEM_SIZE = 8
MAX_QUEUE_SIZE = 32768          # largest split queue size virtio 1.x allows
U16 = 0xFFFF

Buffer = tuple[int, int]        # (address, length)
NotifyFn = Callable[["SplitVirtqueue"], Awaitable[bool]]
CallbackFn = Callable[["SplitVirtqueue"], None]


def align_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def vring_need_event(event_idx: int, new_idx: int, old: int) -> bool:
    """virtio 1.x: notify when new_idx moved past event_idx since old (all u16, wrapping)."""
    return ((new_idx - event_idx - 1) & U16) < ((new_idx - old) & U16)


def vring_size(num: int, align: int) -> int:
    """Bytes of a split ring of num entries with the used ring aligned to align."""
    avail_end = num * DESC_SIZE + 2 * (3 + num)          # desc table, avail flags/idx/ring/used_event
    return align_up(avail_end, align) + 2 * 3 + USED_ELEM_SIZE * num


@dataclass(frozen=True)
class VringLayout:
    """Addresses of one split ring."""
    num: int
    desc: int
    avail: int
    used: int
    size: int

    @classmethod
    def at(cls, base: int, num: int, align: int) -> "VringLayout":
        avail = base + num * DESC_SIZE
        used = align_up(avail + 2 * (2 + num) + 2, align)
        return cls(num, base, avail, used, vring_size(num, align))

    # descriptor table
    def desc_entry(self, i: int) -> int:
        return self.desc + DESC_SIZE * i

    # avail ring (driver area)
    @property
    def avail_flags(self) -> int:
        return self.avail

    @property
    def avail_idx(self) -> int:
        return self.avail + 2

    def avail_ring(self, i: int) -> int:
        return self.avail + 4 + 2 * i

    @property
    def used_event(self) -> int:
        return self.avail + 4 + 2 * self.num

    # used ring (device area)
    @property
    def used_flags(self) -> int:
        return self.used

    @property
    def used_idx(self) -> int:
        return self.used + 2

    def used_elem(self, i: int) -> int:
        return self.used + 4 + USED_ELEM_SIZE * i

    @property
    def avail_event(self) -> int:
        return self.used + 4 + USED_ELEM_SIZE * self.num


@dataclass
class _DescExtra:
    """The driver's private copy of each descriptor (Linux: struct vring_desc_extra)."""
    addr: int = 0
    len: int = 0
    flags: int = 0
    next: int = 0


class SplitVirtqueue:
    """One split virtqueue of the driver.

    `notify` is the transport's notify function (an EVENT_AVAIL); `callback` runs from
    `interrupt()` (the transport's EVENT_USED handling). Memory is zeroed at creation like the
    kernel's coherent DMA allocation.
    """

    def __init__(self, index: int, layout: VringLayout, memory: Memory, allocator: Allocator | None,
                 *, event_idx: bool, notify: NotifyFn, callback: CallbackFn | None = None,
                 name: str = "") -> None:
        self.index = index
        self.layout = layout
        self.num = layout.num
        self.mem = memory
        self.allocator = allocator
        self.event = event_idx
        self._notify = notify
        self.callback = callback
        self.name = name
        self.num_max = layout.num         # set by the transport to the device's max_size
        self.broken = False
        self.deleted = False
        self.event_triggered = False
        self.errors: list[str] = []

        self.memory_zero()
        # Free list threads through desc_extra[i].next (i -> i+1; the last one's next is 0).
        self.extra = [_DescExtra(next=i + 1 if i + 1 < self.num else 0) for i in range(self.num)]
        self.desc_state: list[Any] = [None] * self.num
        self.free_head = 0
        self.num_free = self.num
        self.avail_idx_shadow = 0
        self.avail_flags_shadow = 0
        self.last_used_idx = 0
        self.num_added = 0
        # No callback: the driver does not want used-buffer notifications at all.
        if callback is None:
            self.avail_flags_shadow |= VRING_AVAIL_F_NO_INTERRUPT
            if not self.event:
                write_u16(self.mem, layout.avail_flags, self.avail_flags_shadow)

    @classmethod
    def create(cls, index: int, num: int, memory: Memory, allocator: Allocator, *, align: int = 4096,
               may_reduce_num: bool = True, **kwargs: Any) -> "SplitVirtqueue":
        """vring_create_virtqueue for a split ring: num must be a power of two; when the
        allocation fails (or num exceeds the spec maximum) a smaller ring is tried if allowed.
        Fails with ENOMEM like the kernel transport does for a NULL virtqueue."""
        if num == 0 or num & (num - 1):
            raise VirtqueueError(errno.ENOMEM, f"bad virtqueue length {num}")
        while num:
            if num <= MAX_QUEUE_SIZE:
                try:
                    base = allocator.alloc(vring_size(num, align), align)
                    return cls(index, VringLayout.at(base, num, align), memory, allocator, **kwargs)
                except MemoryError:
                    pass
            if not may_reduce_num:
                break
            num //= 2
        raise VirtqueueError(errno.ENOMEM, "no memory for the vring")

    def memory_zero(self) -> None:
        self.mem.write(self.layout.desc, bytes(self.layout.size))

    # --- addresses the transport sends in SET_VQUEUE -------------------------------------------
    @property
    def desc_addr(self) -> int:
        return self.layout.desc

    @property
    def avail_addr(self) -> int:
        return self.layout.avail

    @property
    def used_addr(self) -> int:
        return self.layout.used

    # --- adding buffers ------------------------------------------------------------------------
    async def add_buf(self, out_bufs: Sequence[Buffer], in_bufs: Sequence[Buffer], token: Any) -> None:
        """virtqueue_add (split, direct descriptors): out buffers (device reads) then in
        buffers (device writes), chained, exposed in the avail ring. ENOSPC when the free list
        is too short (the kernel then notifies if there were out buffers), EIO when broken."""
        if token is None:
            raise ValueError("a buffer needs a token (the kernel's data pointer must not be NULL)")
        total = len(out_bufs) + len(in_bufs)
        if total == 0:
            raise ValueError("a buffer needs at least one descriptor")
        if self.broken:
            raise VirtqueueError(errno.EIO, f"vq {self.index} is broken")
        if self.num_free < total:
            # Historical kernel behaviour: force a notify so the device frees some space.
            if out_bufs:
                await self._notify(self)
            raise VirtqueueError(errno.ENOSPC, f"vq {self.index}: {total} descriptors, {self.num_free} free")

        head = i = self.free_head
        prev = i
        chain = [(addr, length, VRING_DESC_F_NEXT) for addr, length in out_bufs]
        chain += [(addr, length, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE) for addr, length in in_bufs]
        for addr, length, flags in chain:
            prev = i
            i = self._write_desc(i, addr, length, flags)
        # The last descriptor does not continue.
        self.extra[prev].flags &= ~VRING_DESC_F_NEXT
        write_u16(self.mem, self.layout.desc_entry(prev) + 12, self.extra[prev].flags)

        self.num_free -= total
        self.free_head = self.extra[prev].next
        self.desc_state[head] = token

        slot = self.avail_idx_shadow & (self.num - 1)
        write_u16(self.mem, self.layout.avail_ring(slot), head)
        # The ring entry is written before the index that exposes it.
        self.avail_idx_shadow = (self.avail_idx_shadow + 1) & U16
        write_u16(self.mem, self.layout.avail_idx, self.avail_idx_shadow)
        self.num_added += 1
        # Very unlikely but possible: kick so that num_added cannot wrap.
        if self.num_added == U16:
            await self.kick()

    def _write_desc(self, i: int, addr: int, length: int, flags: int) -> int:
        nxt = self.extra[i].next
        self.mem.write(self.layout.desc_entry(i), struct.pack("<QIHH", addr, length, flags, nxt))
        self.extra[i].addr, self.extra[i].len, self.extra[i].flags = addr, length, flags
        return nxt

    # --- kicking -------------------------------------------------------------------------------
    def kick_prepare(self) -> bool:
        """virtqueue_kick_prepare: does the device want a notification for what was added?"""
        old = (self.avail_idx_shadow - self.num_added) & U16
        new = self.avail_idx_shadow
        self.num_added = 0
        if self.event:
            return vring_need_event(read_u16(self.mem, self.layout.avail_event), new, old)
        return not (read_u16(self.mem, self.layout.used_flags) & VRING_USED_F_NO_NOTIFY)

    async def notify(self) -> bool:
        """virtqueue_notify: a failed notify marks the queue broken."""
        if self.broken:
            return False
        if not await self._notify(self):
            self.broken = True
            return False
        return True

    async def kick(self) -> bool:
        if self.kick_prepare():
            return await self.notify()
        return True

    def notification_data(self) -> int:
        """vring_notification_data for a split ring: next avail idx << 16 | queue index."""
        return (self.avail_idx_shadow << 16) | self.index

    # --- reaping used buffers ------------------------------------------------------------------
    def used_idx(self) -> int:
        return read_u16(self.mem, self.layout.used_idx)

    def more_used(self) -> bool:
        return self.last_used_idx != self.used_idx()

    def get_buf(self) -> Optional[tuple[Any, int]]:
        """virtqueue_get_buf: (token, len) of the next used buffer, or None. A bad id breaks
        the queue (BAD_RING). Writes used_event = last_used_idx while callbacks are on."""
        if self.broken or not self.more_used():
            return None
        slot = self.last_used_idx & (self.num - 1)
        elem = self.layout.used_elem(slot)
        head, length = read_u32(self.mem, elem), read_u32(self.mem, elem + 4)
        if head >= self.num:
            return self._bad_ring(f"id {head} out of range")
        if self.desc_state[head] is None:
            return self._bad_ring(f"id {head} is not a head")
        token = self.desc_state[head]
        self._detach(head)
        self.last_used_idx = (self.last_used_idx + 1) & U16
        if not (self.avail_flags_shadow & VRING_AVAIL_F_NO_INTERRUPT):
            write_u16(self.mem, self.layout.used_event, self.last_used_idx)
        return token, length

    def _bad_ring(self, why: str) -> None:
        self.errors.append(why)
        self.broken = True
        return None

    def _detach(self, head: int) -> None:
        self.desc_state[head] = None
        i = head
        while self.extra[i].flags & VRING_DESC_F_NEXT:
            i = self.extra[i].next
            self.num_free += 1
        self.extra[i].next = self.free_head
        self.free_head = head
        self.num_free += 1

    def detach_unused_buf(self) -> Any:
        """virtqueue_detach_unused_buf: take back one buffer the device never used."""
        for head in range(self.num):
            if self.desc_state[head] is None:
                continue
            token = self.desc_state[head]
            self._detach(head)
            self.avail_idx_shadow = (self.avail_idx_shadow - 1) & U16
            write_u16(self.mem, self.layout.avail_idx, self.avail_idx_shadow)
            return token
        return None

    # --- used-buffer notifications -------------------------------------------------------------
    def disable_cb(self) -> None:
        """virtqueue_disable_cb: with EVENT_IDX used_event is set to 0 (the kernel's own
        'hack'), otherwise VRING_AVAIL_F_NO_INTERRUPT is published."""
        if self.avail_flags_shadow & VRING_AVAIL_F_NO_INTERRUPT:
            return
        self.avail_flags_shadow |= VRING_AVAIL_F_NO_INTERRUPT
        # The device already raised an event and will not raise another: nothing to publish.
        if self.event_triggered:
            return
        if self.event:
            write_u16(self.mem, self.layout.used_event, 0)
        else:
            write_u16(self.mem, self.layout.avail_flags, self.avail_flags_shadow)

    def enable_cb_prepare(self) -> int:
        """virtqueue_enable_cb_prepare: callbacks on, used_event = last_used_idx; returns the
        index to poll against."""
        self.event_triggered = False
        if self.avail_flags_shadow & VRING_AVAIL_F_NO_INTERRUPT:
            self.avail_flags_shadow &= ~VRING_AVAIL_F_NO_INTERRUPT
            if not self.event:
                write_u16(self.mem, self.layout.avail_flags, self.avail_flags_shadow)
        write_u16(self.mem, self.layout.used_event, self.last_used_idx)
        return self.last_used_idx

    def poll(self, last_used_idx: int) -> bool:
        """virtqueue_poll: True when buffers were used after enable_cb_prepare."""
        return (last_used_idx & U16) != self.used_idx()

    def enable_cb(self) -> bool:
        """virtqueue_enable_cb: False when buffers are pending (the caller must reap again)."""
        return not self.poll(self.enable_cb_prepare())

    def enable_cb_delayed(self) -> bool:
        """virtqueue_enable_cb_delayed: ask for an event after about 3/4 of the outstanding
        buffers are used; False when that many are already used."""
        self.event_triggered = False
        if self.avail_flags_shadow & VRING_AVAIL_F_NO_INTERRUPT:
            self.avail_flags_shadow &= ~VRING_AVAIL_F_NO_INTERRUPT
            if not self.event:
                write_u16(self.mem, self.layout.avail_flags, self.avail_flags_shadow)
        bufs = ((self.avail_idx_shadow - self.last_used_idx) & U16) * 3 // 4
        write_u16(self.mem, self.layout.used_event, self.last_used_idx + bufs)
        return ((self.used_idx() - self.last_used_idx) & U16) <= bufs

    def interrupt(self) -> bool:
        """vring_interrupt: False (IRQ_NONE) when there is nothing new in the used ring;
        otherwise runs the callback and returns True (IRQ_HANDLED)."""
        if not self.more_used():
            return False
        if self.broken:
            return True
        if self.event:
            self.event_triggered = True
        if self.callback is not None:
            self.callback(self)
        return True

    # --- teardown ------------------------------------------------------------------------------
    def delete(self) -> None:
        """vring_del_virtqueue: release the ring memory."""
        if not self.deleted and self.allocator is not None:
            self.allocator.free(self.layout.desc)
        self.deleted = True

    def __repr__(self) -> str:
        return (f"SplitVirtqueue(index={self.index}, name={self.name!r}, num={self.num}, "
                f"avail={self.avail_idx_shadow}, last_used={self.last_used_idx}, free={self.num_free})")
