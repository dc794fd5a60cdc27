"""Driver model against the kernel transport, message by message.

The expected requests are written by hand from virtio_msg.c: msg_prepare zeroes only header +
payload, so bytes of earlier requests stay in the device's request buffer and travel with the
whole buffer. Comments name the stale bytes.
"""
from __future__ import annotations

import asyncio
import errno
import struct

import pytest

from unit_helpers import MEM_BASE, Rig, hx, run
from vmsg.models import (BlkDevice, BlkDriver, GenericDevice, GenericDriver, SoftwareQueueBackend, VirtioCore,
                         VirtioError, VirtioMsgDevice, VqInfo, blk_config)
from vmsg.models.blk_defs import VIRTIO_BLK_F_FLUSH
from vmsg.models.driver import (NOTIFY_DATA_FIXED, RING_TRANSPORT_FEATURES_LINUX_6_12,
                                RING_TRANSPORT_FEATURES_LINUX_7_0)
from vmsg.proto import Feature, Message, Status, TransportId, feature_bit
from vmsg.proto.constants import VIRTIO_ID_BLOCK
from vmsg.proto import payloads as p

V1 = feature_bit(Feature.VERSION_1)
FEATS = "440a0020 01000000"        # blk device features 0x1_2000_0A44 as two LE words


# SET_VQUEUE payload after the index: unused 0, size 8, desc, driver (avail), device (used)
VQ_REST = "00000000 08000000 0000001000000000 8000001000000000 0010001000000000"


def blk_probe_requests() -> list[str]:
    """The requests of register + probe of BlkDevice(queue_size=8) as dev 1 with the vring at
    MEM_BASE: desc 0x10000000, avail 0x10000080, used 0x10001000 (4096-aligned). The driver
    reads its config as virtblk_probe does for the negotiated SEG_MAX, BLK_SIZE, CONFIG_WCE:
    virtio_cread32 seg_max, virtio_cread32 blk_size, virtio_cread8 wce (one get each, no
    generation), then the u64 capacity inside a generation loop."""
    vq_rest = VQ_REST
    stale = vq_rest[9:]                                     # SET_VQUEUE bytes beyond a GET_CONFIG
    gen = "00000000 00000000"                               # the generation read's payload, left stale
    return [
        "00 02 0100 0600",                                   # DEVICE_INFO
        "00 08 0100 0a00  00000000",                         # reset: SET_DEVICE_STATUS 0
        "00 07 0100 0600  00000000",                         # add ACKNOWLEDGE: GET_DEVICE_STATUS
        "00 08 0100 0a00  01000000",                         #   SET_DEVICE_STATUS 1
        "00 07 0100 0600  01000000",                         # add DRIVER (stale status 1)
        "00 08 0100 0a00  03000000",
        "00 03 0100 0e00  00000000 02000000",                # GET_DEV_FEATURES index 0 num 2
        f"00 04 0100 0e00  00000000 02000000 {FEATS}",       # SET_DRV_FEATURES, data beyond msg_size
        f"00 07 0100 0600  00000000 02000000 {FEATS}",       # add FEATURES_OK (stale features)
        f"00 08 0100 0a00  0b000000 02000000 {FEATS}",
        f"00 07 0100 0600  0b000000 02000000 {FEATS}",       # re-check FEATURES_OK
        f"00 09 0100 0a00  00000000 02000000 {FEATS}",       # init_vq: find_vqs: GET_VQUEUE 0
        f"00 0a 0100 2a00  00000000 {vq_rest}",              # SET_VQUEUE 0, size 8
        f"00 05 0100 0e00  0c000000 04000000 {stale}",       # read_limits: cread32 seg_max
        f"00 05 0100 0e00  14000000 04000000 {stale}",       #   cread32 blk_size
        f"00 05 0100 0e00  20000000 01000000 {stale}",       # get_cache_mode: cread8 wce
        f"00 05 0100 0e00  00000000 00000000 {stale}",       # update_capacity: generation
        f"00 05 0100 0e00  00000000 08000000 {stale}",       #   get(0, 8)
        f"00 05 0100 0e00  00000000 00000000 {stale}",       #   generation again: stable
        f"00 07 0100 0600  {gen} {stale}",                   # device_ready: GET_DEVICE_STATUS
        f"00 08 0100 0a00  0f000000 {gen[9:]} {stale}",      #   SET_DEVICE_STATUS 0x0f
        f"00 07 0100 0600  0f000000 {gen[9:]} {stale}",      # core: DRIVER_OK set?
    ]


async def probe_blk(rig: Rig, **device_kwargs) -> tuple[VirtioCore, BlkDevice]:
    dev = BlkDevice(capacity=2048, queue_size=8, **device_kwargs)
    rig.dbus.add(1, dev)
    t = rig.transport(1)
    await t.register()
    core = VirtioCore(t, BlkDriver())
    await core.register()
    return core, dev


@pytest.mark.parametrize("msg_size", [44, 64, 256])
def test_blk_probe_is_byte_exact(msg_size):
    rig = Rig(msg_size)
    core, dev = run(probe_blk(rig))
    expected = [hx(text, msg_size) for text in blk_probe_requests()]
    sent = rig.bus.requests()
    assert len(sent) == len(expected)
    for i, (got, want) in enumerate(zip(sent, expected)):
        assert got.hex() == want.hex(), f"request {i}: {Message.decode(want).name}"
    assert core.probed and core.probe_error is None
    assert core.driver.capacity == 2048 and core.driver.writeback is False
    assert core.driver.limits == {"seg_max": 32, "blk_size": 512}
    assert dev.status == 0x0F and dev.negotiated == 0x1_2000_0A44
    assert dev.queues[0].size == 8 and dev.queues[0].desc == MEM_BASE


