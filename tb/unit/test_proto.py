"""Codec: known byte strings written from the struct layouts of virtio_msg.h, round trips, and
every validation error."""
from __future__ import annotations

import random
import struct
from dataclasses import fields

import pytest

from unit_helpers import hx
from vmsg.proto import (MIN_SIZE, PAYLOAD_TYPES, BusId, FieldRangeError, Header, Message,
                        MsgSizeError, PayloadTooShortError, ProtocolError, ReservedTypeBitsError,
                        ShortBufferError, TransportId, UnknownMessageIdError)
from vmsg.proto import payloads as p

SLOT = 64


def enc(msg: Message, size: int = SLOT) -> bytes:
    return msg.encode(size)


# --- known bytes: (message, hand-written bytes up to msg_size or beyond) ---------------------------
KNOWN = [
    ("DEVICE_INFO req",
     Message.make(TransportId.DEVICE_INFO, dev_id=7),
     "00 02 0700 0600"),
    ("DEVICE_INFO resp",
     Message.make(TransportId.DEVICE_INFO, p.GetDeviceInfoResp(2, 0x554D4551, 64, 60, 1, 0, 0),
                  dev_id=7, response=True),
     "01 02 0700 1e00  02000000 51454d55 40000000 3c000000 01000000 0000 0000"),
    ("GET_DEV_FEATURES req",
     Message.make(TransportId.GET_DEV_FEATURES, p.GetFeatures(0, 2), dev_id=7),
     "00 03 0700 0e00  00000000 02000000"),
    ("GET_DEV_FEATURES resp",
     Message.make(TransportId.GET_DEV_FEATURES, p.GetFeaturesResp.from_words(0, [0x20000A44, 1]),
                  dev_id=7, response=True),
     "01 03 0700 1600  00000000 02000000 440a0020 01000000"),
    ("SET_DRV_FEATURES req, spec sizing",
     Message.make(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [0x20000A44, 1]), dev_id=7),
     "00 04 0700 1600  00000000 02000000 440a0020 01000000"),
    ("SET_DRV_FEATURES req, RFC sizing",
     Message.make(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [0x20000A44, 1]), dev_id=7,
                  count_flexible=False),
     "00 04 0700 0e00  00000000 02000000 440a0020 01000000"),
    ("SET_DRV_FEATURES resp",
     Message.make(TransportId.SET_DRV_FEATURES, dev_id=7, response=True),
     "01 04 0700 0600"),
    ("GET_CONFIG req",
     Message.make(TransportId.GET_CONFIG, p.GetConfig(0x1A, 8), dev_id=7),
     "00 05 0700 0e00  1a000000 08000000"),
    ("GET_CONFIG resp",
     Message.make(TransportId.GET_CONFIG, p.GetConfigResp.make(3, 0x1A, bytes(range(1, 9))),
                  dev_id=7, response=True),
     "01 05 0700 1a00  03000000 1a000000 08000000 0102030405060708"),
    ("SET_CONFIG req, RFC sizing",
     Message.make(TransportId.SET_CONFIG, p.SetConfig.make(3, 0x20, b"\xaa\xbb\xcc\xdd"), dev_id=7,
                  count_flexible=False),
     "00 06 0700 1200  03000000 20000000 04000000 aabbccdd"),
    ("SET_CONFIG resp",
     Message.make(TransportId.SET_CONFIG, p.SetConfigResp.make(3, 0x20, b"\xaa\xbb\xcc\xdd"),
                  dev_id=7, response=True),
     "01 06 0700 1600  03000000 20000000 04000000 aabbccdd"),
    ("GET_DEVICE_STATUS req",
     Message.make(TransportId.GET_DEVICE_STATUS, dev_id=7),
     "00 07 0700 0600"),
    ("GET_DEVICE_STATUS resp",
     Message.make(TransportId.GET_DEVICE_STATUS, p.GetDeviceStatusResp(0x0F), dev_id=7, response=True),
     "01 07 0700 0a00  0f000000"),
    ("SET_DEVICE_STATUS req",
     Message.make(TransportId.SET_DEVICE_STATUS, p.SetDeviceStatus(0x0B), dev_id=7),
     "00 08 0700 0a00  0b000000"),
    ("SET_DEVICE_STATUS resp",
     Message.make(TransportId.SET_DEVICE_STATUS, p.SetDeviceStatusResp(0x03), dev_id=7, response=True),
     "01 08 0700 0a00  03000000"),
    ("GET_VQUEUE req",
     Message.make(TransportId.GET_VQUEUE, p.GetVqueue(1), dev_id=7),
     "00 09 0700 0a00  01000000"),
    ("GET_VQUEUE resp: addresses at payload offsets 12, 20, 28",
     Message.make(TransportId.GET_VQUEUE,
                  p.GetVqueueResp(1, 256, 128, 0x1122334455667788, 0x0000000010000080, 0x10001000),
                  dev_id=7, response=True),
     "01 09 0700 2a00  01000000 00010000 80000000 8877665544332211 8000001000000000 0010001000000000"),
    ("SET_VQUEUE req",
     Message.make(TransportId.SET_VQUEUE, p.SetVqueue(1, 0, 128, 0x10000000, 0x10000800, 0x10001000),
                  dev_id=7),
     "00 0a 0700 2a00  01000000 00000000 80000000 0000001000000000 0008001000000000 0010001000000000"),
    ("SET_VQUEUE resp",
     Message.make(TransportId.SET_VQUEUE, dev_id=7, response=True),
     "01 0a 0700 0600"),
    ("RESET_VQUEUE req",
     Message.make(TransportId.RESET_VQUEUE, p.ResetVqueue(1), dev_id=7),
     "00 0b 0700 0a00  01000000"),
    ("RESET_VQUEUE resp",
     Message.make(TransportId.RESET_VQUEUE, dev_id=7, response=True),
     "01 0b 0700 0600"),
    ("GET_SHM req",
     Message.make(TransportId.GET_SHM, p.GetShm(2), dev_id=7),
     "00 0c 0700 0a00  02000000"),
    ("GET_SHM resp",
     Message.make(TransportId.GET_SHM, p.GetShmResp(2, 0x1000, 0x80000000), dev_id=7, response=True),
     "01 0c 0700 1200  02000000 00100000 00000080"),
    ("EVENT_CONFIG",
     Message.make(TransportId.EVENT_CONFIG, p.EventConfig(0x0F, 4, 0x20, 4, b"\x01\x02\x03\x04"), dev_id=7),
     "00 40 0700 1a00  0f000000 04000000 20000000 04000000 01020304"),
    ("EVENT_AVAIL: offset 5, wrap 1",
     Message.make(TransportId.EVENT_AVAIL, p.EventAvail.make(2, 5, 1), dev_id=7),
     "00 41 0700 0e00  02000000 05000080"),
    ("EVENT_USED",
     Message.make(TransportId.EVENT_USED, p.EventUsed(3), dev_id=7),
     "00 42 0700 0a00  03000000"),
    ("bus GET_DEVICES req",
     Message.make(BusId.GET_DEVICES, p.BusGetDevices(8, 16), bus=True),
     "02 02 0000 0a00  0800 1000"),
    ("bus GET_DEVICES resp: devices 9 and 20 of [8, 24)",
     Message.make(BusId.GET_DEVICES, p.BusGetDevicesResp.from_present(8, 16, 24, [9, 20]),
                  bus=True, response=True),
     "03 02 0000 0e00  0800 1000 1800 02 10"),
    ("bus PING req",
     Message.make(BusId.PING, p.BusPing(0xDEADBEEF), bus=True),
     "02 03 0000 0a00  efbeadde"),
    ("bus PING resp",
     Message.make(BusId.PING, p.BusPingResp(0xDEADBEEF), bus=True, response=True),
     "03 03 0000 0a00  efbeadde"),
    ("bus EVENT_DEVICE",
     Message.make(BusId.EVENT_DEVICE, p.BusEventDevice(5, 1), bus=True),
     "02 40 0000 0a00  0500 0100"),
]


