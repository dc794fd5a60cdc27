"""Reference model of the mailbox's commit rules (docs/architecture.md, "Mailbox").

Written from the specification, not from the RTL: given a staged message,
the direction and the FIFO occupancy, predict whether the commit is accepted
(queued or taken as a doorbell) or refused, and with which code.

Header format: the peripheral is built for one (HDL parameter HDR_FORMAT, 0 the 6-byte header
{type, msg_id, dev_id, msg_size}, 1 the 8-byte header {type, msg_id, dev_num, token, msg_size}).
A simulation sets it once with `set_format` (the base test does, from the build's parameters);
every helper takes `fmt=` to override it. `payload_u32(slot, off)` reads a payload field at
its offset after the header, whichever header it is.
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
HEADER = 6          # bytes of the 6-byte header (HDR_FORMAT 0)
HEADER8 = 8         # bytes of the 8-byte header (HDR_FORMAT 1)
SEED6, HDR8 = 0, 1  # HDR_FORMAT values

FORMAT = SEED6      # the header format of this simulation (set_format)


def set_format(fmt: int) -> None:
    """The peripheral's HDR_FORMAT (0 or 1): the default of every helper from now on."""
    global FORMAT
    if int(fmt) not in (SEED6, HDR8):
        raise ValueError(f"HDR_FORMAT {fmt}: 0 (6-byte header) or 1 (8-byte header)")
    FORMAT = int(fmt)


def header_size(fmt: int | None = None) -> int:
    return HEADER8 if (FORMAT if fmt is None else int(fmt)) == HDR8 else HEADER


def payload_u32(slot: bytes, off: int, fmt: int | None = None) -> int:
    """The little-endian u32 at payload offset `off` (after the header of the format)."""
    at = header_size(fmt) + off
    return int.from_bytes(slot[at:at + 4], "little")


def payload_u16(slot: bytes, off: int, fmt: int | None = None) -> int:
    at = header_size(fmt) + off
    return int.from_bytes(slot[at:at + 2], "little")


@dataclass(frozen=True)
class Header:
    type: int
    msg_id: int
    dev_id: int
    msg_size: int
    token: int = 0     # 8-byte header only (0 in the 6-byte one)

    @classmethod
    def of(cls, slot: bytes, fmt: int | None = None) -> "Header":
        if (FORMAT if fmt is None else int(fmt)) == HDR8:
            return cls(slot[0], slot[1], int.from_bytes(slot[2:4], "little"), int.from_bytes(slot[6:8], "little"),
                       int.from_bytes(slot[4:6], "little"))
        return cls(slot[0], slot[1], int.from_bytes(slot[2:4], "little"), int.from_bytes(slot[4:6], "little"))

    @property
    def is_response(self) -> bool:
        return bool(self.type & TYPE_RESPONSE)

    @property
    def is_bus(self) -> bool:
        return bool(self.type & TYPE_BUS)


def is_doorbell(slot: bytes, fmt: int | None = None) -> bool:
    h = Header.of(slot, fmt)
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
                   num_devs: int, num_vqs: int, fmt: int | None = None) -> Prediction:
    """The token of the 8-byte header is the bus's: the peripheral never looks at it."""
    h = Header.of(slot, fmt)
    hs = header_size(fmt)
    if h.type & 0xFC:
        return Prediction(TYPE_RSVD)
    if not direction_allows(to_device, h):
        return Prediction(TYPE_DIR)
    avail = to_device and not h.is_bus and h.msg_id == EVENT_AVAIL
    if h.msg_size < hs or (avail and h.msg_size < hs + 8):
        return Prediction(SIZE_SMALL)
    if h.msg_size > msg_size:
        return Prediction(SIZE_LARGE)
    if avail:
        index = payload_u32(slot, 0, fmt)
        if h.dev_id >= num_devs or index >= num_vqs:
            return Prediction(DB_RANGE)
        return Prediction(NONE, doorbell=True)
    if fifo_count >= depth:
        return Prediction(OVERFLOW)
    return Prediction(NONE)


def event_used_slot(dev_id: int, vq: int, msg_size: int, fmt: int | None = None) -> bytes:
    """The EVENT_USED message the mailbox synthesises for an engine notification: msg_size 10
    in the 6-byte header; token 0 and msg_size 12 in the 8-byte one (events carry token 0)."""
    head = bytes([0x00, EVENT_USED]) + dev_id.to_bytes(2, "little")
    if header_size(fmt) == HEADER8:
        body = head + (0).to_bytes(2, "little") + (12).to_bytes(2, "little") + vq.to_bytes(4, "little")
    else:
        body = head + (10).to_bytes(2, "little") + vq.to_bytes(4, "little")
    return body.ljust(msg_size, b"\0")