def test_probe_responses_are_spec_clean():
    rig = Rig(44)
    run(probe_blk(rig))
    resp = rig.bus.responses()
    vendor = "5647534d"
    assert resp[0] == hx(f"01 02 0100 1e00  02000000 {vendor} 40000000 3c000000 01000000 0000 0000", 44)
    assert resp[6] == hx(f"01 03 0100 1600  00000000 02000000 {FEATS}", 44)
    assert resp[7] == hx("01 04 0100 0600", 44)
    # cread32 seg_max: generation 0, offset 12, 4 bytes (32), msg_size 6 + 12 + 4
    assert resp[13] == hx("01 05 0100 1600  00000000 0c000000 04000000  20000000", 44)
    # cread8 wce: offset 32, one byte (0)
    assert resp[15] == hx("01 05 0100 1300  00000000 20000000 01000000  00", 44)
    # the capacity get: 8 bytes, 2048 sectors
    assert resp[17] == hx("01 05 0100 1a00  00000000 00000000 08000000  0008000000000000", 44)


def test_count_flexible_probe_counts_feature_words():
    rig = Rig(44)
    dev = BlkDevice(queue_size=8)
    rig.dbus.add(1, dev)

    async def go():
        t = rig.transport(1, count_flexible=True)
        await t.register()
        await VirtioCore(t, BlkDriver()).register()

    run(go())
    set_features = [s for s in rig.bus.requests() if s[1] == TransportId.SET_DRV_FEATURES]
    assert set_features == [hx(f"00 04 0100 1600  00000000 02000000 {FEATS}", 44)]
    assert dev.status == 0x0F


def test_features_ok_refused_fails_probe_with_failed_status():
    rig = Rig(44)
    core, dev = run(probe_blk(rig, refuse=lambda f: bool(f & feature_bit(VIRTIO_BLK_F_FLUSH))))
    assert core.probe_error is not None and core.probe_error.name == "ENODEV"
    assert not core.probed
    # SET FEATURES_OK, re-check, then add FAILED (GET, SET); byte 6 of a GET is stale
    tail = [(s[1], s[6]) for s in rig.bus.requests()[-4:]]
    assert tail == [(TransportId.SET_DEVICE_STATUS, 0x0B), (TransportId.GET_DEVICE_STATUS, 0x0B),
                    (TransportId.GET_DEVICE_STATUS, 0x0B), (TransportId.SET_DEVICE_STATUS, 0x83)]
    # the device answered the FEATURES_OK write with the bit cleared, and so did the re-check
    assert [r[6] for r in rig.bus.responses()[-4:-1]] == [0x03, 0x03, 0x03]
    assert dev.status == Status.ACKNOWLEDGE | Status.DRIVER | Status.FAILED
    assert not any(s[1] == TransportId.GET_VQUEUE for s in rig.bus.requests())
    assert rig.dbus.refusals["features_refused"] == 1


def test_feature_selection_is_intersection_plus_known_transport_bits():
    rig = Rig(64)
    offered = (V1 | feature_bit(3) | feature_bit(5) | feature_bit(Feature.RING_EVENT_IDX)
               | feature_bit(Feature.IN_ORDER) | feature_bit(Feature.SR_IOV) | feature_bit(Feature.RING_RESET)
               | feature_bit(Feature.ADMIN_VQ) | feature_bit(50))
    dev = GenericDevice(9, offered, b"", [4])
    rig.dbus.add(2, dev)

    async def go():
        t = rig.transport(2)
        await t.register()
        core = VirtioCore(t, GenericDriver(feature_table=[5, 7], queues=["q"]))
        await core.register()
        return core

    core = run(go())
    # driver knows 5 and 7 -> 5; transport bits kept by Linux 6.12's vring_transport_features:
    # EVENT_IDX, VERSION_1; IN_ORDER, SR_IOV, RING_RESET, ADMIN_VQ cleared
    want = feature_bit(5) | feature_bit(Feature.RING_EVENT_IDX) | V1
    assert core.features == want and dev.negotiated == want
    assert core.transport.vqs[0].event and core.probed


def test_device_without_version_1_skips_features_ok():
    rig = Rig(44)
    dev = GenericDevice(9, feature_bit(0), b"", [4])
    rig.dbus.add(2, dev)

    async def go():
        t = rig.transport(2)
        await t.register()
        await VirtioCore(t, GenericDriver(feature_table=[0], queues=["q"])).register()

    run(go())
    status_writes = [s[6] for s in rig.bus.requests() if s[1] == TransportId.SET_DEVICE_STATUS]
    assert status_writes == [0, 1, 3, 7]
    assert dev.status == 0x07


# --- register errors ------------------------------------------------------------------------------
class CannedBus:
    """A bus that answers DEVICE_INFO with fixed bytes."""

    def __init__(self, response: bytes, msg_size: int = 44, revision: int = 1) -> None:
        self.msg_size, self.revision, self.response = msg_size, revision, response
        self.sent: list[bytes] = []

    async def transfer(self, dev_id, request, response_expected):
        self.sent.append(request)
        return self.response


def device_info(device_id: int, num_feature_bits: int = 64) -> bytes:
    return Message.make(TransportId.DEVICE_INFO, p.GetDeviceInfoResp(device_id, 1, num_feature_bits, 8, 1),
                        dev_id=1, response=True).encode(44)


@pytest.mark.parametrize("bus,err,messages", [
    (CannedBus(device_info(2), revision=2), "EINVAL", 0),
    (CannedBus(device_info(2), msg_size=43), "EINVAL", 0),
    (CannedBus(device_info(0)), "ENODEV", 1),
    (CannedBus(device_info(2, num_feature_bits=128)), "EINVAL", 1),
    (CannedBus(device_info(2, num_feature_bits=32)), "EINVAL", 1),
])
def test_register_errors(bus, err, messages):
    t = VirtioMsgDevice(bus, 1, None, None)
    with pytest.raises(VirtioError) as info:
        run(t.register())
    assert info.value.name == err and len(bus.sent) == messages


