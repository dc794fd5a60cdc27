"""The virtio-msg header (struct virtio_msg without its payload), in either wire format.

`HdrFormat.SEED6` (the default): 6 bytes, little endian

    byte 0 type, 1 msg_id, 2-3 dev_id, 4-5 msg_size

`HdrFormat.HDR8`: 8 bytes, little endian (specification draft, 2026 kernel tree)

    byte 0 type, 1 msg_id, 2-3 dev_num, 4-5 token, 6-7 msg_size

The field is called dev_id here in both formats (the draft's dev_num). The token is owned by
the bus; the seed's header has none, so a SEED6 header carries token 0 and cannot encode any
other value.

Reserved type bits 7:2: the seed's receivers (this peripheral's framing check among them)
reject a message that sets them, so SEED6 decoding raises ReservedTypeBitsError by default.
The draft says they are sent as zero and ignored on receive, so HDR8 decoding clears them by
default and records what it cleared in `ignored_type_bits`. `strict_type` overrides either
default. An HDR8 encode with check=True refuses them (the draft: sent as zero); a SEED6 encode
packs the type as given, as it always did (to build malformed messages on purpose).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .constants import HEADER_SIZE, TYPE_BUS, TYPE_RESERVED_MASK, TYPE_RESPONSE, HdrFormat
from .errors import FieldRangeError, ReservedTypeBitsError, ShortBufferError, TokenError

_HEADER = struct.Struct("<BBHH")
_HEADER8 = struct.Struct("<BBHHH")
assert _HEADER.size == HEADER_SIZE
assert _HEADER8.size == HdrFormat.HDR8.header_size


@dataclass
class Header:
    """type, msg_id, dev_id, msg_size (and token in the 8-byte format): the fields as they
    stand on the wire. `fmt` says which header this is."""
    type: int
    msg_id: int
    dev_id: int
    msg_size: int
    token: int = 0
    fmt: HdrFormat = HdrFormat.SEED6
    # Reserved type bits a lenient decode cleared (the draft's "ignored on receive").
    ignored_type_bits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        self.fmt = HdrFormat.parse(self.fmt)

    @property
    def is_response(self) -> bool:
        return bool(self.type & TYPE_RESPONSE)

    @property
    def is_bus(self) -> bool:
        return bool(self.type & TYPE_BUS)

    @property
    def size(self) -> int:
        """Bytes of this header on the wire (6 or 8)."""
        return self.fmt.header_size

    def encode(self, *, check: bool = False) -> bytes:
        """The header bytes. In HDR8, check=True also refuses reserved type bits (they are
        sent as zero); a SEED6 header refuses any token but 0, as it has no room for one."""
        if check and self.fmt is HdrFormat.HDR8 and self.type & TYPE_RESERVED_MASK:
            raise ReservedTypeBitsError(
                f"type 0x{self.type:02x} sets reserved bits 7:2 (they are sent as zero)")
        try:
            if self.fmt is HdrFormat.HDR8:
                return _HEADER8.pack(self.type, self.msg_id, self.dev_id, self.token, self.msg_size)
            if self.token:
                raise TokenError(
                    f"token 0x{self.token:04x}: the 6-byte header has no token field (use HdrFormat.HDR8)")
            return _HEADER.pack(self.type, self.msg_id, self.dev_id, self.msg_size)
        except struct.error as exc:
            raise FieldRangeError(f"header field out of range: {self}") from exc

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, fmt: HdrFormat | int | str = HdrFormat.SEED6,
               *, strict_type: bool | None = None) -> "Header":
        """Parse the header; checks the buffer length and the reserved type bits only
        (msg_size against the slot is the Message's business).

        strict_type: True raises ReservedTypeBitsError on reserved type bits, False clears them
        (recorded in ignored_type_bits); None is the format's rule (SEED6 strict, HDR8 lenient).
        """
        fmt = HdrFormat.parse(fmt)
        size = fmt.header_size
        if len(buf) < size:
            raise ShortBufferError(
                f"buffer of {len(buf)} bytes is shorter than the {size}-byte header ({fmt.label})")
        if fmt is HdrFormat.HDR8:
            type_, msg_id, dev_id, token, msg_size = _HEADER8.unpack_from(buf, 0)
        else:
            (type_, msg_id, dev_id, msg_size), token = _HEADER.unpack_from(buf, 0), 0
        reserved = type_ & TYPE_RESERVED_MASK
        if strict_type is None:
            strict_type = fmt is HdrFormat.SEED6
        if reserved and strict_type:
            raise ReservedTypeBitsError(f"type 0x{type_:02x} has reserved bits 7:2 set")
        return cls(type_ & ~reserved, msg_id, dev_id, msg_size, token, fmt, ignored_type_bits=reserved)
