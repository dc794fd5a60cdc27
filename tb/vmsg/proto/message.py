"""A whole virtio-msg message: header, typed payload and the raw bytes after the payload.

`Message.decode(slot)` validates a slot and returns the typed message; `Message.encode(n)`
produces a whole slot of n bytes. Round trips are byte exact: the bytes after the payload
(`trailing`) are kept, so stale bytes a sender left in its buffer survive decode/encode.

Header format: every entry point takes `fmt` (a HdrFormat, its index or label), default
`HdrFormat.SEED6`, the seed's 6-byte header, so code that never names a format is unchanged.
`fmt=HdrFormat.HDR8` is the 8-byte header with token; a decoded or made message remembers its
format (`msg.fmt`), encode follows it. What differs in HDR8:

- the header carries `token`; an event's token is 0 (encode refuses others, decode keeps the
  value unless strict_token=True); `msg.reply(...)` builds a response carrying the request's
  token, and `check_response` says whether a response answers a request, token included;
- SET_VQUEUE and the GET_VQUEUE response use the aligned 40-byte layouts (payloads.SetVqueue8,
  payloads.GetVqueueResp8); a seed-layout payload given to make/encode is converted;
- the decoder follows the draft: reserved type bits are ignored (cleared; strict_type=True
  refuses them), data beyond msg_size is refused (the 2026 kernel counts the flexible data;
  allow_rfc_sizing=True accepts it), a bus message with dev_num other than 0 is refused;
- with check=True, encode refuses reserved type bits, a nonzero reserved payload word, a
  nonzero event token and a bus message with dev_num other than 0 (check=False builds them).

msg_size styles: `Message.make(..., count_flexible=True)` (the default, spec-clean) counts the
flexible data of SET_DRV_FEATURES / SET_CONFIG; count_flexible=False counts only the fixed part,
as the seed's kernel does (`HdrFormat.kernel_counts_flexible` says which style each format's
kernel uses).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from . import payloads as p
from .constants import (EVENT_ID_BASE, TYPE_BUS, TYPE_REQUEST, TYPE_RESPONSE, TYPE_TRANSPORT, BusId,
                        HdrFormat, TransportId)
from .errors import (FieldRangeError, MsgSizeError, PayloadTooShortError, ProtocolError,
                     ResponseMismatchError, TokenError, TokenMismatchError, UnknownMessageIdError)
from .header import Header

FormatLike = Union[HdrFormat, int, str]

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

# The same table for the 8-byte format: the two queue structs in their aligned layouts.
HDR8_PAYLOAD_TYPES: dict[tuple[bool, bool, int], type[p.Payload]] = {
    key: p._HDR8_LAYOUTS.get(ptype, ptype) for key, ptype in PAYLOAD_TYPES.items()}


def payload_types(fmt: FormatLike = HdrFormat.SEED6) -> dict[tuple[bool, bool, int], type[p.Payload]]:
    """(is_bus, is_response, msg_id) -> payload class, for a header format."""
    return HDR8_PAYLOAD_TYPES if HdrFormat.parse(fmt) is HdrFormat.HDR8 else PAYLOAD_TYPES


# The RFC driver sizes these two requests without their flexible data (msg_size = header +
# fixed part) and leaves the data beyond msg_size; a receiver takes the length from num/size.
RFC_DATA_BEYOND_MSG_SIZE = frozenset({TransportId.SET_DRV_FEATURES, TransportId.SET_CONFIG})


def payload_type(is_bus: bool, is_response: bool, msg_id: int,
                 fmt: FormatLike = HdrFormat.SEED6) -> type[p.Payload]:
    try:
        return payload_types(fmt)[(is_bus, is_response, msg_id)]
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
    def token(self) -> int:
        return self.header.token

    @property
    def fmt(self) -> HdrFormat:
        return self.header.fmt

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
             trailing: bytes = b"", fmt: FormatLike = HdrFormat.SEED6, token: int = 0) -> "Message":
        """A message with msg_size computed: header + payload, with the flexible data counted
        (spec-clean) or, with count_flexible=False, only the fixed part (the RFC sizing).

        fmt selects the header (SEED6 by default); token is the header's token (HDR8 only,
        0 for events). A seed-layout SetVqueue / GetVqueueResp is converted to fmt's layout."""
        fmt = HdrFormat.parse(fmt)
        payload = p.for_format(payload if payload is not None else p.Empty(), fmt)
        if token and not fmt.has_token:
            raise TokenError(f"token 0x{token:x}: the 6-byte header has no token field (use HdrFormat.HDR8)")
        if token and not response and is_event_id(int(msg_id)):
            raise TokenError(f"{message_name(bus, int(msg_id))}: an event's token is 0, not 0x{token:x}")
        size = fmt.header_size + payload.fixed_size() + (payload.flex_size() if count_flexible else 0)
        type_ = (TYPE_BUS if bus else TYPE_TRANSPORT) | (TYPE_RESPONSE if response else TYPE_REQUEST)
        header = Header(type_, int(msg_id), 0 if bus else dev_id, size, token, fmt)
        return cls(header, payload, trailing, data_beyond_msg_size=not count_flexible and payload.flex_size() > 0)

    def reply(self, payload: p.Payload | None = None, *, count_flexible: bool = True,
              trailing: bytes = b"") -> "Message":
        """The response to this request: same kind, msg_id, dev_id, format and token."""
        if self.is_response:
            raise ProtocolError(f"{self.name}: a response is not answered")
        if self.is_event:
            raise ProtocolError(f"{self.name}: an event gets no response")
        return Message.make(self.msg_id, payload, dev_id=self.dev_id, bus=self.is_bus, response=True,
                            count_flexible=count_flexible, trailing=trailing, fmt=self.fmt,
                            token=self.token)

    # --- wire ------------------------------------------------------------------------------
    def encode(self, slot_size: int, *, check: bool = True) -> bytes:
        """The whole slot: header, payload, trailing bytes, zeros up to slot_size.
        check=False skips the msg_size checks and, in HDR8, the header rules (reserved type
        bits, event token, bus dev_num) and the reserved payload words (to build malformed
        messages on purpose)."""
        header, payload = self.header, p.for_format(self.payload, self.header.fmt)
        if check and header.fmt is HdrFormat.HDR8:
            _check_hdr8_rules(header, self.name)
            payload.check_reserved()
        body = header.encode(check=check) + payload.encode() + bytes(self.trailing)
        if len(body) > slot_size:
            raise FieldRangeError(f"{self.name}: {len(body)} bytes do not fit a {slot_size}-byte slot")
        if check:
            _check_msg_size(header.msg_size, slot_size, header.fmt)
        return body + bytes(slot_size - len(body))

    @classmethod
    def decode(cls, slot: bytes | bytearray | memoryview, *, allow_rfc_sizing: bool | None = None,
               fmt: FormatLike = HdrFormat.SEED6, strict_type: bool | None = None,
               strict_token: bool = False) -> "Message":
        """Validate and parse a slot (the buffer is the slot: msg_size may not exceed it).

        fmt: the header format of the slot (SEED6 by default).
        allow_rfc_sizing: accept SET_DRV_FEATURES / SET_CONFIG requests whose data lies beyond
        msg_size (as the RFC driver sends them); False is a strict receiver that rejects them.
        None is the format's default (HdrFormat.accepts_rfc_sizing: SEED6 yes, HDR8 no).
        strict_type: reserved type bits raise (True) or are ignored (False); None is the
        format's rule (SEED6 raises, HDR8 ignores). See Header.decode.
        strict_token (HDR8): an event whose token is not 0 raises TokenError; by default the
        value is kept and otherwise ignored, as the draft asks of a receiver.
        """
        fmt = HdrFormat.parse(fmt)
        if allow_rfc_sizing is None:
            allow_rfc_sizing = fmt.accepts_rfc_sizing
        slot = bytes(slot)
        hsize = fmt.header_size
        header = Header.decode(slot, fmt, strict_type=strict_type)   # short buffer, type bits
        _check_msg_size(header.msg_size, len(slot), fmt)
        name = message_name(header.is_bus, header.msg_id)
        ptype = payload_type(header.is_bus, header.is_response, header.msg_id, fmt)
        if fmt is HdrFormat.HDR8:
            if header.is_bus and header.dev_id:
                raise FieldRangeError(f"bus {name}: dev_num {header.dev_id}, a bus message carries 0")
            if strict_token and header.token and not header.is_response and is_event_id(header.msg_id):
                raise TokenError(f"{name}: event with token 0x{header.token:04x} (an event's token is 0)")
        fixed_end = hsize + ptype.fixed_size()
        if header.msg_size < fixed_end:
            raise PayloadTooShortError(
                f"{name}: msg_size {header.msg_size} is below header + fixed payload ({fixed_end})")
        payload = ptype.decode_fixed(slot[hsize:fixed_end])
        end = fixed_end + payload.flex_size()
        beyond = end > header.msg_size
        if beyond:
            quirk_ok = (allow_rfc_sizing and not header.is_bus and not header.is_response
                        and header.msg_id in RFC_DATA_BEYOND_MSG_SIZE)
            if not quirk_ok:
                raise FieldRangeError(
                    f"{name}: count field asks for {payload.flex_size()} data bytes beyond "
                    f"msg_size {header.msg_size}")
            if end > len(slot):
                raise FieldRangeError(
                    f"{name}: count field asks for {payload.flex_size()} data bytes, the "
                    f"{len(slot)}-byte slot holds fewer")
        if ptype.FLEX:
            setattr(payload, ptype.FLEX, slot[fixed_end:end])
        return cls(header, payload, slot[end:], data_beyond_msg_size=beyond)


