"""Codec of the virtio-msg wire format (revision 1): every struct of virtio_msg.h, in both
header formats.

    from vmsg.proto import HdrFormat, Message, TransportId, payloads as p
    slot = Message.make(TransportId.GET_CONFIG, p.GetConfig(0, 8), dev_id=1).encode(64)
    msg = Message.decode(slot)

The format is a choice (`HdrFormat`): SEED6, the default everywhere, is the July 2025 RFC's
6-byte header {type, msg_id, dev_id, msg_size}; HDR8 is the 8-byte header {type, msg_id,
dev_num, token, msg_size} of the specification draft and the 2026 kernel tree, with aligned
SET_VQUEUE / GET_VQUEUE-response payloads. Pass `fmt=HdrFormat.HDR8` to make, decode and
peek_header; a message keeps its format. The revision (1) is the same in both, so the format
is a property of the bus, never guessed from the bytes. See message.py for what differs.

    req = Message.make(TransportId.GET_VQUEUE, p.GetVqueue(0), dev_id=1, fmt=HdrFormat.HDR8, token=7)
    resp = req.reply(p.GetVqueueResp8(0, 256))      # carries token 7
    check_response(req, resp)
"""
from . import constants, payloads
from .constants import *  # noqa: F401,F403  (the constants are the module's vocabulary)
from .errors import (BusSizeError, FieldRangeError, MsgSizeError, PayloadTooShortError, ProtocolError,
                     ReservedTypeBitsError, ResponseMismatchError, ShortBufferError, TokenError,
                     TokenMismatchError, UnknownMessageIdError)
from .header import Header
from .message import (HDR8_PAYLOAD_TYPES, PAYLOAD_TYPES, RFC_DATA_BEYOND_MSG_SIZE, Message,
                      check_response, is_event_id, message_name, payload_type, payload_types,
                      peek_header)
from .sizes import check_bus_params, config_chunk_max, largest_fixed_message

__all__ = [
    "constants", "payloads", "Header", "Message", "PAYLOAD_TYPES", "RFC_DATA_BEYOND_MSG_SIZE",
    "is_event_id", "message_name", "payload_type", "peek_header", "ProtocolError", "ShortBufferError",
    "MsgSizeError", "ReservedTypeBitsError", "UnknownMessageIdError", "PayloadTooShortError",
    "FieldRangeError",
    "HDR8_PAYLOAD_TYPES", "payload_types", "check_response", "check_bus_params", "config_chunk_max",
    "largest_fixed_message", "TokenError", "TokenMismatchError", "ResponseMismatchError", "BusSizeError",
] + list(constants.__all__)