@pytest.mark.parametrize("name,msg,wire", KNOWN, ids=[k[0] for k in KNOWN])
def test_known_bytes_encode_and_decode(name, msg, wire):
    expected = hx(wire, SLOT)
    assert enc(msg) == expected
    back = Message.decode(expected)
    assert back.header == msg.header
    assert back.payload == msg.payload
    assert type(back.payload) is type(msg.payload)
    assert back.trailing == bytes(SLOT - len(hx(wire)))


def test_every_struct_has_a_known_byte_test():
    covered = {(m.is_bus, m.is_response, m.msg_id) for _, m, _ in KNOWN}
    assert covered == set(PAYLOAD_TYPES)


def test_header_fields_and_bits():
    h = Header.decode(hx("03 05 3412 1200"))
    assert (h.type, h.msg_id, h.dev_id, h.msg_size) == (3, 5, 0x1234, 0x12)
    assert h.is_response and h.is_bus
    assert Header(0, 0x42, 0xFFFF, 10).encode() == hx("00 42 ffff 0a00")


def test_min_size_is_44_and_every_fixed_struct_fits():
    assert MIN_SIZE == 44
    for ptype in PAYLOAD_TYPES.values():
        assert 6 + ptype.fixed_size() < MIN_SIZE


def test_get_vqueue_resp_struct_is_36_bytes():
    assert p.GetVqueueResp.fixed_size() == 36 and p.SetVqueue.fixed_size() == 36


