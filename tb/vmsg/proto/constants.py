"""Constants of the virtio-msg wire format (revision 1) and of the virtio core.

The first half mirrors include/uapi/linux/virtio_msg.h of the RFC transport; the second half
holds the virtio 1.x values (device status, feature bits, ring flags) the models need.
"""
from __future__ import annotations

from enum import IntEnum, IntFlag

# --- header --------------------------------------------------------------------------------
HEADER_SIZE = 6                  # type u8, msg_id u8, dev_id u16, msg_size u16
MIN_SIZE = 44                    # VIRTIO_MSG_MIN_SIZE: smallest bus message size a driver accepts
MAX_SIZE = 65536                 # VIRTIO_MSG_MAX_SIZE
REVISION_1 = 1                   # VIRTIO_MSG_REVISION_1

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