def test_register_accepts_64_feature_bits_from_canned_bus():
    bus = CannedBus(device_info(2))
    t = VirtioMsgDevice(bus, 1, None, None)
    run(t.register())
    assert (t.device_id, t.vendor_id, t.config_size, t.msg_size) == (2, 1, 8, 44)


def test_register_of_missing_device_times_out():
    rig = Rig(44)
    t = rig.transport(3)
    with pytest.raises(VirtioError) as info:
        run(t.register())
    assert info.value.errno == errno.ETIMEDOUT
    assert rig.dbus.drops["unknown_device"] == 1


# --- config space --------------------------------------------------------------------------------
def generic_rig(msg_size=44, config=bytes(range(64)), queues=(8,), **rig_kwargs):
    rig = Rig(msg_size, **rig_kwargs)
    dev = GenericDevice(9, V1, config, list(queues))
    rig.dbus.add(4, dev)
    t = rig.transport(4)
    run(t.register())
    return rig, dev, t


def test_set_config_chunks_carry_generation_and_stale_data():
    rig, dev, t = generic_rig()
    data = bytes(range(0x80, 0x80 + 60))
    n0 = len(rig.bus.requests())
    run(t.set(2, data))
    sent = rig.bus.requests()[n0:]
    assert sent == [
        hx("00 06 0400 1200  00000000 02000000 1a000000") + data[0:26],
        hx("00 06 0400 1200  00000000 1c000000 1a000000") + data[26:52],
        # chunk 3: 8 new bytes, then 18 stale bytes of chunk 2 in the buffer
        hx("00 06 0400 1200  00000000 36000000 08000000") + data[52:60] + data[34:52],
    ]
    assert bytes(dev.config[2:62]) == data                # the device took size from the payload


def test_set_config_spec_sizing_counts_data():
    rig, dev, t = generic_rig()
    t.count_flexible = True
    data = bytes(range(0x80, 0x80 + 60))
    n0 = len(rig.bus.requests())
    run(t.set(2, data))
    sizes = [struct.unpack_from("<H", s, 4)[0] for s in rig.bus.requests()[n0:]]
    assert sizes == [44, 44, 26]
    assert bytes(dev.config[2:62]) == data


def test_strict_device_drops_rfc_sized_set_config():
    rig, dev, t = generic_rig(strict_sizing=True)
    run(t.set(0, b"\x11\x22"))
    assert t.errors and t.errors[-1].errno == errno.ETIMEDOUT
    assert dev.config[0:2] == b"\x00\x01"
    t.count_flexible = True
    run(t.set(0, b"\x11\x22"))
    assert dev.config[0:2] == b"\x11\x22"


def test_get_keeps_generation_of_last_response_and_stale_set_is_rejected():
    rig, dev, t = generic_rig()
    assert run(t.get(0, 4)) == bytes(range(4)) and t.generation_count == 0
    slot = run(rig.dbus.change_config(4, 8, b"\xee\xee"))       # generation 0 -> 1 first
    changed = []
    t.config_changed = lambda: changed.append(1)
    assert run(rig.bus.send_to_driver(slot)) == 0 and changed == [1]
    assert Message.decode(slot).payload == p.EventConfig(0, 1, 8, 2, b"\xee\xee")
    run(t.set(0, b"\x55"))                                       # carries stale generation 0
    assert dev.config[0] == 0 and rig.dbus.refusals["stale_set_config"] == 1
    stale_resp = rig.bus.responses()[-1]
    assert stale_resp == hx("01 06 0400 1200  01000000 00000000 00000000", 44)
    assert run(t.generation()) == 1
    run(t.set(0, b"\x55"))
    assert dev.config[0] == 0x55
    assert run(t.get(8, 2)) == b"\xee\xee" and t.generation_count == 1


def test_cread_rereads_when_generation_moves_during_read():
    rig = Rig(44)
    dev = BlkDevice(queue_size=8)
    rig.dbus.add(1, dev)
    bumped = []

    def bump_once(slot):
        # the device changes its config while the driver reads the capacity
        if slot[1] == TransportId.GET_CONFIG and slot[10] == 8 and not bumped:
            dev.generation += 1
            bumped.append(1)
        return slot

    async def go():
        t = rig.transport(1)
        await t.register()
        rig.bus.inject = bump_once
        core = VirtioCore(t, BlkDriver())
        await core.register()
        return core

    core = run(go())
    gets = [struct.unpack_from("<II", s, 6) for s in rig.bus.requests() if s[1] == TransportId.GET_CONFIG]
    capacity = [(0, 0), (0, 8), (0, 0)]
    limits = [(12, 4), (20, 4), (32, 1)]          # typed accessors: no generation reads
    assert gets == limits + capacity + capacity[1:]
    assert core.probed


def test_config_bounds_are_checked_before_any_message():
    rig, dev, t = generic_rig()
    n0 = len(rig.bus.requests())
    assert run(t.get(60, 5)) == bytes(5)
    run(t.set(64, b"\x01"))
    assert len(rig.bus.requests()) == n0
    assert [e.name for e in t.errors] == ["EINVAL", "EINVAL"]


def test_get_failure_keeps_old_generation_and_logs_timeout():
    rig, dev, t = generic_rig()
    run(t.generation())
    dev.generation = 5
    rig.bus.inject = lambda slot: None
    assert run(t.get(0, 4)) == bytes(4)
    assert t.generation_count == 0 and t.errors[-1].name == "ETIMEDOUT"
    assert run(t.get_status()) == 0 and run(t.get_features()) == 0 and run(t.generation()) == 0


def test_get_with_length_zero_takes_generation_from_stale_response():
    rig, dev, t = generic_rig()
    dev.generation = 7
    run(t.get(0, 1))
    assert t.generation_count == 7
    run(t.get_status())                 # the response buffer now holds a status response (0)
    run(t.get(0, 0))                    # no message; generation read from that buffer
    assert t.generation_count == 0


