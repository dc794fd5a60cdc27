"""Message-size rules of the two header formats: what a bus's message size must be.

A bus advertises one message size (the slot size) and a revision. The kernel transports check
them before anything else:

- seed (6-byte header): revision 1 and a message size of at least 44 (MIN_SIZE);
- 2026 tree (8-byte header): revision 1 and at least 50 (HDR8_MIN_SIZE), a bound its static
  asserts set just above the largest fixed message (8 + 40 = 48);
- both: at most 65536 (MAX_SIZE).

QEMU's virtio-msg header defines a 48-byte maximum (HDR8_QEMU_MAX_SIZE): every fixed message of
the 8-byte format fits it, yet the 2026 kernel refuses a bus that small. `check_bus_params`
is the kernel's rule, `largest_fixed_message` and `config_chunk_max` the numbers behind it.
"""
from __future__ import annotations

from .constants import MAX_SIZE, REVISION_1, HdrFormat
from .errors import BusSizeError
from .message import FormatLike, payload_types
from .payloads import GetConfigResp


def check_bus_params(msg_size: int, revision: int = REVISION_1,
                     fmt: FormatLike = HdrFormat.SEED6) -> None:
    """Raise BusSizeError when the kernel transport of `fmt` refuses a bus with this message
    size and revision (revision 1 only; fmt.min_size <= msg_size <= MAX_SIZE)."""
    fmt = HdrFormat.parse(fmt)
    if revision != REVISION_1:
        raise BusSizeError(f"bus revision {revision}: the transport speaks revision {REVISION_1} only")
    if msg_size < fmt.min_size:
        raise BusSizeError(
            f"bus message size {msg_size} is below the {fmt.min_size}-byte minimum of the "
            f"{fmt.label} transport")
    if msg_size > MAX_SIZE:
        raise BusSizeError(f"bus message size {msg_size} exceeds the maximum {MAX_SIZE}")


def largest_fixed_message(fmt: FormatLike = HdrFormat.SEED6) -> int:
    """Header + the largest fixed payload part of any message (42 seed, 48 HDR8)."""
    fmt = HdrFormat.parse(fmt)
    return fmt.header_size + max(ptype.fixed_size() for ptype in payload_types(fmt).values())


def config_chunk_max(msg_size: int, fmt: FormatLike = HdrFormat.SEED6) -> int:
    """Most config bytes one GET_CONFIG response or SET_CONFIG request carries in a message of
    msg_size bytes (msg_size - header - 12), as both kernels split config accesses."""
    fmt = HdrFormat.parse(fmt)
    room = msg_size - fmt.header_size - GetConfigResp.fixed_size()
    if room < 0:
        raise BusSizeError(f"a {msg_size}-byte message has no room for config data ({fmt.label})")
    return room
