"""Exceptions of the codec: every way a buffer can fail to be a valid virtio-msg message."""
from __future__ import annotations


class ProtocolError(Exception):
    """A buffer is not a well-formed virtio-msg message (or a message cannot be encoded)."""


class ShortBufferError(ProtocolError):
    """The buffer is shorter than the header, or than the bytes the message needs."""


class MsgSizeError(ProtocolError):
    """The header's msg_size is below the header size or larger than the slot."""


class ReservedTypeBitsError(ProtocolError):
    """Type bits 7:2 are not zero."""


class UnknownMessageIdError(ProtocolError):
    """The msg_id is not defined for this class (transport/bus, request/response)."""


class PayloadTooShortError(ProtocolError):
    """msg_size leaves less room than the fixed part of the payload struct."""


class FieldRangeError(ProtocolError):
    """A num/size field asks for more data than fits, or a field value does not fit its width."""