# --- queues --------------------------------------------------------------------------------------
def test_find_vqs_missing_queue_enoent_deletes_all():
    rig, dev, t = generic_rig(queues=(8, 0, 8))
    t.features = V1
    n0 = len(rig.bus.requests())
    with pytest.raises(VirtioError) as info:
        run(t.find_vqs(["a", None, "b", "c"]))
    assert info.value.name == "ENOENT"
    ids = [(s[1], s[6]) for s in rig.bus.requests()[n0:]]
    assert ids == [(TransportId.GET_VQUEUE, 0), (TransportId.SET_VQUEUE, 0),
                   (TransportId.GET_VQUEUE, 1), (TransportId.RESET_VQUEUE, 0)]
    assert t.vqs == [] and rig.alloc.live == {}
    assert not dev.queues[0].active
    assert rig.dbus.backend.calls[-1] == ("reset_queue", 4, 0)


def test_find_vqs_beyond_device_queue_count_is_enoent():
    rig, dev, t = generic_rig(queues=(8,))
    with pytest.raises(VirtioError, match="ENOENT"):
        run(t.find_vqs(["a", "b"]))
    assert t.vqs == []


def test_find_vqs_set_vqueue_failure_deletes_without_reset_of_that_queue():
    rig, dev, t = generic_rig(queues=(8, 8))
    n0 = len(rig.bus.requests())
    rig.bus.inject = lambda s: None if (s[1] == TransportId.SET_VQUEUE and s[6] == 1) else s
    with pytest.raises(VirtioError, match="ETIMEDOUT"):
        run(t.find_vqs(["a", "b"]))
    ids = [(s[1], s[6]) for s in rig.bus.requests()[n0:]]
    assert ids == [(TransportId.GET_VQUEUE, 0), (TransportId.SET_VQUEUE, 0), (TransportId.GET_VQUEUE, 1),
                   (TransportId.SET_VQUEUE, 1), (TransportId.RESET_VQUEUE, 0)]
    assert t.vqs == [] and rig.alloc.live == {}


def test_find_vqs_non_power_of_two_size_is_enomem():
    rig, dev, t = generic_rig(queues=(12,))
    with pytest.raises(VirtioError, match="ENOMEM"):
        run(t.find_vqs(["a"]))


def test_find_vqs_dense_indices_and_del_vqs_in_order():
    rig, dev, t = generic_rig(queues=(4, 8, 16))
    vqs = run(t.find_vqs([None, "rx", None, "tx", "ctl"]))
    assert [v and (v.index, v.num, v.name) for v in vqs] == [None, (0, 4, "rx"), None, (1, 8, "tx"),
                                                               (2, 16, "ctl")]
    assert [q.size for q in dev.queues] == [4, 8, 16]
    n0 = len(rig.bus.requests())
    run(t.del_vqs())
    assert [(s[1], s[6]) for s in rig.bus.requests()[n0:]] == [(TransportId.RESET_VQUEUE, i) for i in range(3)]
    assert t.vqs == [] and all(not q.active for q in dev.queues) and rig.alloc.live == {}


def test_reset_clears_device_state_but_not_generation():
    rig = Rig(44)
    core, dev = run(probe_blk(rig))
    dev.generation = 3
    run(core.transport.reset())
    assert dev.status == 0 and dev.negotiated == 0 and not dev.queues[0].active
    assert dev.generation == 3
    assert rig.dbus.backend.calls[-1] == ("device_reset", 1)


def test_remove_resets_deletes_queues_and_acknowledges_again():
    rig = Rig(44)
    core, dev = run(probe_blk(rig))
    n0 = len(rig.bus.requests())
    run(core.remove())
    ids = [(s[1], s[6]) for s in rig.bus.requests()[n0:]]
    assert ids == [(TransportId.SET_DEVICE_STATUS, 0), (TransportId.RESET_VQUEUE, 0),
                   (TransportId.GET_DEVICE_STATUS, 0), (TransportId.GET_DEVICE_STATUS, 0),
                   (TransportId.SET_DEVICE_STATUS, 1)]
    assert dev.status == Status.ACKNOWLEDGE and core.transport.vqs == []


# --- notifications and events ---------------------------------------------------------------------
def negotiate(t, features=V1):
    """What the core does before DRIVER_OK: features, then FEATURES_OK (the device enforces it)."""
    t.features = features
    run(t.finalize_features())


def test_notify_sends_event_avail_without_waiting():
    rig, dev, t = generic_rig(queues=(8, 8))
    negotiate(t)
    vqs = run(t.find_vqs(["a", "b"]))
    run(t.set_status(0x0F))
    n0 = len(rig.bus.log)
    assert run(t.notify(vqs[1])) is True
    assert rig.bus.log[n0:] == [("req", rig.bus.requests()[-1])]       # no response expected
    # bytes 14.. still hold the last SET_VQUEUE (queue 1): only header + 8 bytes were zeroed
    set_vq1 = [r for r in rig.bus.requests() if r[1] == TransportId.SET_VQUEUE][-1]
    assert rig.bus.requests()[-1] == hx("00 41 0400 0e00  01000000 00000000") + set_vq1[14:]
    assert dev.kicks[-1].vq == 1 and dev.kicks[-1].data == 0


def test_notify_with_data_default_is_the_rfc_bytes():
    """Byte-exact mode (the default): virtio_msg_notify_with_data's `|` computation. For queue 2
    with avail idx 0x8005: data = 0x80050002, index = data | 0xFFFF = 0x8005FFFF, offset =
    0x8005 | 0x7FFF = 0xFFFF, wrap = 1 masked with 1 << 31 = 0."""
    rig = Rig(44)
    dev = GenericDevice(9, V1 | feature_bit(Feature.NOTIFICATION_DATA), bytes(64), [8, 8, 8])
    rig.dbus.add(4, dev)
    t = rig.transport(4)
    run(t.register())
    negotiate(t, V1 | feature_bit(Feature.NOTIFICATION_DATA))
    vqs = run(t.find_vqs(["a", "b", "c"]))
    vq = vqs[2]
    vq.avail_idx_shadow = 0x8005
    run(t.set_status(0x0F))
    assert run(vq.notify())                        # the loopback takes it; the device drops it
    assert rig.bus.requests()[-1][:14] == hx("00 41 0400 0e00  ffff0580 ffff0000")
    assert dev.kicks == [] and rig.dbus.drops["kick_inactive_queue"] == 1


