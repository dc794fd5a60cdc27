"""Device model (the firmware side) answering messages built with the codec."""
from __future__ import annotations

import pytest

from unit_helpers import hx, run
from vmsg.models import BlkDevice, DeviceBus, GenericDevice, NullQueueBackend, RngDevice
from vmsg.models.blk_defs import BLK_CFG_WCE, VIRTIO_BLK_F_FLUSH
from vmsg.models.device import NEEDS_RESET
from vmsg.proto import BusId, Feature, Message, TransportId, feature_bit
from vmsg.proto import payloads as p

V1 = feature_bit(Feature.VERSION_1)
EVENT_IDX = feature_bit(Feature.RING_EVENT_IDX)


def req(msg_id, payload=None, dev_id=1, **kw) -> Message:
    return Message.make(msg_id, payload, dev_id=dev_id, **kw)


class Dev:
    """One DeviceBus with one device at number 1; `ask` returns the decoded answers."""

    def __init__(self, device, msg_size=44, **kw):
        self.bus = DeviceBus(msg_size, NullQueueBackend(), **kw)
        self.dev = device
        self.bus.add(1, device)
        self.msg_size = msg_size

    def raw(self, slot: bytes) -> list[bytes]:
        return run(self.bus.handle(slot))

    def ask(self, msg: Message) -> list[Message]:
        return [Message.decode(s) for s in self.raw(msg.encode(self.msg_size))]

    def one(self, msg: Message) -> Message:
        out = self.ask(msg)
        assert len(out) == 1 and out[0].is_response and out[0].msg_id == msg.msg_id
        assert out[0].dev_id == msg.dev_id
        return out[0]

    def status(self, value: int) -> int:
        return self.one(req(TransportId.SET_DEVICE_STATUS, p.SetDeviceStatus(value))).payload.status

    def set_features(self, features: int, **kw) -> None:
        self.one(req(TransportId.SET_DRV_FEATURES,
                     p.SetFeatures.from_words(0, [features & 0xFFFFFFFF, features >> 32]), **kw))


def test_device_info_of_each_type():
    blk = Dev(BlkDevice()).one(req(TransportId.DEVICE_INFO)).payload
    assert (blk.device_id, blk.num_feature_bits, blk.config_size, blk.max_vq_count) == (2, 64, 60, 1)
    rng = Dev(RngDevice()).one(req(TransportId.DEVICE_INFO)).payload
    assert (rng.device_id, rng.config_size, rng.max_vq_count) == (4, 0, 1)
    gen = Dev(GenericDevice(33, V1, bytes(10), [4, 0, 16], vendor_id=0x1234)).one(req(TransportId.DEVICE_INFO))
    assert gen.payload == p.GetDeviceInfoResp(33, 0x1234, 64, 10, 3, 0, 0)
    assert gen.header.msg_size == 30


@pytest.mark.parametrize("index,num,words", [
    (0, 2, [0x20000A44 | 0, 1]),
    (1, 1, [1]),
    (2, 2, [0, 0]),                      # beyond 64 feature bits: zeros
    (0, 20, [0x20000A44, 1, 0, 0, 0, 0, 0]),   # only 7 words fit a 44-byte response
])
def test_get_dev_features(index, num, words):
    d = Dev(BlkDevice(event_idx=True))
    resp = d.one(req(TransportId.GET_DEV_FEATURES, p.GetFeatures(index, num))).payload
    assert (resp.index, resp.num, resp.words) == (index, len(words), words)


def test_set_drv_features_both_sizings_and_index():
    d = Dev(GenericDevice(9, V1 | 0xFF, b"", [4]))
    d.set_features(V1 | 0x0F, count_flexible=False)              # RFC sizing
    assert d.dev.negotiated == V1 | 0x0F
    d.set_features(V1 | 0xF0, count_flexible=True)               # spec sizing
    assert d.dev.negotiated == V1 | 0xF0
    d.one(req(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(1, [0, 7])))  # word 2 ignored
    assert d.dev.driver_features == [0xF0, 0]
    resp = d.one(req(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [1])))
    assert resp.header.msg_size == 6 and resp.payload == p.Empty()


def test_strict_device_drops_rfc_sized_features():
    d = Dev(GenericDevice(9, V1, b"", [4]), strict_sizing=True)
    msg = req(TransportId.SET_DRV_FEATURES, p.SetFeatures.from_words(0, [1, 1]), count_flexible=False)
    assert d.ask(msg) == [] and d.bus.drops["FieldRangeError"] == 1


