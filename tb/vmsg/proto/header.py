"""The 6-byte virtio-msg header (struct virtio_msg without its payload)."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .constants import HEADER_SIZE, TYPE_BUS, TYPE_RESERVED_MASK, TYPE_RESPONSE
from .errors import FieldRangeError, ReservedTypeBitsError, ShortBufferError

_HEADER = struct.Struct("<BBHH")
assert _HEADER.size == HEADER_SIZE


@dataclass
class Header:
    """type, msg_id, dev_id, msg_size: the fields as they stand on the wire."""
    type: int
    msg_id: int
    dev_id: int
    msg_size: int

    @property
    def is_response(self) -> bool:
        return bool(self.type & TYPE_RESPONSE)

    @property
    def is_bus(self) -> bool:
        return bool(self.type & TYPE_BUS)

    def encode(self) -> bytes:
        try:
            return _HEADER.pack(self.type, self.msg_id, self.dev_id, self.msg_size)
        except struct.error as exc:
            raise FieldRangeError(f"header field out of range: {self}") from exc

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview) -> "Header":
        """Parse the header; checks the buffer length and the reserved type bits only
        (msg_size against the slot is the Message's business)."""
        if len(buf) < HEADER_SIZE:
            raise ShortBufferError(f"buffer of {len(buf)} bytes is shorter than the {HEADER_SIZE}-byte header")
        header = cls(*_HEADER.unpack_from(buf, 0))
        if header.type & TYPE_RESERVED_MASK:
            raise ReservedTypeBitsError(f"type 0x{header.type:02x} has reserved bits 7:2 set")
        return header
