"""Checks of the Linux driver side that need no simulator (unit-tested in tb/unit)."""

from __future__ import annotations

from typing import Optional


def irq_none_problem(handled: bool, events_taken: int, required: Optional[int]) -> Optional[str]:
    """The verdict on one vring_interrupt answer. `events_taken`: EVENT_USED messages Linux has
    taken for this engine queue period, this one included; `required`: the notifications the
    oracle has required in that period so far (None: no watched queue serves this event).
    IRQ_HANDLED is always fine; IRQ_NONE is legitimate only for an event the oracle required
    (its entries were consumed before it arrived, docs/linux.md); otherwise it is an error."""
    if handled:
        return None
    if required is None:
        return "IRQ_NONE for an EVENT_USED that no engine queue serves"
    if events_taken > required:
        return (f"IRQ_NONE for an EVENT_USED the notification oracle did not require "
                f"(event {events_taken}, {required} required)")
    return None


def lost_buffers(published_idx: int, got: int) -> int:
    """Buffers the engine published (used->idx, u16) that virtqueue_get_buf never returned."""
    return (published_idx - got) & 0xFFFF