def test_status_machine_and_feature_refusal():
    d = Dev(BlkDevice(event_idx=False, refuse=lambda f: bool(f & feature_bit(VIRTIO_BLK_F_FLUSH))))
    assert d.status(1) == 1 and d.status(3) == 3
    d.set_features(V1 | feature_bit(VIRTIO_BLK_F_FLUSH))         # refused combination
    assert d.status(0x0B) == 0x03
    d.set_features(V1 | EVENT_IDX)                               # not offered
    assert d.status(0x0B) == 0x03
    d.set_features(0)                                            # no VERSION_1
    assert d.status(0x0B) == 0x03
    d.set_features(V1)
    assert d.status(0x0B) == 0x0B
    d.set_features(V1 | feature_bit(6))                          # after FEATURES_OK: ignored
    assert d.dev.negotiated == V1 and d.bus.refusals["features_after_features_ok"] == 1
    assert d.status(0x0F) == 0x0F
    assert d.bus.refusals["features_refused"] == 3


def test_reset_keeps_generation_clears_everything_else():
    d = Dev(GenericDevice(9, V1, bytes(8), [4]))
    d.status(3)
    d.set_features(V1)
    d.status(0x0B)
    d.one(req(TransportId.SET_VQUEUE, p.SetVqueue(0, 0, 4, 0x1000, 0x2000, 0x3000)))
    run(d.bus.change_config(1, 0, b"\x01"))
    assert d.dev.generation == 1
    assert d.status(0) == 0
    assert d.dev.negotiated == 0 and not d.dev.queues[0].active and d.dev.generation == 1
    assert d.bus.backend.calls[-1] == ("device_reset", 1)
    get = d.one(req(TransportId.GET_CONFIG, p.GetConfig(0, 0))).payload
    assert get.generation == 1


def test_needs_reset_is_sticky_until_reset():
    d = Dev(GenericDevice(9, V1, bytes(8), [4]))
    d.set_features(V1)
    d.status(0x0B)
    ev = Message.decode(run(d.bus.set_needs_reset(1)))
    assert ev.msg_id == TransportId.EVENT_CONFIG and ev.payload.status == 0x4B
    assert d.status(0x0F) == 0x4F                # the driver cannot clear it
    assert d.status(0) == 0


def test_status_bits_cleared_is_counted():
    d = Dev(GenericDevice(9, V1, b"", [4]))
    d.status(3)
    assert d.status(1) == 3                          # held bits are kept: only reset clears them
    assert d.bus.refusals["status_bits_cleared"] == 1 and d.dev.status == 3


def test_config_bounds_and_slot_limits():
    d = Dev(GenericDevice(9, V1, bytes(range(40)), [4]))
    ok = d.one(req(TransportId.GET_CONFIG, p.GetConfig(14, 26))).payload
    assert ok.config == bytes(range(14, 40)) and ok.size == 26
    for offset, size in [(14, 27), (39, 2), (0, 40)]:            # beyond config or beyond a slot
        resp = d.one(req(TransportId.GET_CONFIG, p.GetConfig(offset, size))).payload
        assert resp.size == 0 and resp.config == b""
    assert d.bus.refusals["config_read_out_of_range"] == 3


def test_set_config_generation_read_only_and_echo():
    d = Dev(BlkDevice())
    wce = d.one(req(TransportId.SET_CONFIG, p.SetConfig.make(0, BLK_CFG_WCE, b"\x01"))).payload
    assert wce == p.SetConfigResp.make(0, BLK_CFG_WCE, b"\x01") and d.dev.config[BLK_CFG_WCE] == 1
    ro = d.one(req(TransportId.SET_CONFIG, p.SetConfig.make(0, 0, b"\x01"))).payload
    assert ro.size == 0 and d.dev.config[0] == 0 and d.bus.refusals["config_write_read_only"] == 1
    run(d.bus.change_config(1, 0, b"\x09"))
    stale = d.one(req(TransportId.SET_CONFIG, p.SetConfig.make(0, BLK_CFG_WCE, b"\x00"))).payload
    assert (stale.generation, stale.size) == (1, 0) and d.dev.config[BLK_CFG_WCE] == 1
    fresh = d.one(req(TransportId.SET_CONFIG, p.SetConfig.make(1, BLK_CFG_WCE, b"\x00"))).payload
    assert fresh.size == 1 and d.dev.config[BLK_CFG_WCE] == 0 and d.dev.generation == 1


