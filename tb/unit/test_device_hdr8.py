"""The device model in the 8-byte header format (specification draft rules), and the 6-byte
format's behaviour it must keep."""
from __future__ import annotations

import pytest

from unit_helpers import hx, run
from vmsg.models import BlkDevice, DeviceBus, GenericDevice, NullQueueBackend
from vmsg.proto import BusId, Feature, HdrFormat, Message, TransportId, check_response, feature_bit
from vmsg.proto import payloads as p

H8 = HdrFormat.HDR8
S6 = HdrFormat.SEED6
V1 = feature_bit(Feature.VERSION_1)


def req(msg_id, payload=None, dev_id=1, token=0x1234, fmt=H8, **kw) -> Message:
    return Message.make(msg_id, payload, dev_id=dev_id, fmt=fmt, token=token if fmt is H8 else 0, **kw)


class Dev8:
    """One DeviceBus with one device at number 1; `ask` returns the decoded answers."""

    def __init__(self, device, msg_size=64, fmt=H8, **kw):
        self.bus = DeviceBus(msg_size, NullQueueBackend(), fmt=fmt, **kw)
        self.dev = device
        self.bus.add(1, device)
        self.msg_size = msg_size
        self.fmt = fmt

    def raw(self, slot: bytes) -> list[bytes]:
        return run(self.bus.handle(slot))

    def ask(self, msg: Message, check: bool = True) -> list[Message]:
        return [Message.decode(s, fmt=self.fmt) for s in self.raw(msg.encode(self.msg_size, check=check))]

    def one(self, msg: Message) -> Message:
        out = self.ask(msg)
        assert len(out) == 1
        check_response(msg, out[0])                 # kind, id, dev_num and token
        return out[0]


@pytest.mark.parametrize("token", [0, 1, 0x8001, 0xFFFF])
def test_every_response_carries_the_request_token(token):
    d = Dev8(GenericDevice(9, V1, bytes(16), [8]))
    requests = [
        req(TransportId.DEVICE_INFO, token=token),
        req(TransportId.GET_DEV_FEATURES, p.GetFeatures(0, 2), token=token),
        req(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [0, 1]), token=token),
        req(TransportId.GET_CONFIG, p.GetConfig(0, 4), token=token),
        req(TransportId.SET_CONFIG, p.SetConfig.make(0, 0, b"ab"), token=token),
        req(TransportId.GET_DEVICE_STATUS, token=token),
        req(TransportId.SET_DEVICE_STATUS, p.SetDeviceStatus(1), token=token),
        req(TransportId.GET_VQUEUE, p.GetVqueue(0), token=token),
        req(TransportId.SET_VQUEUE, p.SetVqueue8(0, 0, 8, 0x1000, 0x1080, 0x2000), token=token),
        req(TransportId.RESET_VQUEUE, p.ResetVqueue(0), token=token),
        req(TransportId.GET_SHM, p.GetShm(0), token=token),
        Message.make(BusId.PING, p.BusPing(7), bus=True, fmt=H8, token=token),
        Message.make(BusId.GET_DEVICES, p.BusGetDevices(0, 8), bus=True, fmt=H8, token=token),
    ]
    for r in requests:
        resp = d.one(r)
        assert resp.token == token and resp.fmt is H8, r.name
        assert resp.header.msg_size == 8 + resp.payload.encoded_size()


def test_responses_and_events_use_the_8_byte_header_and_aligned_queue_payload():
    d = Dev8(GenericDevice(9, V1, bytes(16), [8]))
    d.one(req(TransportId.SET_VQUEUE, p.SetVqueue8(0, 0, 8, 0x11223344_55667788, 0x1080, 0x2000), token=5))
    slot = d.raw(req(TransportId.GET_VQUEUE, p.GetVqueue(0), token=6).encode(64))[0]
    # index 0, max 8, size 8, reserved 0, then the addresses at payload offsets 16, 24, 32
    assert slot == hx("01 09 0100 0600 3000  00000000 08000000 08000000 00000000"
                      " 8877665544332211 8010000000000000 0020000000000000", 64)
    assert run(d.bus.change_config(1, 0, b"\x05"))[:8] == hx("00 40 0100 0000 1900")   # event: token 0, 8 + 16 + 1
    assert d.bus.event_used(1, 0) == hx("00 42 0100 0000 0c00  00000000", 64)
    assert run(d.bus.hotplug(9, GenericDevice(9, V1))) == hx("02 40 0000 0000 0c00  0900 0100", 64)


