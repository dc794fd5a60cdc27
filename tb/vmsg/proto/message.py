"""A whole virtio-msg message: header, typed payload and the raw bytes after the payload.

`Message.decode(slot)` validates a slot and returns the typed message; `Message.encode(n)`
produces a whole slot of n bytes. Round trips are byte exact: the bytes after the payload
(`trailing`) are kept, so stale bytes a sender left in its buffer survive decode/encode.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from . import payloads as p
from .constants import (EVENT_ID_BASE, HEADER_SIZE, TYPE_BUS, TYPE_REQUEST, TYPE_RESPONSE,
                        TYPE_TRANSPORT, BusId, TransportId)
from .errors import FieldRangeError, MsgSizeError, PayloadTooShortError, UnknownMessageIdError
from .header import Header

MsgId = Union[TransportId, BusId, int]

# (is_bus, is_response, msg_id) -> payload class. Events are sent as requests and have no
# response; the three "response expected, content unused" responses carry no payload.
PAYLOAD_TYPES: dict[tuple[bool, bool, int], type[p.Payload]] = {
    (False, False, TransportId.DEVICE_INFO): p.Empty,
    (False, True, TransportId.DEVICE_INFO): p.GetDeviceInfoResp,
    (False, False, TransportId.GET_DEV_FEATURES): p.GetFeatures,
    (False, True, TransportId.GET_DEV_FEATURES): p.GetFeaturesResp,
    (False, False, TransportId.SET_DRV_FEATURES): p.SetFeatures,
    (False, True, TransportId.SET_DRV_FEATURES): p.Empty,
    (False, False, TransportId.GET_CONFIG): p.GetConfig,
    (False, True, TransportId.GET_CONFIG): p.GetConfigResp,
    (False, False, TransportId.SET_CONFIG): p.SetConfig,
    (False, True, TransportId.SET_CONFIG): p.SetConfigResp,
    (False, False, TransportId.GET_DEVICE_STATUS): p.Empty,
    (False, True, TransportId.GET_DEVICE_STATUS): p.GetDeviceStatusResp,
    (False, False, TransportId.SET_DEVICE_STATUS): p.SetDeviceStatus,
    (False, True, TransportId.SET_DEVICE_STATUS): p.SetDeviceStatusResp,
    (False, False, TransportId.GET_VQUEUE): p.GetVqueue,
    (False, True, TransportId.GET_VQUEUE): p.GetVqueueResp,
    (False, False, TransportId.SET_VQUEUE): p.SetVqueue,
    (False, True, TransportId.SET_VQUEUE): p.Empty,
    (False, False, TransportId.RESET_VQUEUE): p.ResetVqueue,
    (False, True, TransportId.RESET_VQUEUE): p.Empty,
    (False, False, TransportId.GET_SHM): p.GetShm,
    (False, True, TransportId.GET_SHM): p.GetShmResp,
    (False, False, TransportId.EVENT_CONFIG): p.EventConfig,
    (False, False, TransportId.EVENT_AVAIL): p.EventAvail,
    (False, False, TransportId.EVENT_USED): p.EventUsed,
    (True, False, BusId.GET_DEVICES): p.BusGetDevices,
    (True, True, BusId.GET_DEVICES): p.BusGetDevicesResp,
    (True, False, BusId.PING): p.BusPing,
    (True, True, BusId.PING): p.BusPingResp,
    (True, False, BusId.EVENT_DEVICE): p.BusEventDevice,
}

# The RFC driver sizes these two requests without their flexible data (msg_size = header +
# fixed part) and leaves the data beyond msg_size; a receiver takes the length from num/size.
RFC_DATA_BEYOND_MSG_SIZE = frozenset({TransportId.SET_DRV_FEATURES, TransportId.SET_CONFIG})


def payload_type(is_bus: bool, is_response: bool, msg_id: int) -> type[p.Payload]:
    try:
        return PAYLOAD_TYPES[(is_bus, is_response, msg_id)]
    except KeyError:
        kind = ("bus" if is_bus else "transport") + (" response" if is_response else " request")
        raise UnknownMessageIdError(f"msg_id 0x{msg_id:02x} is not a known {kind}") from None


def is_event_id(msg_id: int) -> bool:
    return msg_id >= EVENT_ID_BASE


def message_name(is_bus: bool, msg_id: int) -> str:
    enum = BusId if is_bus else TransportId
    try:
        return enum(msg_id).name
    except ValueError:
        return f"0x{msg_id:02x}"


@dataclass
class Message:
    header: Header
    payload: p.Payload
    trailing: bytes = b""
    # True when the flexible data lies (partly) beyond msg_size: the RFC sizing quirk.
    data_beyond_msg_size: bool = field(default=False, compare=False)

    # --- convenience -----------------------------------------------------------------------
    @property
    def msg_id(self) -> int:
        return self.header.msg_id

    @property
    def dev_id(self) -> int:
        return self.header.dev_id

    @property
    def is_response(self) -> bool:
        return self.header.is_response

    @property
    def is_bus(self) -> bool:
        return self.header.is_bus

    @property
    def is_event(self) -> bool:
        return not self.is_response and is_event_id(self.msg_id)

    @property
    def name(self) -> str:
        return message_name(self.is_bus, self.msg_id) + (" response" if self.is_response else "")

    @classmethod
    def make(cls, msg_id: MsgId, payload: p.Payload | None = None, *, dev_id: int = 0,
             bus: bool = False, response: bool = False, count_flexible: bool = True,
             trailing: bytes = b"") -> "Message":
        """A message with msg_size computed: header + payload, with the flexible data counted
        (spec-clean) or, with count_flexible=False, only the fixed part (the RFC sizing)."""
        payload = payload if payload is not None else p.Empty()
        size = HEADER_SIZE + payload.fixed_size() + (payload.flex_size() if count_flexible else 0)
        type_ = (TYPE_BUS if bus else TYPE_TRANSPORT) | (TYPE_RESPONSE if response else TYPE_REQUEST)
        header = Header(type_, int(msg_id), 0 if bus else dev_id, size)
        return cls(header, payload, trailing, data_beyond_msg_size=not count_flexible and payload.flex_size() > 0)

    # --- wire ------------------------------------------------------------------------------
    def encode(self, slot_size: int, *, check: bool = True) -> bytes:
        """The whole slot: header, payload, trailing bytes, zeros up to slot_size.
        check=False skips the msg_size checks (to build malformed messages on purpose)."""
        body = self.header.encode() + self.payload.encode() + bytes(self.trailing)
        if len(body) > slot_size:
            raise FieldRangeError(f"{self.name}: {len(body)} bytes do not fit a {slot_size}-byte slot")
        if check:
            _check_msg_size(self.header.msg_size, slot_size)
        return body + bytes(slot_size - len(body))

    @classmethod
    def decode(cls, slot: bytes | bytearray | memoryview, *, allow_rfc_sizing: bool = True) -> "Message":
        """Validate and parse a slot (the buffer is the slot: msg_size may not exceed it).

        allow_rfc_sizing: accept SET_DRV_FEATURES / SET_CONFIG requests whose data lies beyond
        msg_size (as the RFC driver sends them); False is a strict receiver that rejects them.
        """
        slot = bytes(slot)
        header = Header.decode(slot)                      # short buffer, reserved type bits
        _check_msg_size(header.msg_size, len(slot))
        ptype = payload_type(header.is_bus, header.is_response, header.msg_id)
        fixed_end = HEADER_SIZE + ptype.fixed_size()
        if header.msg_size < fixed_end:
            raise PayloadTooShortError(
                f"{message_name(header.is_bus, header.msg_id)}: msg_size {header.msg_size} is below "
                f"header + fixed payload ({fixed_end})")
        payload = ptype.decode_fixed(slot[HEADER_SIZE:fixed_end])
        end = fixed_end + payload.flex_size()
        beyond = end > header.msg_size
        if beyond:
            quirk_ok = (allow_rfc_sizing and not header.is_bus and not header.is_response
                        and header.msg_id in RFC_DATA_BEYOND_MSG_SIZE)
            if not quirk_ok:
                raise FieldRangeError(
                    f"{message_name(header.is_bus, header.msg_id)}: count field asks for "
                    f"{payload.flex_size()} data bytes beyond msg_size {header.msg_size}")
            if end > len(slot):
                raise FieldRangeError(
                    f"{message_name(header.is_bus, header.msg_id)}: count field asks for "
                    f"{payload.flex_size()} data bytes, the {len(slot)}-byte slot holds fewer")
        if ptype.FLEX:
            setattr(payload, ptype.FLEX, slot[fixed_end:end])
        return cls(header, payload, slot[end:], data_beyond_msg_size=beyond)


def _check_msg_size(msg_size: int, slot_size: int) -> None:
    if msg_size < HEADER_SIZE:
        raise MsgSizeError(f"msg_size {msg_size} is below the header size {HEADER_SIZE}")
    if msg_size > slot_size:
        raise MsgSizeError(f"msg_size {msg_size} exceeds the {slot_size}-byte slot")


def peek_header(slot: bytes | bytearray | memoryview) -> Header:
    """The header alone (checks only length and reserved type bits)."""
    return Header.decode(slot)