# --- the msg_size quirk ---------------------------------------------------------------------------
def test_rfc_sized_set_drv_features_flags_data_beyond_msg_size():
    slot = hx("00 04 0100 0e00  00000000 02000000 440a0020 01000000", 44)
    msg = Message.decode(slot)
    assert msg.data_beyond_msg_size
    assert msg.payload.words == [0x20000A44, 1]
    spec = Message.decode(hx("00 04 0100 1600  00000000 02000000 440a0020 01000000", 44))
    assert not spec.data_beyond_msg_size
    assert spec.payload == msg.payload


def test_rfc_sized_set_config_takes_length_from_size_field():
    # 26 data bytes beyond msg_size 18, in a 44-byte slot: exactly fits
    data = bytes(range(0x40, 0x40 + 26))
    slot = hx("00 06 0100 1200  05000000 00000000 1a000000") + data
    msg = Message.decode(slot)
    assert msg.data_beyond_msg_size and msg.payload.config == data and msg.trailing == b""


def test_strict_decode_rejects_rfc_sizing():
    slot = hx("00 06 0100 1200  05000000 00000000 04000000 aabbccdd", 44)
    with pytest.raises(FieldRangeError):
        Message.decode(slot, allow_rfc_sizing=False)


def test_data_beyond_msg_size_is_rejected_for_other_messages():
    # a GET_CONFIG response must count its data
    slot = hx("01 05 0100 1200  00000000 00000000 04000000 aabbccdd", 44)
    with pytest.raises(FieldRangeError):
        Message.decode(slot)
    # so must EVENT_CONFIG and the GET_DEV_FEATURES response
    with pytest.raises(FieldRangeError):
        Message.decode(hx("00 40 0100 1600  00000000 00000000 00000000 04000000 aabbccdd", 44))
    with pytest.raises(FieldRangeError):
        Message.decode(hx("01 03 0100 0e00  00000000 02000000 440a0020 01000000", 44))


def test_stale_trailing_bytes_survive_a_round_trip():
    slot = hx("00 07 0100 0600  0b000000 02000000 440a0020 01000000", 44)
    msg = Message.decode(slot)
    assert msg.payload == p.Empty()
    assert msg.trailing == slot[6:]
    assert msg.encode(44) == slot


# --- validation errors ----------------------------------------------------------------------------
@pytest.mark.parametrize("slot,error", [
    (hx("00 02 0100 06"), ShortBufferError),
    (b"", ShortBufferError),
    (hx("04 02 0100 0600", 44), ReservedTypeBitsError),
    (hx("80 02 0100 0600", 44), ReservedTypeBitsError),
    (hx("00 02 0100 0500", 44), MsgSizeError),
    (hx("00 02 0100 0000", 44), MsgSizeError),
    (hx("00 02 0100 2d00", 44), MsgSizeError),                  # 45 > 44-byte slot
    (hx("00 01 0100 0600", 44), UnknownMessageIdError),         # no transport id 0x01
    (hx("00 0d 0100 0600", 44), UnknownMessageIdError),
    (hx("00 43 0100 0600", 44), UnknownMessageIdError),
    (hx("01 42 0100 0a00 03000000", 44), UnknownMessageIdError),  # events have no response
    (hx("01 41 0100 0e00", 44), UnknownMessageIdError),
    (hx("02 04 0000 0600", 44), UnknownMessageIdError),         # no bus id 0x04
    (hx("03 40 0000 0a00 05000100", 44), UnknownMessageIdError),
    (hx("00 09 0100 0900 010000", 44), PayloadTooShortError),   # GET_VQUEUE needs 4 bytes
    (hx("00 0a 0100 0e00", 44), PayloadTooShortError),          # SET_VQUEUE needs 36
    (hx("01 02 0100 1d00", 44), PayloadTooShortError),          # DEVICE_INFO resp needs 24
    (hx("00 08 0100 0600", 44), PayloadTooShortError),
    (hx("02 02 0000 0800 0000", 44), PayloadTooShortError),
    (hx("00 04 0100 0e00 00000000 0a000000", 44), FieldRangeError),  # 10 words do not fit
    (hx("00 06 0100 1200 00000000 00000000 ffffffff", 44), FieldRangeError),
    (hx("03 02 0000 0c00 0000 0001 0000", 44), FieldRangeError),     # 256-bit bitmap absent
])
def test_decode_errors(slot, error):
    with pytest.raises(error):
        Message.decode(slot)
    assert issubclass(error, ProtocolError)