def test_seed_layout_set_vqueue_is_too_short_in_hdr8_and_dropped():
    d = Dev8(GenericDevice(9, V1, b"", [8]))
    seed_sized = bytearray(req(TransportId.SET_VQUEUE, p.SetVqueue8(0, 0, 8)).encode(64))
    seed_sized[6:8] = (8 + 36).to_bytes(2, "little")          # the 36-byte seed payload size
    assert d.raw(bytes(seed_sized)) == []
    assert d.bus.drops["PayloadTooShortError"] == 1 and not d.dev.queues[0].active


def test_feature_blocks_beyond_the_device_read_as_zero():
    d = Dev8(GenericDevice(9, V1 | 0x5, b"", []))
    assert d.one(req(TransportId.GET_DEV_FEATURES, p.GetFeatures(0, 2))).payload.words == [5, 1]
    assert d.one(req(TransportId.GET_DEV_FEATURES, p.GetFeatures(1, 3))).payload.words == [1, 0, 0]
    assert d.one(req(TransportId.GET_DEV_FEATURES, p.GetFeatures(2, 4))).payload.words == [0, 0, 0, 0]


def test_refused_set_config_answers_length_0_with_the_token():
    d = Dev8(GenericDevice(9, V1, bytes(8), []))
    run(d.bus.change_config(1, 0, b"\x01"))                   # generation 1
    resp = d.one(req(TransportId.SET_CONFIG, p.SetConfig.make(0, 2, b"zz"), token=0x77))
    assert (resp.payload.size, resp.payload.generation, resp.token) == (0, 1, 0x77)
    assert resp.header.msg_size == 8 + 12 and bytes(d.dev.config[2:4]) == b"\0\0"
    assert d.bus.refusals["stale_set_config"] == 1
    ok = d.one(req(TransportId.SET_CONFIG, p.SetConfig.make(1, 2, b"zz")))
    assert ok.payload.config == b"zz" and bytes(d.dev.config[2:4]) == b"zz"


def test_hdr8_refuses_data_beyond_msg_size_and_takes_the_counted_sizing():
    d = Dev8(GenericDevice(9, V1, bytes(8), []))
    rfc = req(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [3, 1]), count_flexible=False)
    assert d.ask(rfc) == [] and d.bus.drops["FieldRangeError"] == 1
    rfc_cfg = req(TransportId.SET_CONFIG, p.SetConfig.make(0, 0, b"q"), count_flexible=False)
    assert d.ask(rfc_cfg) == [] and d.bus.drops["FieldRangeError"] == 2
    assert d.dev.driver_features == [0, 0] and d.dev.config[0] == 0
    d.one(req(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [3, 1])))
    assert d.dev.driver_features == [3, 1]


@pytest.mark.parametrize("count_flexible", [False, True])
def test_seed_format_keeps_accepting_both_msg_size_styles(count_flexible):
    d = Dev8(GenericDevice(9, V1, bytes(8), []), msg_size=44, fmt=S6)
    assert d.bus.fmt is S6 and d.bus.strict_sizing is False
    d.one(Message.make(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [3, 1]), dev_id=1,
                       count_flexible=count_flexible))
    d.one(Message.make(TransportId.SET_CONFIG, p.SetConfig.make(0, 1, b"w"), dev_id=1,
                       count_flexible=count_flexible))
    assert d.dev.driver_features == [3, 1] and d.dev.config[1:2] == b"w" and not d.bus.drops


def _slot(text: str) -> bytes:
    return hx(text, 64)


