"""Codec of the virtio-msg wire format (revision 1): every struct of virtio_msg.h.

    from vmsg.proto import Message, TransportId, payloads as p
    slot = Message.make(TransportId.GET_CONFIG, p.GetConfig(0, 8), dev_id=1).encode(64)
    msg = Message.decode(slot)
"""
from . import constants, payloads
from .constants import *  # noqa: F401,F403  (the constants are the module's vocabulary)
from .errors import (FieldRangeError, MsgSizeError, PayloadTooShortError, ProtocolError,
                     ReservedTypeBitsError, ShortBufferError, UnknownMessageIdError)
from .header import Header
from .message import (PAYLOAD_TYPES, RFC_DATA_BEYOND_MSG_SIZE, Message, is_event_id, message_name,
                      payload_type, peek_header)

__all__ = [
    "constants", "payloads", "Header", "Message", "PAYLOAD_TYPES", "RFC_DATA_BEYOND_MSG_SIZE",
    "is_event_id", "message_name", "payload_type", "peek_header", "ProtocolError", "ShortBufferError",
    "MsgSizeError", "ReservedTypeBitsError", "UnknownMessageIdError", "PayloadTooShortError",
    "FieldRangeError",
] + list(constants.__all__)
