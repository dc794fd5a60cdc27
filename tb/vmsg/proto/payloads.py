"""Payload structs of virtio_msg.h (transport and bus), little endian and packed.

Every class holds the wire fields exactly as they are, including the count fields (num, size)
of a flexible array: decoding takes the array length from them, encoding checks that the data
matches them. Constructors such as `SetFeatures.from_words` fill both consistently.

The payloads are the same in both header formats except two. In the 8-byte format (2026
kernel tree, specification draft) SET_VQUEUE and the GET_VQUEUE response have a reserved le32
after `size`, so the three le64 addresses sit at payload offsets 16, 24, 32 (40-byte payload)
instead of 12, 20, 28 (36 bytes): `SetVqueue8` and `GetVqueueResp8`. They subclass the seed's
classes (same fields, same positional order, `reserved` last and 0 by default), so code that
reads the fields works with either; `for_format` converts between the two layouts, and
`Message.make` / `Message.encode` do it for you.

Later revisions of the draft changed further payloads (a UUID in the device info, 64-bit
shared-memory fields, SET_VQUEUE flags); the codec follows the 2026 kernel tree, which keeps
the seed's layouts apart from the two above.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from typing import ClassVar, Iterable, TypeVar

from .constants import EVENT_AVAIL_OFFSET_MASK, EVENT_AVAIL_WRAP_SHIFT, HdrFormat
from .errors import FieldRangeError, ShortBufferError

P = TypeVar("P", bound="Payload")


def _words_to_bytes(words: Iterable[int]) -> bytes:
    words = list(words)
    return struct.pack(f"<{len(words)}I", *words)


def _bytes_to_words(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 4}I", data[: len(data) // 4 * 4]))


@dataclass
class Payload:
    """Base of all payloads: a fixed part described by FORMAT and an optional flexible array
    (the field named by FLEX) whose length the fixed fields determine (flex_size)."""
    FORMAT: ClassVar[str] = "<"
    FLEX: ClassVar[str | None] = None
    # Wire order of the fixed fields when it is not the dataclass field order.
    WIRE_ORDER: ClassVar[tuple[str, ...] | None] = None
    # Fixed fields that are sent as zero (Message.encode with check=True refuses others).
    RESERVED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def fixed_size(cls) -> int:
        return struct.calcsize(cls.FORMAT)

    @classmethod
    def _fixed_names(cls) -> list[str]:
        if cls.WIRE_ORDER is not None:
            return list(cls.WIRE_ORDER)
        return [f.name for f in fields(cls) if f.name != cls.FLEX]

    def check_reserved(self) -> None:
        """Raise FieldRangeError if a reserved field is not zero."""
        for name in self.RESERVED:
            if getattr(self, name):
                raise FieldRangeError(
                    f"{type(self).__name__}: reserved field {name} is 0x{getattr(self, name):x}, "
                    "it is sent as zero")

    def flex_size(self) -> int:
        """Bytes of the flexible array as the count field says (0 without one)."""
        return 0

    def flex_data(self) -> bytes:
        return bytes(getattr(self, self.FLEX)) if self.FLEX else b""

    def encoded_size(self) -> int:
        return self.fixed_size() + self.flex_size()

    def encode(self) -> bytes:
        try:
            fixed = struct.pack(self.FORMAT, *(getattr(self, n) for n in self._fixed_names()))
        except struct.error as exc:
            raise FieldRangeError(f"{type(self).__name__}: field out of range ({exc})") from exc
        flex = self.flex_data()
        if len(flex) != self.flex_size():
            raise FieldRangeError(
                f"{type(self).__name__}: {len(flex)} data bytes but the count field says {self.flex_size()}")
        return fixed + flex

    @classmethod
    def decode_fixed(cls: type[P], buf: bytes | bytearray | memoryview) -> P:
        """The fixed part only; the flexible array (if any) is left empty."""
        if len(buf) < cls.fixed_size():
            raise ShortBufferError(f"{cls.__name__} needs {cls.fixed_size()} bytes, got {len(buf)}")
        values = struct.unpack_from(cls.FORMAT, buf, 0)
        return cls(**dict(zip(cls._fixed_names(), values)))

    @classmethod
    def decode(cls: type[P], buf: bytes | bytearray | memoryview) -> P:
        """Fixed part and flexible array; the buffer must hold both."""
        payload = cls.decode_fixed(buf)
        if cls.FLEX:
            end = cls.fixed_size() + payload.flex_size()
            if len(buf) < end:
                raise FieldRangeError(
                    f"{cls.__name__}: count field asks for {payload.flex_size()} data bytes, "
                    f"only {len(buf) - cls.fixed_size()} present")
            setattr(payload, cls.FLEX, bytes(buf[cls.fixed_size():end]))
        return payload


@dataclass
class Empty(Payload):
    """No payload (DEVICE_INFO and GET_DEVICE_STATUS requests; the empty responses)."""


# --- transport -----------------------------------------------------------------------------
@dataclass
class GetDeviceInfoResp(Payload):
    FORMAT: ClassVar[str] = "<IIIIIHH"
    device_id: int = 0
    vendor_id: int = 0
    num_feature_bits: int = 0
    config_size: int = 0
    max_vq_count: int = 0
    admin_vq_start_idx: int = 0
    admin_vq_count: int = 0


@dataclass
class GetFeatures(Payload):
    FORMAT: ClassVar[str] = "<II"
    index: int = 0
    num: int = 0


class _FeatureWords:
    """Shared helpers of the two payloads that carry feature words (num u32 words)."""
    num: int
    features: bytes

    def flex_size(self) -> int:
        return self.num * 4

    @property
    def words(self) -> list[int]:
        return _bytes_to_words(self.features)

    @classmethod
    def from_words(cls, index: int, words: Iterable[int]):
        data = _words_to_bytes(words)
        return cls(index=index, num=len(data) // 4, features=data)


@dataclass
class GetFeaturesResp(_FeatureWords, Payload):
    FORMAT: ClassVar[str] = "<II"
    FLEX: ClassVar[str | None] = "features"
    index: int = 0
    num: int = 0
    features: bytes = b""


@dataclass
class SetFeatures(_FeatureWords, Payload):
    FORMAT: ClassVar[str] = "<II"
    FLEX: ClassVar[str | None] = "features"
    index: int = 0
    num: int = 0
    features: bytes = b""


@dataclass
class GetConfig(Payload):
    FORMAT: ClassVar[str] = "<II"
    offset: int = 0
    size: int = 0


class _ConfigData:
    """Shared helpers of the payloads that carry `size` config bytes."""
    size: int
    config: bytes

    def flex_size(self) -> int:
        return self.size


@dataclass
class GetConfigResp(_ConfigData, Payload):
    FORMAT: ClassVar[str] = "<III"
    FLEX: ClassVar[str | None] = "config"
    generation: int = 0
    offset: int = 0
    size: int = 0
    config: bytes = b""

    @classmethod
    def make(cls, generation: int, offset: int, data: bytes) -> "GetConfigResp":
        return cls(generation, offset, len(data), bytes(data))


@dataclass
class SetConfig(_ConfigData, Payload):
    FORMAT: ClassVar[str] = "<III"
    FLEX: ClassVar[str | None] = "config"
    generation: int = 0
    offset: int = 0
    size: int = 0
    config: bytes = b""

    @classmethod
    def make(cls, generation: int, offset: int, data: bytes) -> "SetConfig":
        return cls(generation, offset, len(data), bytes(data))


@dataclass
class SetConfigResp(_ConfigData, Payload):
    FORMAT: ClassVar[str] = "<III"
    FLEX: ClassVar[str | None] = "config"
    generation: int = 0
    offset: int = 0
    size: int = 0
    config: bytes = b""

    @classmethod
    def make(cls, generation: int, offset: int, data: bytes) -> "SetConfigResp":
        return cls(generation, offset, len(data), bytes(data))


@dataclass
class GetDeviceStatusResp(Payload):
    FORMAT: ClassVar[str] = "<I"
    status: int = 0


@dataclass
class SetDeviceStatus(Payload):
    FORMAT: ClassVar[str] = "<I"
    status: int = 0


@dataclass
class SetDeviceStatusResp(Payload):
    FORMAT: ClassVar[str] = "<I"
    status: int = 0


@dataclass
class GetVqueue(Payload):
    FORMAT: ClassVar[str] = "<I"
    index: int = 0


@dataclass
class GetVqueueResp(Payload):
    # The seed's layout: the addresses sit at payload offsets 12, 20, 28 (not 8-byte aligned);
    # the 8-byte format's is GetVqueueResp8.
    FORMAT: ClassVar[str] = "<IIIQQQ"
    index: int = 0
    max_size: int = 0
    size: int = 0
    descriptor_addr: int = 0
    driver_addr: int = 0
    device_addr: int = 0


@dataclass
class SetVqueue(Payload):
    FORMAT: ClassVar[str] = "<IIIQQQ"
    index: int = 0
    unused: int = 0
    size: int = 0
    descriptor_addr: int = 0
    driver_addr: int = 0
    device_addr: int = 0


@dataclass
class GetVqueueResp8(GetVqueueResp):
    """GET_VQUEUE response of the 8-byte format: index, max_size, size, reserved, then the
    addresses at payload offsets 16, 24, 32 (40 bytes)."""
    FORMAT: ClassVar[str] = "<IIIIQQQ"
    WIRE_ORDER: ClassVar[tuple[str, ...] | None] = (
        "index", "max_size", "size", "reserved", "descriptor_addr", "driver_addr", "device_addr")
    RESERVED: ClassVar[tuple[str, ...]] = ("reserved",)
    reserved: int = 0


@dataclass
class SetVqueue8(SetVqueue):
    """SET_VQUEUE of the 8-byte format: index, unused, size, reserved, then the addresses at
    payload offsets 16, 24, 32 (40 bytes)."""
    FORMAT: ClassVar[str] = "<IIIIQQQ"
    WIRE_ORDER: ClassVar[tuple[str, ...] | None] = (
        "index", "unused", "size", "reserved", "descriptor_addr", "driver_addr", "device_addr")
    RESERVED: ClassVar[tuple[str, ...]] = ("reserved",)
    reserved: int = 0


# seed layout -> 8-byte layout
_HDR8_LAYOUTS: dict[type, type] = {GetVqueueResp: GetVqueueResp8, SetVqueue: SetVqueue8}
_SEED6_LAYOUTS: dict[type, type] = {v: k for k, v in _HDR8_LAYOUTS.items()}


def for_format(payload: P, fmt: HdrFormat | int | str) -> P:
    """The payload in the layout of the header format: a seed SetVqueue / GetVqueueResp
    becomes its 8-byte sibling (reserved 0) in HDR8 and back in SEED6; every other payload is
    returned as it is. Raises FieldRangeError when an 8-byte one with a nonzero reserved word
    is asked for in the seed layout, which has no room for it."""
    fmt = HdrFormat.parse(fmt)
    target = (_HDR8_LAYOUTS if fmt is HdrFormat.HDR8 else _SEED6_LAYOUTS).get(type(payload))
    if target is None:
        return payload
    if fmt is HdrFormat.HDR8:
        return target(**{f.name: getattr(payload, f.name) for f in fields(payload)}, reserved=0)
    if payload.reserved:
        raise FieldRangeError(
            f"{type(payload).__name__}: reserved 0x{payload.reserved:x} has no place in the "
            "6-byte format's layout")
    return target(**{f.name: getattr(payload, f.name) for f in fields(target)})


@dataclass
class ResetVqueue(Payload):
    FORMAT: ClassVar[str] = "<I"
    index: int = 0


@dataclass
class GetShm(Payload):
    FORMAT: ClassVar[str] = "<I"
    index: int = 0


@dataclass
class GetShmResp(Payload):
    FORMAT: ClassVar[str] = "<III"
    index: int = 0
    count: int = 0
    addr: int = 0


@dataclass
class EventConfig(_ConfigData, Payload):
    FORMAT: ClassVar[str] = "<IIII"
    FLEX: ClassVar[str | None] = "config"
    status: int = 0
    generation: int = 0
    offset: int = 0
    size: int = 0
    config: bytes = b""


@dataclass
class EventAvail(Payload):
    FORMAT: ClassVar[str] = "<II"
    index: int = 0
    next_offset_wrap: int = 0

    @property
    def next_offset(self) -> int:
        return self.next_offset_wrap & EVENT_AVAIL_OFFSET_MASK

    @property
    def next_wrap(self) -> int:
        return self.next_offset_wrap >> EVENT_AVAIL_WRAP_SHIFT

    @classmethod
    def make(cls, index: int, next_offset: int = 0, next_wrap: int = 0) -> "EventAvail":
        return cls(index, (next_offset & EVENT_AVAIL_OFFSET_MASK) | ((next_wrap & 1) << EVENT_AVAIL_WRAP_SHIFT))


@dataclass
class EventUsed(Payload):
    FORMAT: ClassVar[str] = "<I"
    index: int = 0


# --- bus -------------------------------------------------------------------------------------
@dataclass
class BusGetDevices(Payload):
    FORMAT: ClassVar[str] = "<HH"
    offset: int = 0
    num: int = 0


@dataclass
class BusGetDevicesResp(Payload):
    """devices: a bitmap of num device numbers starting at offset, least significant bit first."""
    FORMAT: ClassVar[str] = "<HHH"
    FLEX: ClassVar[str | None] = "devices"
    offset: int = 0
    num: int = 0
    next_offset: int = 0
    devices: bytes = b""

    def flex_size(self) -> int:
        return (self.num + 7) // 8

    def present(self) -> list[int]:
        """Device numbers whose bit is set."""
        return [self.offset + bit for bit in range(self.num)
                if self.devices[bit // 8] >> (bit % 8) & 1]

    @classmethod
    def from_present(cls, offset: int, num: int, next_offset: int,
                     present: Iterable[int]) -> "BusGetDevicesResp":
        bitmap = bytearray((num + 7) // 8)
        for dev in present:
            bit = dev - offset
            if 0 <= bit < num:
                bitmap[bit // 8] |= 1 << (bit % 8)
        return cls(offset, num, next_offset, bytes(bitmap))


@dataclass
class BusEventDevice(Payload):
    FORMAT: ClassVar[str] = "<HH"
    dev_num: int = 0
    dev_state: int = 0


@dataclass
class BusPing(Payload):
    FORMAT: ClassVar[str] = "<I"
    data: int = 0


@dataclass
class BusPingResp(Payload):
    FORMAT: ClassVar[str] = "<I"
    data: int = 0