def test_notify_with_data_fixed_switch_uses_intended_masks():
    rig = Rig(44)
    dev = GenericDevice(9, V1 | feature_bit(Feature.NOTIFICATION_DATA), bytes(64), [8, 8, 8])
    rig.dbus.add(4, dev)
    t = rig.transport(4, notify_data=NOTIFY_DATA_FIXED)
    run(t.register())
    negotiate(t, V1 | feature_bit(Feature.NOTIFICATION_DATA))
    vqs = run(t.find_vqs(["a", "b", "c"]))
    vq = vqs[2]
    vq.avail_idx_shadow = 0x8005                   # avail idx with bit 15 set
    dev.rings[2].last_avail_idx = 0x8000           # both sides far along: 5 entries announced
    run(t.set_status(0x0F))
    assert run(vq.notify())
    # index 2, offset 5, wrap bit 31 set
    assert rig.bus.requests()[-1][:14] == hx("00 41 0400 0e00  02000000 05000080")
    assert dev.kicks[-1].vq == 2 and dev.kicks[-1].data == 0x80000005


def test_notify_data_switch_rejects_unknown_mode():
    rig = Rig(44)
    with pytest.raises(ValueError):
        rig.transport(4, notify_data="or")


def test_event_dispatch_return_codes():
    rig, dev, t = generic_rig(queues=(8,))
    got = []
    vq = run(t.find_vqs([VqInfo("a", got.append)]))[0]
    used = lambda i: Message.make(TransportId.EVENT_USED, p.EventUsed(i), dev_id=4).encode(44)
    assert t.event(used(3)) == -errno.EINVAL                      # unknown queue
    assert t.event(used(0)) == -errno.EIO                         # nothing new in the used ring
    rig.mem.write(vq.used_addr + 2, b"\x01\x00")                   # device published one element
    assert t.event(used(0)) == 0 and got == [vq]
    cfg = []
    t.config_changed = lambda: cfg.append(1)
    ev_cfg = Message.make(TransportId.EVENT_CONFIG, p.EventConfig(0, 1, 0, 0), dev_id=4).encode(44)
    assert t.event(ev_cfg) == 0 and cfg == [1]
    ev_avail = Message.make(TransportId.EVENT_AVAIL, p.EventAvail(0, 0), dev_id=4).encode(44)
    assert t.event(ev_avail) == -errno.EINVAL


def test_event_used_round_trip_through_software_backend():
    rig = Rig(44, backend=None)
    backend = SoftwareQueueBackend(rig.mem)
    rig.dbus.backend = backend
    # A blk identity that processes nothing (BlkDevice would serve the chain itself on the kick):
    # here the test plays the device and completes by hand through the backend's ring.
    rig.dbus.add(1, GenericDevice(VIRTIO_ID_BLOCK, V1 | feature_bit(Feature.RING_EVENT_IDX),
                                  blk_config(2048, 32, 512), [8]))
    reaped = []

    async def go():
        t = rig.transport(1)
        await t.register()
        drv = BlkDriver(callback=lambda vq: reaped.extend(iter(vq.get_buf, None)))
        core = VirtioCore(t, drv)
        await core.register()
        vq = drv.vqs[0]
        buf = rig.alloc.alloc(512, 16)
        await vq.add_buf([(buf, 16)], [(buf + 16, 496)], token="req0")
        assert await vq.kick()                     # avail_event 0 -> the first add kicks
        dq = backend.queue(1, 0)
        chain = dq.pop()
        assert chain.readable == [(buf, 16)] and chain.writable == [(buf + 16, 496)]
        if dq.complete(chain.head, 497):
            await rig.bus.send_to_driver(rig.dbus.event_used(1, 0))
        return core

    run(go())
    assert reaped == [("req0", 497)]
    assert rig.bus.event_results == [0]


def test_two_devices_interleaved():
    def make_rig():
        rig = Rig(44)
        rig.bus.pause = lambda: asyncio.sleep(0)
        rig.dbus.add(1, BlkDevice(queue_size=8))
        rig.dbus.add(2, GenericDevice(9, V1, bytes(16), [4]))
        return rig

    async def probe(rig, dev_id, driver):
        t = VirtioMsgDevice(rig.bus, dev_id, rig.mem, rig.alloc)
        await t.register()
        core = VirtioCore(t, driver)
        await core.register()
        return core

    async def both(rig):
        return await asyncio.gather(probe(rig, 1, BlkDriver()),
                                    probe(rig, 2, GenericDriver(queues=["q"], config_read_len=16)))

    rig = make_rig()
    c1, c2 = run(both(rig))
    assert c1.probed and c2.probed
    order = [s[2] for s in rig.bus.requests()]
    switches = sum(a != b for a, b in zip(order, order[1:]))
    assert switches > 10                                          # really interleaved
    # each device's own sequence equals its sequence when probed alone (per-device buffers);
    # ring addresses differ with allocation order, so compare all but SET_VQUEUE and after
    alone = make_rig()
    alone.bus.pause = None
    run(probe(alone, 1, BlkDriver()))
    mine = [s for s in rig.bus.requests() if s[2] == 1]
    ref = alone.bus.requests()
    cut = [s[1] for s in ref].index(TransportId.SET_VQUEUE)
    assert mine[:cut] == ref[:cut] and len(mine) == len(ref)
    assert c2.driver.config == bytes(16)