def test_change_config_event_carries_data_when_it_fits():
    d = Dev(GenericDevice(9, V1, bytes(64), [4]))
    small = Message.decode(run(d.bus.change_config(1, 4, b"\xab" * 22)))
    assert small.payload == p.EventConfig(0, 1, 4, 22, b"\xab" * 22) and small.header.msg_size == 44
    big = Message.decode(run(d.bus.change_config(1, 0, b"\xcd" * 23)))
    assert big.payload == p.EventConfig(0, 2, 0, 0, b"")
    assert bytes(d.dev.config[0:23]) == b"\xcd" * 23


def test_vqueue_get_set_reset():
    d = Dev(GenericDevice(9, V1 | EVENT_IDX, b"", [16, 0]))
    d.set_features(V1 | EVENT_IDX)
    assert d.one(req(TransportId.GET_VQUEUE, p.GetVqueue(0))).payload == p.GetVqueueResp(0, 16)
    assert d.one(req(TransportId.GET_VQUEUE, p.GetVqueue(1))).payload.max_size == 0
    assert d.one(req(TransportId.GET_VQUEUE, p.GetVqueue(7))).payload == p.GetVqueueResp(7)
    for bad in [p.SetVqueue(0, 0, 12, 1, 2, 3), p.SetVqueue(0, 0, 32, 1, 2, 3), p.SetVqueue(0, 0, 0, 1, 2, 3),
                p.SetVqueue(1, 0, 4, 1, 2, 3), p.SetVqueue(9, 0, 4, 1, 2, 3)]:
        assert d.one(req(TransportId.SET_VQUEUE, bad)).header.msg_size == 6
    assert d.bus.refusals["bad_set_vqueue"] == 5 and d.bus.backend.calls == []
    d.one(req(TransportId.SET_VQUEUE, p.SetVqueue(0, 0, 8, 0x1000, 0x2000, 0x3000)))
    assert d.bus.backend.calls == [("configure_queue", 1, 0, 8, 0x1000, 0x2000, 0x3000, True)]
    assert d.one(req(TransportId.GET_VQUEUE, p.GetVqueue(0))).payload == p.GetVqueueResp(0, 16, 8, 0x1000, 0x2000, 0x3000)
    assert d.one(req(TransportId.RESET_VQUEUE, p.ResetVqueue(0))).header.msg_size == 6
    assert d.bus.backend.calls[-1] == ("reset_queue", 1, 0) and not d.dev.queues[0].active
    d.one(req(TransportId.RESET_VQUEUE, p.ResetVqueue(5)))        # still answered
    assert d.bus.refusals["bad_reset_vqueue"] == 1


def test_get_shm_and_ping():
    d = Dev(RngDevice())
    assert d.one(req(TransportId.GET_SHM, p.GetShm(0))).payload == p.GetShmResp(0, 0, 0)
    pong = d.one(Message.make(BusId.PING, p.BusPing(0x12345678), bus=True))
    assert pong.is_bus and pong.payload.data == 0x12345678
    assert pong.encode(44) == hx("03 03 0000 0a00 78563412", 44)


@pytest.mark.parametrize("slot,reason", [
    (hx("00 02 01"), "ShortBufferError"),
    (hx("10 02 0100 0600", 44), "ReservedTypeBitsError"),
    (hx("00 02 0100 3000", 44), "MsgSizeError"),
    (hx("00 0d 0100 0600", 44), "UnknownMessageIdError"),
    (hx("00 09 0100 0600", 44), "PayloadTooShortError"),
    (hx("01 07 0100 0a00 00000000", 44), "response_to_device"),
    (hx("00 02 0900 0600", 44), "unknown_device"),
    (hx("00 42 0100 0a00 00000000", 44), "unexpected_event"),
    (hx("00 40 0100 1600", 44), "unexpected_event"),
    (hx("02 40 0000 0a00 0100 0100", 44), "unexpected_event"),
    (hx("02 02 0000 0a00 0400 0800", 44), "get_devices_misaligned"),
    (hx("02 02 0000 0a00 0000 0c00", 44), "get_devices_misaligned"),
])
def test_malformed_and_unexpected_messages_are_dropped_and_counted(slot, reason):
    d = Dev(GenericDevice(9, V1, b"", [4]))
    assert d.raw(slot) == []
    assert d.bus.drops == {reason: 1}


