"""Constants of the virtio-msg wire format (revision 1) and of the virtio core.

The first half mirrors include/uapi/linux/virtio_msg.h, the second half holds the virtio 1.x
values (device status, feature bits, ring flags) the models need.

Two wire formats exist and the codec speaks both (`HdrFormat`):

- `HdrFormat.SEED6`, the default everywhere: the July 2025 RFC transport's 6-byte header
  {type, msg_id, dev_id, msg_size}; a driver refuses a bus whose message size is below 44.
- `HdrFormat.HDR8`: the 8-byte header {type, msg_id, dev_num, token, msg_size} of the
  specification draft and of the 2026 Linaro kernel tree (also QEMU's, OP-TEE's and Xen's).
  That kernel refuses a bus below 50 bytes; QEMU's header caps a message at 48 (8 + 40).

Both formats carry revision 1: the revision number does not tell them apart, the bus must
say which header it uses. The names without a format prefix (HEADER_SIZE, MIN_SIZE) are the
seed's and stay so; the 8-byte values have HDR8_ names and `HdrFormat` properties.
"""
from __future__ import annotations

from enum import IntEnum, IntFlag

# --- header --------------------------------------------------------------------------------
HEADER_SIZE = 6                  # type u8, msg_id u8, dev_id u16, msg_size u16
MIN_SIZE = 44                    # VIRTIO_MSG_MIN_SIZE: smallest bus message size a driver accepts
MAX_SIZE = 65536                 # VIRTIO_MSG_MAX_SIZE
REVISION_1 = 1                   # VIRTIO_MSG_REVISION_1

# --- the 8-byte header (specification draft, 2026 kernel tree) --------------------------------
HDR8_HEADER_SIZE = 8             # type u8, msg_id u8, dev_num u16, token u16, msg_size u16
HDR8_MIN_SIZE = 50               # the 2026 kernel's VIRTIO_MSG_MIN_SIZE (largest fixed message 48 < 50)
HDR8_QEMU_MAX_SIZE = 48          # QEMU's virtio-msg maximum message: 8-byte header + 40-byte payload


class HdrFormat(IntEnum):
    """Which virtio-msg header a bus speaks. The value is an index (0 the seed's, 1 the 8-byte
    one), not a size: use `header_size`."""
    SEED6 = 0
    HDR8 = 1

    @property
    def header_size(self) -> int:
        return HDR8_HEADER_SIZE if self is HdrFormat.HDR8 else HEADER_SIZE

    @property
    def min_size(self) -> int:
        """Smallest bus message size the kernel transport of this format accepts."""
        return HDR8_MIN_SIZE if self is HdrFormat.HDR8 else MIN_SIZE

    @property
    def has_token(self) -> bool:
        return self is HdrFormat.HDR8

    @property
    def kernel_counts_flexible(self) -> bool:
        """Whether this format's kernel transport counts the flexible data of SET_DRV_FEATURES
        and SET_CONFIG in msg_size: the seed does not (its quirk), the 2026 tree does."""
        return self is HdrFormat.HDR8

    @property
    def accepts_rfc_sizing(self) -> bool:
        """The decoder's default: accept data beyond msg_size in those two requests (the seed's
        quirk) in SEED6, refuse it in HDR8, where msg_size is the whole message."""
        return self is HdrFormat.SEED6

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: "HdrFormat | int | str") -> "HdrFormat":
        """A format from an enum, its index, its name or a label ("seed6", "hdr8", "6", "8")."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            aliases = {"seed6": cls.SEED6, "seed": cls.SEED6, "6": cls.SEED6,
                       "hdr8": cls.HDR8, "8": cls.HDR8}
            if text in aliases:
                return aliases[text]
            raise ValueError(f"unknown header format {value!r} (seed6 or hdr8)")
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"unknown header format {value!r} (0 seed6, 1 hdr8)") from None


TYPE_REQUEST = 0 << 0
TYPE_RESPONSE = 1 << 0
TYPE_TRANSPORT = 0 << 1
TYPE_BUS = 1 << 1
TYPE_DEFINED_BITS = TYPE_RESPONSE | TYPE_BUS
TYPE_RESERVED_MASK = 0xFF & ~TYPE_DEFINED_BITS   # bits 7:2 must be zero

# Ids from 0x40 up are events (one-way, no response).
EVENT_ID_BASE = 0x40


class TransportId(IntEnum):
    """Transport message ids (type bit 1 = 0)."""
    DEVICE_INFO = 0x02
    GET_DEV_FEATURES = 0x03
    SET_DRV_FEATURES = 0x04
    GET_CONFIG = 0x05
    SET_CONFIG = 0x06
    GET_DEVICE_STATUS = 0x07
    SET_DEVICE_STATUS = 0x08
    GET_VQUEUE = 0x09
    SET_VQUEUE = 0x0A
    RESET_VQUEUE = 0x0B
    GET_SHM = 0x0C
    EVENT_CONFIG = 0x40
    EVENT_AVAIL = 0x41
    EVENT_USED = 0x42


class BusId(IntEnum):
    """Bus message ids (type bit 1 = 1)."""
    GET_DEVICES = 0x02
    PING = 0x03
    EVENT_DEVICE = 0x40


class DevState(IntEnum):
    """dev_state of a bus EVENT_DEVICE."""
    READY = 0x1
    REMOVED = 0x2


# EVENT_AVAIL next_offset_wrap: bit 31 wrap, bits 30:0 offset.
EVENT_AVAIL_WRAP_SHIFT = 31
EVENT_AVAIL_OFFSET_MASK = (1 << EVENT_AVAIL_WRAP_SHIFT) - 1

# GET_DEVICES windows (offset, num) are multiples of this many device numbers.
GET_DEVICES_ALIGN = 8


# --- virtio core (virtio 1.x, include/uapi/linux/virtio_config.h, virtio_ring.h) -----------
class Status(IntFlag):
    """Device status bits."""
    ACKNOWLEDGE = 1
    DRIVER = 2
    DRIVER_OK = 4
    FEATURES_OK = 8
    DEVICE_NEEDS_RESET = 0x40
    FAILED = 0x80


class Feature(IntEnum):
    """Feature bit numbers that are not device specific."""
    RING_INDIRECT_DESC = 28
    RING_EVENT_IDX = 29
    VERSION_1 = 32
    ACCESS_PLATFORM = 33
    RING_PACKED = 34
    IN_ORDER = 35
    ORDER_PLATFORM = 36
    SR_IOV = 37
    NOTIFICATION_DATA = 38
    NOTIF_CONFIG_DATA = 39
    RING_RESET = 40
    ADMIN_VQ = 41


TRANSPORT_FEATURE_START = 28     # VIRTIO_TRANSPORT_F_START
TRANSPORT_FEATURE_END = 42       # VIRTIO_TRANSPORT_F_END (exclusive)


def feature_bit(bit: int) -> int:
    """The 64-bit feature mask of one feature bit number."""
    return 1 << bit


# Split ring flags.
VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2
VRING_DESC_F_INDIRECT = 4
VRING_AVAIL_F_NO_INTERRUPT = 1
VRING_USED_F_NO_NOTIFY = 1

# Device ids (virtio 1.x, section 5).
VIRTIO_ID_NET = 1
VIRTIO_ID_BLOCK = 2
VIRTIO_ID_CONSOLE = 3
VIRTIO_ID_RNG = 4


__all__ = [name for name in dict(globals())
           if not name.startswith("_") and name not in ("annotations", "IntEnum", "IntFlag")]