def test_core_sets_driver_ok_when_the_driver_does_not():
    rig = Rig(44)
    dev = GenericDevice(9, V1, b"", [4])
    rig.dbus.add(2, dev)

    async def go():
        t = rig.transport(2)
        await t.register()
        await VirtioCore(t, GenericDriver(queues=["q"], set_ready=False)).register()

    run(go())
    # after SET_VQUEUE: the core's DRIVER_OK check, then virtio_device_ready (GET, SET 0x0f)
    tail = [s[1] for s in rig.bus.requests()[-4:]]
    assert tail == [TransportId.SET_VQUEUE, TransportId.GET_DEVICE_STATUS, TransportId.GET_DEVICE_STATUS,
                    TransportId.SET_DEVICE_STATUS]
    assert rig.bus.requests()[-1][6] == 0x0F and dev.status == 0x0F


# --- transport features (vring_transport_features) ---------------------------------------------------
ALL_TRANSPORT_BITS = sum(1 << b for b in range(28, 42))


def finalize_all_offered(transport_features=None):
    rig = Rig(44)
    dev = GenericDevice(9, V1 | ALL_TRANSPORT_BITS, b"", [])
    rig.dbus.add(4, dev)
    kw = {} if transport_features is None else {"transport_features": transport_features}
    t = rig.transport(4, **kw)
    run(t.register())
    t.features = V1 | ALL_TRANSPORT_BITS
    run(t.finalize_features())
    sent = [s for s in rig.bus.requests() if s[1] == TransportId.SET_DRV_FEATURES][-1]
    lo, hi = struct.unpack_from("<II", sent, 14)
    return t, hi << 32 | lo


def test_linux_6_12_keeps_seven_transport_bits_and_clears_ring_reset():
    t, wire = finalize_all_offered()
    kept = {Feature.RING_INDIRECT_DESC, Feature.RING_EVENT_IDX, Feature.VERSION_1, Feature.ACCESS_PLATFORM,
            Feature.RING_PACKED, Feature.ORDER_PLATFORM, Feature.NOTIFICATION_DATA}
    assert wire == t.features == sum(1 << b for b in kept)
    assert not wire >> Feature.RING_RESET & 1            # only PCI adds it back; virtio-msg does not
    assert not wire >> Feature.IN_ORDER & 1


def test_linux_7_0_switch_also_keeps_in_order():
    t, wire = finalize_all_offered(RING_TRANSPORT_FEATURES_LINUX_7_0)
    assert wire == sum(1 << b for b in RING_TRANSPORT_FEATURES_LINUX_6_12) | feature_bit(Feature.IN_ORDER)
    assert not wire >> Feature.RING_RESET & 1


def test_ring_packed_negotiated_fails_find_vqs_clearly():
    rig = Rig(44)
    dev = GenericDevice(9, V1 | feature_bit(Feature.RING_PACKED), b"", [8])
    rig.dbus.add(4, dev)

    async def go():
        t = rig.transport(4)
        await t.register()
        core = VirtioCore(t, GenericDriver(queues=["q"]))
        await core.register()
        return core

    core = run(go())
    assert core.features >> Feature.RING_PACKED & 1           # kept, as Linux keeps it
    assert core.probe_error is not None and core.probe_error.errno == errno.EOPNOTSUPP
    assert "packed" in str(core.probe_error) and core.transport.errors[-1] is core.probe_error
    assert dev.status & Status.FAILED and not dev.queues[0].active


# --- unregister ----------------------------------------------------------------------------------------
def test_unregister_after_failed_probe_sends_nothing():
    rig = Rig(44)
    core, dev = run(probe_blk(rig, refuse=lambda f: True))
    assert core.probe_error is not None and not core.probed
    n0 = len(rig.bus.requests())
    run(core.remove())
    assert rig.bus.requests()[n0:] == []                     # no driver bound: no remove path
    assert dev.status & Status.FAILED


def test_unregister_without_a_driver_sends_nothing():
    rig = Rig(44)
    dev = GenericDevice(0x55, V1, b"", [8])
    rig.dbus.add(4, dev)

    async def go():
        t = rig.transport(4)
        await t.register()
        core = VirtioCore(t, None)
        await core.register()
        return core

    core = run(go())
    n0 = len(rig.bus.requests())
    run(core.remove())
    assert rig.bus.requests()[n0:] == [] and dev.status == Status.ACKNOWLEDGE


def test_bus_driver_unregister_after_failed_probe_sends_nothing():
    rig = Rig(44)
    rig.dbus.add(3, BlkDevice(queue_size=0))               # max_size 0: find_vqs fails ENOENT
    bd = rig.bus_driver()
    core = run(bd.register_device(3))
    assert core.probe_error is not None and core.probe_error.errno == errno.ENOENT
    n0 = len(rig.bus.requests())
    run(bd.unregister_device(3))
    assert rig.bus.requests()[n0:] == [] and 3 not in bd.devices


# --- config accessors (include/linux/virtio_config.h) ---------------------------------------------------
def config_reads(rig, n0):
    return [struct.unpack_from("<II", s, 6) for s in rig.bus.requests()[n0:]
            if s[1] == TransportId.GET_CONFIG]


@pytest.mark.parametrize("name,size", [("cread8", 1), ("cread16", 2), ("cread32", 4)])
def test_typed_creads_are_one_get_without_generation(name, size):
    rig, dev, t = generic_rig()
    core = VirtioCore(t, None)
    n0 = len(rig.bus.requests())
    value = run(getattr(core, name)(8))
    assert config_reads(rig, n0) == [(8, size)]
    assert value == int.from_bytes(bytes(range(8, 8 + size)), "little")


def test_cread64_is_a_generation_loop_around_one_get():
    rig, dev, t = generic_rig()
    core = VirtioCore(t, None)
    n0 = len(rig.bus.requests())
    assert run(core.cread64(16)) == int.from_bytes(bytes(range(16, 24)), "little")
    assert config_reads(rig, n0) == [(0, 0), (16, 8), (0, 0)]