def test_kicks_need_driver_ok_and_an_active_queue():
    d = Dev(GenericDevice(9, V1, b"", [4, 4]))
    kick = lambda vq, data=0: req(TransportId.EVENT_AVAIL, p.EventAvail(vq, data))
    assert d.ask(kick(0)) == [] and d.bus.drops["kick_without_driver"] == 1   # status 0: a stale doorbell
    d.status(1)
    assert d.ask(kick(0)) == [] and d.bus.drops["kick_without_driver"] == 2   # no driver bound yet
    d.status(3)
    ev = d.ask(kick(0))                              # the driver started: a kick before DRIVER_OK
    assert [m.msg_id for m in ev] == [TransportId.EVENT_CONFIG] and ev[0].payload.status & NEEDS_RESET
    assert d.bus.refusals["kick_before_driver_ok"] == 1 and d.dev.kicks == []
    assert d.ask(kick(0)) == [] and d.bus.drops["kick_needs_reset"] == 1      # announced once
    d.status(0)
    d.status(3)
    d.set_features(V1)
    d.status(0x0B)
    d.one(req(TransportId.SET_VQUEUE, p.SetVqueue(0, 0, 4, 0x1000, 0x2000, 0x3000)))
    d.status(0x0F)
    assert d.ask(kick(1)) == [] and d.bus.drops["kick_inactive_queue"] == 1
    assert d.ask(kick(5)) == [] and d.bus.drops["kick_inactive_queue"] == 2
    assert d.ask(kick(0, 0x80000003)) == []
    assert [(k.vq, k.data) for k in d.dev.kicks] == [(0, 0x80000003)]
    assert run(d.bus.kick(7, 0, 0)) == [] and d.bus.drops["kick_unknown_device"] == 1


def test_hotplug_and_remove_messages():
    bus = DeviceBus(44)
    ready = run(bus.hotplug(300, RngDevice()))
    assert ready == hx("02 40 0000 0a00 2c01 0100", 44)
    gone = run(bus.remove(300))
    assert gone == hx("02 40 0000 0a00 2c01 0200", 44)
    assert bus.backend.calls == [("device_reset", 300)] and 300 not in bus.devices


def _get_devices(bus: DeviceBus, offset: int, num: int, msg_size=44) -> p.BusGetDevicesResp:
    out = run(bus.handle(Message.make(BusId.GET_DEVICES, p.BusGetDevices(offset, num), bus=True).encode(msg_size)))
    assert len(out) == 1
    return Message.decode(out[0]).payload


def test_get_devices_windows():
    bus = DeviceBus(44)
    for n in (0, 3, 8, 300, 65535):
        bus.add(n, RngDevice())
    first = _get_devices(bus, 0, 16)
    assert (first.num, first.next_offset, first.present()) == (16, 16, [0, 3, 8])
    assert first.devices == bytes([0x09, 0x01])
    big = _get_devices(bus, 0, 4096)                          # only 256 bits fit a 44-byte slot
    assert (big.num, big.next_offset) == (256, 256)
    last = _get_devices(bus, 65528, 256)                      # window clipped at 65536
    assert (last.num, last.next_offset, last.present()) == (8, 0, [65535])
    bus.get_devices_max = 8
    assert _get_devices(bus, 0, 64).num == 8
    bus.get_devices_skip_empty = True
    skip = _get_devices(bus, 16, 64)
    assert (skip.num, skip.next_offset, skip.present()) == (8, 296, [])
    bus2 = DeviceBus(44)
    bus2.add(2, RngDevice())
    assert _get_devices(bus2, 0, 8).next_offset == 0          # nothing beyond the window


# --- the status state machine and the spec's error rules -------------------------------------------
def ready(d: Dev, features: int = V1, queues=(0,), size: int = 4) -> None:
    """ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK: the spec's order."""
    d.status(3)
    d.set_features(features)
    assert d.status(0x0B) == 0x0B
    for q in queues:
        d.one(req(TransportId.SET_VQUEUE, p.SetVqueue(q, 0, size, 0x1000 * (q + 1), 0x10000, 0x20000)))
    assert d.status(0x0F) == 0x0F


def test_features_ok_without_driver_is_refused():
    d = Dev(GenericDevice(9, V1, b"", [4]))
    d.status(1)
    d.set_features(V1)
    assert d.status(0x09) == 0x01 and d.bus.refusals["features_ok_without_driver"] == 1


def test_driver_ok_without_features_ok_is_refused_on_a_version_1_device():
    d = Dev(GenericDevice(9, V1, b"", [4]))
    assert d.status(0x07) == 0x03 and d.bus.refusals["driver_ok_without_features_ok"] == 1
    legacy = Dev(GenericDevice(9, feature_bit(3), b"", [4]))     # no VERSION_1: no FEATURES_OK step
    assert legacy.status(0x07) == 0x07