@pytest.mark.parametrize("slot,reason", [
    (_slot("00 02 0100 0100 4100"), "MsgSizeError"),                 # msg_size beyond the slot
    (_slot("00 02 0100 0100 0600"), "MsgSizeError"),                 # below the 8-byte header
    (_slot("00 7f 0100 0100 0800"), "UnknownMessageIdError"),        # unknown transport id
    (_slot("02 7f 0000 0100 0800"), "UnknownMessageIdError"),        # unknown bus id
    (_slot("01 07 0100 0100 0c00 00000000"), "response_to_device"),  # a response sent to the device
    (_slot("00 03 0100 0100 0c00 00000000"), "PayloadTooShortError"),  # GET_DEV_FEATURES cut short
    (_slot("02 03 0500 0100 0c00 01000000"), "FieldRangeError"),     # bus PING with dev_num 5
    (_slot("00 02 0200 0100 0800"), "unknown_device"),               # no device 2: no fake response
    (_slot("00 42 0100 0000 0c00 00000000"), "unexpected_event"),    # EVENT_USED to the device
    (_slot("02 40 0000 0000 0c00 0100 0100"), "unexpected_event"),   # EVENT_DEVICE to the device
])
def test_malformed_or_unknown_messages_are_discarded_and_counted(slot, reason):
    d = Dev8(GenericDevice(9, V1, b"", [8]))
    assert d.raw(slot) == []
    assert dict(d.bus.drops) == {reason: 1}
    assert d.dev.status == 0 and not d.dev.kicks


def test_reserved_type_bits_are_ignored_on_receive():
    d = Dev8(GenericDevice(9, V1, b"", []))
    slot = bytearray(req(TransportId.GET_DEVICE_STATUS, token=3).encode(64))
    slot[0] |= 0xFC
    out = d.raw(bytes(slot))
    assert len(out) == 1 and out[0][0] == 0x01 and out[0][4:6] == b"\x03\x00"   # sent as zero
    assert not d.bus.drops


def test_kick_with_a_nonzero_event_token_is_still_served():
    dev = GenericDevice(9, V1, b"", [8])
    d = Dev8(dev)
    d.one(req(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [0, 1])))
    for status in (1, 3, 0xB):
        d.one(req(TransportId.SET_DEVICE_STATUS, p.SetDeviceStatus(status)))
    d.one(req(TransportId.SET_VQUEUE, p.SetVqueue8(0, 0, 8, 0x1000, 0x1080, 0x2000)))
    d.one(req(TransportId.SET_DEVICE_STATUS, p.SetDeviceStatus(0xF)))
    kick = Message.make(TransportId.EVENT_AVAIL, p.EventAvail(0, 0), dev_id=1, fmt=H8)
    slot = bytearray(kick.encode(64))
    slot[4:6] = b"\x09\x00"                                   # the draft: kept, otherwise ignored
    assert d.raw(bytes(slot)) == [] and [k.vq for k in dev.kicks] == [0] and not d.bus.drops


def test_get_devices_window_counts_the_8_byte_header():
    d = Dev8(BlkDevice(), msg_size=50)
    d.bus.add(300, BlkDevice())
    resp = d.one(Message.make(BusId.GET_DEVICES, p.BusGetDevices(0, 512), bus=True, fmt=H8, token=2))
    # (50 - 8 - 6) bytes of bitmap = 288 device numbers (the seed's header would leave 304)
    assert (resp.payload.num, resp.payload.next_offset) == (288, 288)
    assert resp.payload.present() == [1] and resp.token == 2


def test_default_device_bus_is_the_seed_format():
    bus = DeviceBus(44)
    assert bus.fmt is S6 and bus.strict_sizing is False
    assert DeviceBus(64, fmt="hdr8").strict_sizing is True
    assert DeviceBus(64, fmt=H8, strict_sizing=False).strict_sizing is False


def test_event_config_carries_data_only_when_it_fits_the_8_byte_slot():
    d = Dev8(GenericDevice(9, V1, bytes(40), []), msg_size=50)
    fits = Message.decode(run(d.bus.change_config(1, 0, bytes(range(1, 27)))), fmt=H8)   # 8 + 16 + 26 = 50
    assert (fits.payload.size, fits.payload.config, fits.token) == (26, bytes(range(1, 27)), 0)
    too_big = Message.decode(run(d.bus.change_config(1, 0, bytes(27))), fmt=H8)
    assert (too_big.payload.offset, too_big.payload.size, too_big.payload.generation) == (0, 0, 2)
    assert bytes(d.dev.config[:27]) == bytes(27)                # the change itself is made