def test_cread_bytes_is_one_byte_gets_in_a_generation_loop():
    rig, dev, t = generic_rig()
    core = VirtioCore(t, None)
    n0 = len(rig.bus.requests())
    assert run(core.cread_bytes(4, 5)) == bytes(range(4, 9))
    assert config_reads(rig, n0) == [(0, 0)] + [(4 + i, 1) for i in range(5)] + [(0, 0)]


def test_cread_bytes_rereads_all_bytes_when_the_generation_moves():
    rig, dev, t = generic_rig()
    core = VirtioCore(t, None)
    seen = []

    def bump(slot):
        if slot[1] == TransportId.GET_CONFIG and struct.unpack_from("<II", slot, 6) == (5, 1) and not seen:
            dev.generation += 1
            dev.config[4] = 0xEE
            seen.append(1)
        return slot

    rig.bus.inject = bump
    n0 = len(rig.bus.requests())
    assert run(core.cread_bytes(4, 2)) == b"\xee\x05"
    assert config_reads(rig, n0) == [(0, 0), (4, 1), (5, 1), (0, 0), (4, 1), (5, 1), (0, 0)]


def test_cread_feature_reads_nothing_without_the_feature():
    rig, dev, t = generic_rig()
    core = VirtioCore(t, None)
    t.features = V1
    n0 = len(rig.bus.requests())
    assert run(core.cread_feature(3, 0, 4)) is None
    assert rig.bus.requests()[n0:] == []
    t.features = V1 | feature_bit(3)
    assert run(core.cread_feature(3, 0, 4)) == 0x03020100


# --- virtio_blk's probe for richer offers -----------------------------------------------------------------
def blk_with(features, cfg_updates=(), config_size=96):
    cfg = bytearray(blk_config(2048, 32, 512, size=config_size))
    for off, data in cfg_updates:
        cfg[off:off + len(data)] = data
    dev = GenericDevice(VIRTIO_ID_BLOCK, V1 | features, bytes(cfg), [8])
    return dev


def test_blk_probe_reads_each_negotiated_field_in_virtblk_order():
    from vmsg.models.blk_defs import (VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_DISCARD,
                                      VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_SECURE_ERASE, VIRTIO_BLK_F_SEG_MAX,
                                      VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_TOPOLOGY,
                                      VIRTIO_BLK_F_WRITE_ZEROES)
    feats = sum(1 << b for b in (VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_BLK_SIZE,
                                 VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES,
                                 VIRTIO_BLK_F_SECURE_ERASE, VIRTIO_BLK_F_CONFIG_WCE, 17))
    dev = blk_with(feats, [(34, b"\x04\x00"), (60, b"\x01\x00\x00\x00"), (64, b"\x02\x00\x00\x00"),
                           (68, b"\x08\x00\x00\x00"), (92, b"\x02"), (32, b"\x01")])
    rig = Rig(64)
    rig.dbus.add(1, dev)

    async def go():
        t = rig.transport(1)
        await t.register()
        core = VirtioCore(t, BlkDriver())
        await core.register()
        return core

    core = run(go())
    assert core.probed, core.probe_error
    reads = [(struct.unpack_from("<II", s, 6)) for s in rig.bus.requests() if s[1] == TransportId.GET_CONFIG]
    assert reads == [(34, 2),                                   # init_vq: num_queues (MQ)
                     (12, 4), (8, 4), (20, 4),                  # seg_max, size_max, blk_size
                     (24, 1), (25, 1), (26, 2), (28, 4),        # topology
                     (44, 4), (36, 4), (40, 4),                 # discard
                     (48, 4),                                   # write zeroes
                     (68, 4), (60, 4), (64, 4),                 # secure erase
                     (92, 1),                                   # zoned.model (host-aware)
                     (32, 1),                                   # wce
                     (0, 0), (0, 8), (0, 0)]                    # capacity
    assert [vq.name for vq in core.transport.vqs] == ["req.0"]  # one CPU: one queue
    assert core.driver.writeback is True and core.driver.limits["zoned_model"] == 2


def test_blk_probe_zero_secure_erase_limit_fails_after_deleting_its_queues():
    from vmsg.models.blk_defs import VIRTIO_BLK_F_SECURE_ERASE
    dev = blk_with(1 << VIRTIO_BLK_F_SECURE_ERASE)     # secure_erase_sector_alignment 0
    rig = Rig(64)
    rig.dbus.add(1, dev)

    async def go():
        t = rig.transport(1)
        await t.register()
        core = VirtioCore(t, BlkDriver())
        await core.register()
        return core

    core = run(go())
    assert core.probe_error is not None and core.probe_error.errno == errno.EINVAL
    ids = [s[1] for s in rig.bus.requests()]
    i = ids.index(TransportId.RESET_VQUEUE)            # del_vqs before the core adds FAILED
    assert ids[i + 1:] == [TransportId.GET_DEVICE_STATUS, TransportId.SET_DEVICE_STATUS]
    assert dev.status & Status.FAILED and core.transport.vqs == []


def test_blk_probe_mq_with_zero_queues_fails_before_find_vqs():
    from vmsg.models.blk_defs import VIRTIO_BLK_F_MQ
    dev = blk_with(1 << VIRTIO_BLK_F_MQ, [(34, b"\x00\x00")])
    rig = Rig(64)
    rig.dbus.add(1, dev)

    async def go():
        t = rig.transport(1)
        await t.register()
        core = VirtioCore(t, BlkDriver())
        await core.register()
        return core

    core = run(go())
    assert core.probe_error is not None and core.probe_error.errno == errno.EINVAL
    assert TransportId.GET_VQUEUE not in [s[1] for s in rig.bus.requests()]