def test_set_vqueue_after_driver_ok_needs_reset_and_leaves_the_queue():
    d = Dev(GenericDevice(9, V1, b"", [4, 4]))
    ready(d, queues=(0,))
    out = d.ask(req(TransportId.SET_VQUEUE, p.SetVqueue(1, 0, 4, 0x5000, 0x6000, 0x7000)))
    assert [m.msg_id for m in out] == [TransportId.SET_VQUEUE, TransportId.EVENT_CONFIG]
    assert out[0].is_response and out[1].payload.status & NEEDS_RESET
    assert not d.dev.queues[1].active and d.bus.refusals["set_vqueue_after_driver_ok"] == 1


def test_set_vqueue_after_driver_ok_reenables_a_reset_queue_with_ring_reset():
    rr = feature_bit(Feature.RING_RESET)
    d = Dev(GenericDevice(9, V1 | rr, b"", [4]))
    ready(d, V1 | rr)
    d.one(req(TransportId.RESET_VQUEUE, p.ResetVqueue(0)))
    assert d.ask(req(TransportId.SET_VQUEUE, p.SetVqueue(0, 0, 4, 0x5000, 0x6000, 0x7000)))[0].is_response
    assert d.dev.queues[0].active and d.dev.queues[0].desc == 0x5000 and not d.dev.status & NEEDS_RESET
    # an active queue cannot be changed even with RING_RESET
    out = d.ask(req(TransportId.SET_VQUEUE, p.SetVqueue(0, 0, 4, 0x8000, 0x6000, 0x7000)))
    assert out[1].msg_id == TransportId.EVENT_CONFIG and d.dev.queues[0].desc == 0x5000


def test_failed_stops_io():
    d = Dev(GenericDevice(9, V1, b"", [4]))
    ready(d)
    d.status(0x8F)                                        # the driver gives up
    assert d.ask(req(TransportId.EVENT_AVAIL, p.EventAvail(0, 0))) == []
    assert d.bus.drops["kick_failed"] == 1 and d.dev.kicks == []


def test_reset_restores_driver_written_config_and_keeps_generation_and_device_changes():
    d = Dev(BlkDevice(queue_size=8))
    ready(d, d.dev.features, size=8)
    d.one(req(TransportId.SET_CONFIG, p.SetConfig.make(0, BLK_CFG_WCE, b"\x01")))
    assert d.dev.config[BLK_CFG_WCE] == 1
    run(d.bus.change_config(1, 0, b"\x00\x10"))           # the device grows itself: generation 1
    d.status(0)
    assert d.dev.config[BLK_CFG_WCE] == 0                 # the driver's write is gone
    assert d.dev.config[0:2] == b"\x00\x10" and d.dev.generation == 1


NOTIF = feature_bit(Feature.NOTIFICATION_DATA)


@pytest.mark.parametrize("data,ok", [
    (0x0000_0003, True),            # three new entries at avail idx 3
    (0x0000_0004, True),            # a whole ring (size 4)
    (0x0000_0005, False),           # more new entries than the queue holds
    (0x0000_FFFF, False),           # the RFC's `| 0x7FFF` offset: not an avail index
    (0x8000_0002, False),           # wrap set: idx 0x8002, far beyond the ring
])
def test_notification_data_next_offset_the_ring_cannot_hold_needs_reset(data, ok):
    from vmsg.models import ByteMemory
    mem = ByteMemory(1 << 20, 0)
    d = Dev(GenericDevice(9, V1 | NOTIF, b"", [4]), memory=mem)
    ready(d, V1 | NOTIF)
    out = d.ask(req(TransportId.EVENT_AVAIL, p.EventAvail(0, data)))
    if ok:
        assert out == [] and [k.data for k in d.dev.kicks] == [data]
    else:
        assert [m.msg_id for m in out] == [TransportId.EVENT_CONFIG] and d.dev.status & NEEDS_RESET
        assert d.bus.refusals["kick_bad_next_offset"] == 1 and d.dev.kicks == []


def test_next_offset_is_not_checked_without_notification_data():
    d = Dev(GenericDevice(9, V1, b"", [4]))
    ready(d)
    assert d.ask(req(TransportId.EVENT_AVAIL, p.EventAvail(0, 0xFFFF))) == [] and len(d.dev.kicks) == 1


def test_notification_data_is_offered_only_when_asked():
    assert not BlkDevice().features & NOTIF and not RngDevice(event_idx=True).features & NOTIF
    assert BlkDevice(notification_data=True).features & NOTIF
    assert RngDevice(notification_data=True).features & NOTIF
