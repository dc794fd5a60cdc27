"""Exceptions of the codec: every way a buffer can fail to be a valid virtio-msg message.

Every one is a ProtocolError; the same classes serve both header formats."""
from __future__ import annotations


class ProtocolError(Exception):
    """A buffer is not a well-formed virtio-msg message (or a message cannot be encoded)."""


class ShortBufferError(ProtocolError):
    """The buffer is shorter than the header, or than the bytes the message needs."""


class MsgSizeError(ProtocolError):
    """The header's msg_size is below the header size or larger than the slot."""


class ReservedTypeBitsError(ProtocolError):
    """Type bits 7:2 are not zero (where the format's receiver or sender refuses them)."""


class UnknownMessageIdError(ProtocolError):
    """The msg_id is not defined for this class (transport/bus, request/response)."""


class PayloadTooShortError(ProtocolError):
    """msg_size leaves less room than the fixed part of the payload struct."""


class FieldRangeError(ProtocolError):
    """A num/size field asks for more data than fits, or a field value does not fit its width."""


class TokenError(ProtocolError):
    """A token the format cannot carry, or one the rules forbid (an event's token is 0)."""


class ResponseMismatchError(ProtocolError):
    """A response does not answer the request it is matched with (kind, msg_id or dev_id)."""


class TokenMismatchError(ResponseMismatchError, TokenError):
    """A response's token is not its request's (the response carries the request's token)."""


class BusSizeError(MsgSizeError):
    """A bus's message size (or revision) that the kernel transport of the format refuses."""