# --- probe: the validate hook ------------------------------------------------------------------------------
def probe_with_validate(validate, features=V1 | feature_bit(3) | feature_bit(5)):
    rig = Rig(44)
    dev = GenericDevice(9, features, bytes(8), [8])
    rig.dbus.add(4, dev)

    async def go():
        t = rig.transport(4)
        await t.register()
        core = VirtioCore(t, GenericDriver(feature_table=[3, 5], queues=["q"], validate=validate))
        await core.register()
        return core

    core = run(go())
    return rig, dev, core


def set_features_sent(rig):
    return [struct.unpack_from("<II", s, 14) for s in rig.bus.requests() if s[1] == TransportId.SET_DRV_FEATURES]


def test_validate_that_clears_a_feature_writes_the_features_again():
    calls = []

    async def validate(core):
        calls.append([s[1] for s in core.transport.bus.requests()][-1])
        await core.cread8(0)                              # a validate hook may read config
        core.transport.features &= ~feature_bit(3)

    rig, dev, core = probe_with_validate(validate)
    assert calls == [TransportId.SET_DRV_FEATURES]        # after the first finalize_features
    assert set_features_sent(rig) == [(1 << 3 | 1 << 5, 1), (1 << 5, 1)]
    ids = [s[1] for s in rig.bus.requests()]
    i = ids.index(TransportId.SET_DRV_FEATURES)
    assert ids[i + 1:i + 5] == [TransportId.GET_CONFIG, TransportId.SET_DRV_FEATURES,
                                TransportId.GET_DEVICE_STATUS, TransportId.SET_DEVICE_STATUS]
    assert core.probed and dev.negotiated == V1 | feature_bit(5)


def test_validate_that_changes_nothing_writes_the_features_once():
    async def validate(core):
        pass

    rig, dev, core = probe_with_validate(validate)
    assert len(set_features_sent(rig)) == 1 and core.probed


def test_validate_failure_fails_the_probe_before_features_ok():
    async def validate(core):
        raise VirtioError(errno.EINVAL, "validate says no")

    rig, dev, core = probe_with_validate(validate)
    assert core.probe_error is not None and core.probe_error.errno == errno.EINVAL and not core.probed
    assert not dev.status & Status.FEATURES_OK and dev.status & Status.FAILED
    assert TransportId.GET_VQUEUE not in [s[1] for s in rig.bus.requests()]


def test_legacy_table_is_used_when_the_device_lacks_version_1():
    rig = Rig(44)
    dev = GenericDevice(9, feature_bit(3) | feature_bit(5), b"", [8])
    rig.dbus.add(4, dev)
    drv = GenericDriver(feature_table=[3, 5], queues=["q"])
    drv.feature_table_legacy = [5]

    async def go():
        t = rig.transport(4)
        await t.register()
        core = VirtioCore(t, drv)
        await core.register()
        return core

    core = run(go())
    assert core.features == feature_bit(5) and core.probed


def test_device_ready_twice_is_recorded():
    rig, dev, t = generic_rig()
    core = VirtioCore(t, None)
    negotiate(t)
    run(t.set_status(0x0F))
    run(core.device_ready())
    assert t.errors and "DRIVER_OK already set" in str(t.errors[-1])


# --- the model's blk probe against the kernel-derived expectation (tb/vmsg/tests/kernel_expect.py) ---
@pytest.mark.parametrize("msg_size", [44, 64, 256])
@pytest.mark.parametrize("offer", ["default", "rich", "legacy"])
def test_blk_probe_matches_kernel_expectation(msg_size, offer):
    from vmsg.tests import kernel_expect as kx
    rig = Rig(msg_size)
    if offer == "default":
        dev = BlkDevice(capacity=2048, queue_size=8)
    elif offer == "rich":
        feats = sum(1 << b for b in (1, 2, 4, 5, 6, 9, 10, 11, 12, 13, 14, 28, 33, 36, 38, 40, 41))
        dev = blk_with(feats, [(34, b"\x01\x00")])
    else:                                        # no VERSION_1: legacy table, no FEATURES_OK
        dev = GenericDevice(VIRTIO_ID_BLOCK, sum(1 << b for b in (2, 9, 17, 29)),
                            blk_config(2048, 32, 512), [8])
    rig.dbus.add(1, dev)

    async def go():
        t = rig.transport(1)
        await t.register()
        core = VirtioCore(t, BlkDriver())
        await core.register()
        return core

    core = run(go())
    assert core.probed, core.probe_error
    sent = rig.bus.requests()
    expected = kx.linux_blk_probe(msg_size, 1, dev.features, None, dev.config_size, 8, kx.ring_addresses(sent, 0))
    diffs = kx.compare(expected, sent)
    assert not diffs, "\n".join(diffs)
    assert dev.negotiated == kx.linux_blk_features(dev.features)


def test_kernel_expect_refuses_a_caller_feature_statement_that_disagrees():
    from vmsg.tests import kernel_expect as kx
    with pytest.raises(ValueError):
        kx.linux_blk_probe(44, 1, 1 << 32 | 1 << 40, 1 << 32 | 1 << 40, 60, 8, (0, 0, 0))


def test_restricted_memory_access_platform_needs_access_platform():
    rig = Rig(44)
    dev = GenericDevice(9, V1, b"", [8])
    rig.dbus.add(4, dev)

    async def go():
        t = rig.transport(4)
        await t.register()
        core = VirtioCore(t, GenericDriver(queues=["q"]), restricted_mem_access=True)
        await core.register()
        return core

    core = run(go())
    assert core.probe_error is not None and core.probe_error.errno == errno.ENODEV
    assert "ACCESS_PLATFORM" in str(core.probe_error)
    ids = [s[1] for s in rig.bus.requests()]
    i = ids.index(TransportId.SET_DRV_FEATURES)          # no FEATURES_OK: straight to FAILED
    assert ids[i + 1:] == [TransportId.GET_DEVICE_STATUS, TransportId.SET_DEVICE_STATUS]
    assert dev.status == Status.ACKNOWLEDGE | Status.DRIVER | Status.FAILED
