"""Payload structs of virtio_msg.h (transport and bus), little endian and packed.

Every class holds the wire fields exactly as they are, including the count fields (num, size)
of a flexible array: decoding takes the array length from them, encoding checks that the data
matches them. Constructors such as `SetFeatures.from_words` fill both consistently.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from typing import ClassVar, Iterable, TypeVar

from .constants import EVENT_AVAIL_OFFSET_MASK, EVENT_AVAIL_WRAP_SHIFT
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

    @classmethod
    def fixed_size(cls) -> int:
        return struct.calcsize(cls.FORMAT)

    @classmethod
    def _fixed_names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != cls.FLEX]

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
    # The addresses sit at payload offsets 12, 20, 28 (not 8-byte aligned) in revision 1.
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
