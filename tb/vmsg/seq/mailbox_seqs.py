"""Raw mailbox sequences: legal and malformed messages, built from the wire format rules.

These work below the driver and device models, on one port's PortOps. Every
message is a whole slot; `Shape` says what kind of commit outcome the builder
intended, so that a test can keep its own count per refusal reason.

Messages are built in the simulation's header format (mbox_ref.FORMAT); in the 8-byte header
every message carries a random token (the bus's: the peripheral moves it untouched), events
included, since the peripheral never looks at it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..env import mbox_ref as ref

TRANSPORT_REQ_IDS = list(range(0x02, 0x0D))
BUS_REQ_IDS = [0x02, 0x03]


@dataclass
class Built:
    slot: bytes
    intent: int          # ref code the builder aimed for (ref.NONE: legal)
    doorbell: bool = False


def _slot(type_: int, msg_id: int, dev_id: int, msg_size: int, payload: bytes, slot_size: int,
          token: int = 0) -> bytes:
    hdr = bytes([type_, msg_id]) + dev_id.to_bytes(2, "little")
    if ref.header_size() == ref.HEADER8:
        hdr += token.to_bytes(2, "little")
    hdr += msg_size.to_bytes(2, "little")
    return (hdr + payload).ljust(slot_size, b"\0")[:slot_size]


def _size_at() -> int:
    """Offset of msg_size in the header of the simulation's format."""
    return ref.header_size() - 2


class MessageFactory:
    """Random legal and malformed messages for one direction."""

    def __init__(self, to_device: bool, slot_size: int, num_devs: int, num_vqs: int, rng: random.Random | None = None):
        self.to_device = to_device
        self.slot_size = slot_size
        self.num_devs = num_devs
        self.num_vqs = num_vqs
        self.rng = rng or random

    def _payload(self, n: int) -> bytes:
        return bytes(self.rng.randrange(256) for _ in range(n))

    def legal(self) -> Built:
        r = self.rng
        hs = ref.header_size()
        size = r.randint(hs, self.slot_size)
        if self.to_device:
            bus = r.random() < 0.2
            msg_id = r.choice(BUS_REQ_IDS if bus else TRANSPORT_REQ_IDS)
            type_ = 0x02 if bus else 0x00
        else:
            kind = r.random()
            if kind < 0.7:
                bus = r.random() < 0.2
                msg_id = r.choice(BUS_REQ_IDS if bus else TRANSPORT_REQ_IDS)
                type_ = 0x03 if bus else 0x01
            elif kind < 0.85:
                type_, msg_id = 0x00, r.choice([ref.EVENT_CONFIG, ref.EVENT_USED])
            else:
                type_, msg_id = 0x02, ref.BUS_EVENT_DEVICE
        dev = 0 if type_ & 2 else r.randrange(1 << 16)
        # Bytes beyond msg_size too: the whole slot must cross (the RFC's msg_size quirk).
        payload = self._payload(r.randint(size - hs, self.slot_size - hs))
        return Built(_slot(type_, msg_id, dev, size, payload, self.slot_size, r.randrange(1 << 16)), ref.NONE)

    def doorbell(self, in_range: bool = True) -> Built:
        r = self.rng
        if in_range:
            dev, vq = r.randrange(self.num_devs), r.randrange(self.num_vqs)
        elif r.random() < 0.5:
            dev, vq = r.randrange(self.num_devs, 1 << 16), r.randrange(self.num_vqs)
        else:
            dev, vq = r.randrange(self.num_devs), r.randrange(self.num_vqs, 1 << 16)
        payload = vq.to_bytes(4, "little") + r.randrange(1 << 32).to_bytes(4, "little")
        return Built(_slot(0, ref.EVENT_AVAIL, dev, ref.header_size() + 8, payload, self.slot_size,
                           r.randrange(1 << 16)),
                     ref.NONE if in_range else ref.DB_RANGE, doorbell=in_range)

    def malformed(self, code: int) -> Built:
        """A message the commit must refuse with `code` (one of the framing codes)."""
        r = self.rng
        good = self.legal()
        slot = bytearray(good.slot)
        if code == ref.TYPE_RSVD:
            slot[0] |= r.choice([0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFC])
        elif code == ref.TYPE_DIR:
            if self.to_device:
                choice = r.randrange(3)
                if choice == 0:      # a response from the driver
                    slot[0] |= 0x01
                elif choice == 1:    # a device-to-driver event from the driver
                    slot[0], slot[1] = 0x00, r.choice([ref.EVENT_CONFIG, ref.EVENT_USED])
                else:                # an unknown event id, or a bus event
                    slot[0], slot[1] = r.choice([(0x00, 0x43), (0x02, ref.BUS_EVENT_DEVICE), (0x00, 0x7F)])
            else:
                choice = r.randrange(3)
                if choice == 0:      # a request from the device
                    slot[0], slot[1] = 0x00, r.choice(TRANSPORT_REQ_IDS)
                elif choice == 1:    # EVENT_AVAIL from the device
                    slot[0], slot[1] = 0x00, ref.EVENT_AVAIL
                else:                # a response to an event
                    slot[0], slot[1] = 0x01, r.choice([0x40, 0x41, 0x42])
        elif code == ref.SIZE_SMALL:
            at = _size_at()
            slot[at:at + 2] = r.randrange(0, ref.header_size()).to_bytes(2, "little")
        elif code == ref.SIZE_LARGE:
            at = _size_at()
            slot[at:at + 2] = r.randrange(self.slot_size + 1, 1 << 16).to_bytes(2, "little")
        else:
            raise ValueError(code)
        return Built(bytes(slot), code)