def _check_hdr8_rules(header: Header, name: str) -> None:
    if header.token and not header.is_response and is_event_id(header.msg_id):
        raise TokenError(f"{name}: an event's token is 0, not 0x{header.token:x}")
    if header.is_bus and header.dev_id:
        raise FieldRangeError(f"bus {name}: dev_num {header.dev_id}, a bus message carries 0")


def _check_msg_size(msg_size: int, slot_size: int, fmt: HdrFormat = HdrFormat.SEED6) -> None:
    if msg_size < fmt.header_size:
        raise MsgSizeError(f"msg_size {msg_size} is below the header size {fmt.header_size}")
    if msg_size > slot_size:
        raise MsgSizeError(f"msg_size {msg_size} exceeds the {slot_size}-byte slot")


def check_response(request: Message, response: Message) -> None:
    """Raise ResponseMismatchError unless `response` answers `request`: a response of the same
    format, kind (bus/transport), msg_id and dev_id; TokenMismatchError if only the token
    differs (the response carries the request's token)."""
    if not response.is_response:
        raise ResponseMismatchError(f"{response.name} is not a response")
    if request.is_response or request.is_event:
        raise ResponseMismatchError(f"{request.name} expects no response")
    if response.fmt is not request.fmt:
        raise ResponseMismatchError(
            f"{response.name} is a {response.fmt.label} message, the request {request.fmt.label}")
    if (response.is_bus, response.msg_id) != (request.is_bus, request.msg_id):
        raise ResponseMismatchError(f"{response.name} does not answer {request.name}")
    if response.dev_id != request.dev_id:
        raise ResponseMismatchError(
            f"{response.name} from dev {response.dev_id} does not answer dev {request.dev_id}")
    if response.token != request.token:
        raise TokenMismatchError(
            f"{response.name} carries token 0x{response.token:04x}, the request 0x{request.token:04x}")


def peek_header(slot: bytes | bytearray | memoryview, fmt: FormatLike = HdrFormat.SEED6,
                *, strict_type: bool | None = None) -> Header:
    """The header alone (checks only length and reserved type bits)."""
    return Header.decode(slot, fmt, strict_type=strict_type)