def test_encode_errors():
    with pytest.raises(FieldRangeError):                # dev_id does not fit u16
        Message.make(TransportId.DEVICE_INFO, dev_id=70000).encode(44)
    with pytest.raises(FieldRangeError):                # num says 2 words, 1 given
        Message.make(TransportId.SET_DRV_FEATURES, p.SetFeatures(0, 2, b"\0" * 4)).encode(44)
    with pytest.raises(FieldRangeError):                # payload larger than the slot
        Message.make(TransportId.SET_CONFIG, p.SetConfig.make(0, 0, bytes(27))).encode(44)
    with pytest.raises(FieldRangeError):                # u32 field overflow
        Message.make(TransportId.GET_VQUEUE, p.GetVqueue(1 << 32)).encode(44)
    msg = Message.make(TransportId.DEVICE_INFO)
    msg.header.msg_size = 5
    with pytest.raises(MsgSizeError):
        msg.encode(44)
    assert msg.encode(44, check=False)[4:6] == b"\x05\x00"     # malformed on purpose
    msg.header.msg_size = 45
    with pytest.raises(MsgSizeError):
        msg.encode(44)


# --- round trips ----------------------------------------------------------------------------------
def _random_payload(ptype, rng: random.Random):
    widths = {"I": 32, "H": 16, "Q": 64, "B": 8}
    codes = ptype.FORMAT.lstrip("<")
    names = ptype._fixed_names()
    values = {n: rng.getrandbits(widths[c]) for n, c in zip(names, codes)}
    for count in ("num", "size"):
        if ptype.FLEX and count in values:
            values[count] = rng.randrange(0, 5)
    payload = ptype(**values)
    if ptype.FLEX:
        setattr(payload, ptype.FLEX, bytes(rng.getrandbits(8) for _ in range(payload.flex_size())))
    return payload


@pytest.mark.parametrize("key", sorted(PAYLOAD_TYPES), ids=lambda k: f"{'bus' if k[0] else 'tr'}-{'resp' if k[1] else 'req'}-{k[2]:#04x}")
def test_round_trip_random_fields(key):
    rng = random.Random(hash(key) & 0xFFFF)
    is_bus, is_resp, msg_id = key
    for _ in range(20):
        payload = _random_payload(PAYLOAD_TYPES[key], rng)
        trailing = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 8)))
        msg = Message.make(msg_id, payload, dev_id=rng.getrandbits(16), bus=is_bus, response=is_resp,
                           trailing=trailing)
        slot = msg.encode(128)
        back = Message.decode(slot)
        assert back.header == msg.header and back.payload == msg.payload
        body = 6 + payload.encoded_size()
        assert back.trailing == trailing + bytes(128 - body - len(trailing))
        assert back.encode(128) == slot


def test_every_payload_field_is_encoded():
    # the dataclass fields and the struct formats agree (no field silently left out)
    for ptype in set(PAYLOAD_TYPES.values()):
        n_fixed = len(ptype.FORMAT.lstrip("<"))
        n_fields = len([f for f in fields(ptype) if f.name != ptype.FLEX])
        assert n_fixed == n_fields, ptype.__name__


def test_event_avail_accessors():
    ev = p.EventAvail(3, 0x80001234)
    assert (ev.next_offset, ev.next_wrap) == (0x1234, 1)
    assert p.EventAvail.make(3, 0x1234, 1) == ev


def test_get_devices_bitmap_is_lsb_first():
    resp = p.BusGetDevicesResp.from_present(16, 24, 0, [16, 23, 24, 39, 40])
    assert resp.devices == bytes([0x81, 0x01, 0x80])       # 40 lies outside [16, 40)
    assert resp.present() == [16, 23, 24, 39]
    assert struct.unpack("<HHH", resp.encode()[:6]) == (16, 24, 0)
