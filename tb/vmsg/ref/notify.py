"""Notification oracle: the used-buffer notifications the virtio spec requires of a device
(virtio 1.x, 2.7.7 / 2.7.10; Linux vring_need_event()).

Without VIRTIO_F_EVENT_IDX: after publishing, the device notifies unless avail->flags has
VRING_AVAIL_F_NO_INTERRUPT (1). With it: the device reads used_event (u16 at avail + 4 + 2*size)
after the idx write is visible and notifies when vring_need_event(used_event, new, old), where
old is the idx of the previous decision (0 when the queue starts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

VRING_AVAIL_F_NO_INTERRUPT = 1


def vring_need_event(event_idx: int, new_idx: int, old_idx: int) -> bool:
    """(u16)(new - event - 1) < (u16)(new - old)"""
    return ((new_idx - event_idx - 1) & 0xFFFF) < ((new_idx - old_idx) & 0xFFFF)


@dataclass
class Decision:
    new: int
    value: int
    notify: bool


@dataclass
class NotifyOracle:
    """Decisions of one queue, in the order its used->idx values are published."""

    event_idx: bool
    old: int = 0
    decisions: list[Decision] = field(default_factory=list)

    def decide(self, new_idx: int, value: int) -> bool:
        """new_idx: the published used->idx (u16); value: the u16 read for it (avail->flags
        without EVENT_IDX, used_event with it). Returns whether a notification is required."""
        new_idx &= 0xFFFF
        value &= 0xFFFF
        if self.event_idx:
            need = vring_need_event(value, new_idx, self.old)
        else:
            need = not (value & VRING_AVAIL_F_NO_INTERRUPT)
        self.old = new_idx
        self.decisions.append(Decision(new_idx, value, need))
        return need

    @property
    def required(self) -> int:
        return sum(d.notify for d in self.decisions)

    @property
    def suppressed(self) -> int:
        return sum(not d.notify for d in self.decisions)

    def reset(self) -> None:
        self.old = 0
        self.decisions.clear()
