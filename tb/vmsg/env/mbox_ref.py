"""Reference model of the mailbox's commit rules (docs/architecture.md, "Mailbox").

Written from the specification, not from the RTL: given a staged message,
the direction and the FIFO occupancy, predict whether the commit is accepted
(queued or taken as a doorbell) or refused, and with which code.
"""

from __future__ import annotations

from dataclasses import dataclass

# TX_ERROR.CODE values
NONE, SIZE_SMALL, SIZE_LARGE, TYPE_RSVD, TYPE_DIR, OVERFLOW, DB_RANGE = range(7)
CODE_NAMES = {NONE: "NONE", SIZE_SMALL: "SIZE_SMALL", SIZE_LARGE: "SIZE_LARGE", TYPE_RSVD: "TYPE_RSVD",
              TYPE_DIR: "TYPE_DIR", OVERFLOW: "OVERFLOW", DB_RANGE: "DB_RANGE"}

TYPE_RESPONSE = 0x1
TYPE_BUS = 0x2
EVENT_CONFIG, EVENT_AVAIL, EVENT_USED = 0x40, 0x41, 0x42
BUS_EVENT_DEVICE = 0x40
HEADER = 6


@dataclass(frozen=True)
class Header:
    type: int
    msg_id: int
    dev_id: int
    msg_size: int

    @classmethod
    def of(cls, slot: bytes) -> "Header":
        return cls(slot[0], slot[1], int.from_bytes(slot[2:4], "little"), int.from_bytes(slot[4:6], "little"))

    @property
    def is_response(self) -> bool:
        return bool(self.type & TYPE_RESPONSE)

    @property
    def is_bus(self) -> bool:
        return bool(self.type & TYPE_BUS)


def is_doorbell(slot: bytes) -> bool:
    h = Header.of(slot)
    return h.type == 0 and h.msg_id == EVENT_AVAIL


def direction_allows(to_device: bool, h: Header) -> bool:
    if to_device:
        if h.is_response:
            return False
        return h.msg_id < 0x40 or (not h.is_bus and h.msg_id == EVENT_AVAIL)
    if h.is_response:
        return h.msg_id < 0x40
    if h.is_bus:
        return h.msg_id == BUS_EVENT_DEVICE
    return h.msg_id in (EVENT_CONFIG, EVENT_USED)


@dataclass(frozen=True)
class Prediction:
    code: int            # NONE when accepted
    doorbell: bool = False


def predict_commit(slot: bytes, to_device: bool, msg_size: int, fifo_count: int, depth: int,
                   num_devs: int, num_vqs: int) -> Prediction:
    h = Header.of(slot)
    if h.type & 0xFC:
        return Prediction(TYPE_RSVD)
    if not direction_allows(to_device, h):
        return Prediction(TYPE_DIR)
    avail = to_device and not h.is_bus and h.msg_id == EVENT_AVAIL
    if h.msg_size < HEADER or (avail and h.msg_size < HEADER + 8):
        return Prediction(SIZE_SMALL)
    if h.msg_size > msg_size:
        return Prediction(SIZE_LARGE)
    if avail:
        index = int.from_bytes(slot[6:10], "little")
        if h.dev_id >= num_devs or index >= num_vqs:
            return Prediction(DB_RANGE)
        return Prediction(NONE, doorbell=True)
    if fifo_count >= depth:
        return Prediction(OVERFLOW)
    return Prediction(NONE)


def event_used_slot(dev_id: int, vq: int, msg_size: int) -> bytes:
    """The EVENT_USED message the mailbox synthesises for an engine notification."""
    body = bytes([0x00, EVENT_USED]) + dev_id.to_bytes(2, "little") + (10).to_bytes(2, "little") + vq.to_bytes(4, "little")
    return body.ljust(msg_size, b"\0")
