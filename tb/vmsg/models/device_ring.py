"""Device side of a split virtqueue: what device firmware (or the used-index engine) sees.

Reads avail entries and descriptor chains, writes used elements, publishes used->idx and
decides used-buffer notifications exactly as virtio 1.x says (the rule the engine implements):
without EVENT_IDX notify unless the driver set VRING_AVAIL_F_NO_INTERRUPT; with EVENT_IDX
notify when vring_need_event(used_event, new, old), where old is used->idx at the previous
notification decision. This is the software reference of the engine and the completion path of
the unit tests.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..proto.constants import (VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT,
                               VRING_DESC_F_WRITE, VRING_USED_F_NO_NOTIFY)
from .memory import Memory, read_u16, write_u16
from .virtqueue import DESC_SIZE, U16, USED_ELEM_SIZE, vring_need_event


class DeviceRingError(Exception):
    """The driver's ring content is invalid (bad head, descriptor loop, ...)."""


@dataclass(frozen=True)
class Descriptor:
    addr: int
    len: int
    flags: int
    next: int

    @property
    def device_writes(self) -> bool:
        return bool(self.flags & VRING_DESC_F_WRITE)


@dataclass
class Chain:
    """One available buffer: its head id and its descriptors in chain order."""
    head: int
    descriptors: list[Descriptor] = field(default_factory=list)

    @property
    def readable(self) -> list[tuple[int, int]]:
        return [(d.addr, d.len) for d in self.descriptors if not d.device_writes]

    @property
    def writable(self) -> list[tuple[int, int]]:
        return [(d.addr, d.len) for d in self.descriptors if d.device_writes]

    @property
    def writable_len(self) -> int:
        return sum(length for _, length in self.writable)


class DeviceVirtqueue:
    """A configured queue as the device knows it (size and the three ring addresses)."""

    def __init__(self, memory: Memory, size: int, desc: int, driver: int, device: int,
                 event_idx: bool) -> None:
        self.mem = memory
        self.size = size
        self.desc = desc
        self.driver = driver          # avail ring
        self.device = device          # used ring
        self.event_idx = event_idx
        self.last_avail_idx = 0       # next avail entry the device will take
        self.used_idx = 0             # device's shadow of used->idx (written, maybe not published)
        self.published_idx = 0        # used->idx as last published
        self.signalled_idx = 0        # used->idx at the last notification decision ("old")
        self.notifications = 0

    # --- avail ring ----------------------------------------------------------------------------
    def avail_idx(self) -> int:
        return read_u16(self.mem, self.driver + 2)

    def avail_flags(self) -> int:
        return read_u16(self.mem, self.driver)

    def used_event(self) -> int:
        return read_u16(self.mem, self.driver + 4 + 2 * self.size)

    def pending(self) -> int:
        """Entries the driver made available that the device has not taken."""
        return (self.avail_idx() - self.last_avail_idx) & U16

    def pop(self) -> Chain | None:
        """Take the next available chain, or None when the ring is empty."""
        if not self.pending():
            return None
        slot = self.last_avail_idx % self.size
        head = read_u16(self.mem, self.driver + 4 + 2 * slot)
        chain = self.read_chain(head)
        self.last_avail_idx = (self.last_avail_idx + 1) & U16
        return chain

    def read_chain(self, head: int) -> Chain:
        if head >= self.size:
            raise DeviceRingError(f"avail head {head} >= queue size {self.size}")
        chain = Chain(head)
        i = head
        while True:
            if len(chain.descriptors) >= self.size:
                raise DeviceRingError(f"descriptor chain from {head} loops")
            desc = Descriptor(*struct.unpack("<QIHH", self.mem.read(self.desc + DESC_SIZE * i, DESC_SIZE)))
            if desc.flags & VRING_DESC_F_INDIRECT:
                raise DeviceRingError("indirect descriptors are not negotiated by these models")
            chain.descriptors.append(desc)
            if not desc.flags & VRING_DESC_F_NEXT:
                return chain
            if desc.next >= self.size:
                raise DeviceRingError(f"descriptor {i} next {desc.next} >= queue size {self.size}")
            i = desc.next

    # --- used ring -----------------------------------------------------------------------------
    def write_used(self, head: int, length: int) -> None:
        """Write one used element at the shadow index (not yet visible to the driver)."""
        slot = self.used_idx % self.size
        self.mem.write(self.device + 4 + USED_ELEM_SIZE * slot, struct.pack("<II", head, length))
        self.used_idx = (self.used_idx + 1) & U16

    def publish(self) -> bool:
        """Make every written element visible (one used->idx write) and decide whether the
        driver must be notified. Returns that decision."""
        write_u16(self.mem, self.device + 2, self.used_idx)
        self.published_idx = self.used_idx
        return self.notify_decision()

    def notify_decision(self) -> bool:
        new, old = self.published_idx, self.signalled_idx
        self.signalled_idx = new
        if self.event_idx:
            notify = vring_need_event(self.used_event(), new, old)
        else:
            notify = new != old and not (self.avail_flags() & VRING_AVAIL_F_NO_INTERRUPT)
        self.notifications += notify
        return notify

    def complete(self, head: int, length: int) -> bool:
        """One completion published on its own; returns the notification decision."""
        self.write_used(head, length)
        return self.publish()

    # --- driver notifications (kicks) -----------------------------------------------------------
    def suppress_kicks(self, suppress: bool) -> None:
        """Without EVENT_IDX: VRING_USED_F_NO_NOTIFY in used->flags."""
        write_u16(self.mem, self.device, VRING_USED_F_NO_NOTIFY if suppress else 0)

    def request_kick_at(self, avail_idx: int) -> None:
        """With EVENT_IDX: avail_event, the avail index whose crossing warrants a kick."""
        write_u16(self.mem, self.device + 4 + USED_ELEM_SIZE * self.size, avail_idx)
