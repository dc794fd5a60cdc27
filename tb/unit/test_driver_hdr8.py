"""The 8-byte driver model (2026 kernel transport) against the 8-byte device model, through the
loopback bus, request by request against the kernel-derived expectation (kernel_expect_hdr8.py),
plus the interoperability cases: a 48-byte bus, and a driver of one header format against a
device of the other."""
from __future__ import annotations

import asyncio
import errno

import pytest

from unit_helpers import MEM_BASE, MEM_SIZE, hx, run
from vmsg.models import (BlkDevice, BlkDriver, BumpAllocator, ByteMemory, DeviceBus, GenericDevice,
                         LoopbackBus, RngDevice, RngDriver, SoftwareQueueBackend, VirtioCore, VirtioError,
                         VirtioMsgDevice, blk_config, rng_stream)
from vmsg.models.driver_hdr8 import VirtioMsgDeviceHdr8, make_transport, transport_class
from vmsg.proto import Feature, HdrFormat, Message, TransportId, check_response, feature_bit
from vmsg.proto.constants import VIRTIO_ID_BLOCK
from vmsg.tests import kernel_expect_hdr8 as kx8

H8 = HdrFormat.HDR8
S6 = HdrFormat.SEED6
V1 = feature_bit(Feature.VERSION_1)


class Rig8:
    """A device bus and a loopback bus, each of a chosen header format, and memory."""

    def __init__(self, msg_size: int = 64, *, fmt=H8, device_fmt=None, bus_msg_size=None, **bus_kw) -> None:
        self.mem = ByteMemory(MEM_SIZE, base=MEM_BASE)
        self.alloc = BumpAllocator(MEM_BASE, MEM_SIZE)
        self.dbus = DeviceBus(msg_size, memory=self.mem, fmt=device_fmt if device_fmt is not None else fmt)
        self.bus = LoopbackBus(self.dbus, fmt=fmt, msg_size=bus_msg_size, **bus_kw)

    def transport(self, dev_id: int, **kwargs) -> VirtioMsgDevice:
        """The transport of the bus's format (as a bus layer picks it), events from the loopback."""
        t = make_transport(self.bus.fmt, self.bus, dev_id, self.mem, self.alloc, **kwargs)
        self.bus.event_sink = t.event
        return t

    def assert_clean(self, *transports: VirtioMsgDevice) -> None:
        """No error anywhere: device drops, bus drops, transport errors."""
        assert not self.dbus.drops, dict(self.dbus.drops)
        assert not self.dbus.refusals, dict(self.dbus.refusals)
        assert not self.bus.dropped_responses and not self.bus.unexpected_responses
        assert all(r == 0 for r in self.bus.event_results), self.bus.event_results
        for t in transports:
            assert not t.errors, t.errors


def rich_blk() -> GenericDevice:
    feats = sum(1 << b for b in (1, 2, 4, 5, 6, 9, 10, 11, 12, 13, 14, 28, 33, 36, 38, 40, 41))
    cfg = bytearray(blk_config(2048, 32, 512))
    cfg[34:36] = b"\x01\x00"
    return GenericDevice(VIRTIO_ID_BLOCK, feats | V1, bytes(cfg), [8])


def make_blk(offer: str):
    if offer == "default":
        return BlkDevice(capacity=2048, queue_size=8)
    if offer == "rich":
        return rich_blk()
    return GenericDevice(VIRTIO_ID_BLOCK, sum(1 << b for b in (2, 9, 17, 29)), blk_config(2048, 32, 512), [8])


async def probe(rig: Rig8, dev_num: int = 1):
    t = rig.transport(dev_num)
    await t.register()
    core = VirtioCore(t, BlkDriver())
    await core.register()
    return t, core


@pytest.mark.parametrize("msg_size", [50, 64, 256])
@pytest.mark.parametrize("offer", ["default", "rich", "legacy"])
def test_blk_probe_matches_the_2026_kernel_expectation(msg_size, offer):
    rig = Rig8(msg_size)
    dev = make_blk(offer)
    rig.dbus.add(1, dev)
    t, core = run(probe(rig))
    assert core.probed, core.probe_error
    assert isinstance(t, VirtioMsgDeviceHdr8)
    sent = rig.bus.requests()
    expected = kx8.linux_blk_probe8(msg_size, 1, dev.features, None, dev.config_size, 8,
                                    kx8.ring_addresses8(sent, 0))
    diffs = kx8.compare(expected, sent)
    assert not diffs, "\n".join(diffs)
    assert dev.negotiated == kx8.linux_blk_features(dev.features)
    # the bus stamped a fresh token on each request and each response carried it back
    assert [int.from_bytes(s[4:6], "little") for s in rig.bus.wire] == list(range(1, len(sent) + 1))
    assert [int.from_bytes(r[4:6], "little") for r in rig.bus.responses()] == rig.bus.tokens
    for wire, resp in zip(rig.bus.wire, rig.bus.responses()):
        check_response(Message.decode(wire, fmt=H8), Message.decode(resp, fmt=H8))
    rig.assert_clean(t)


def test_probe_bytes_by_hand_at_msg_size_50():
    """A few requests written out from virtio_msg.c of the 2026 tree (8-byte header)."""
    rig = Rig8(50)
    rig.dbus.add(1, BlkDevice(capacity=2048, queue_size=8))
    run(probe(rig))
    sent = rig.bus.requests()
    names = [Message.decode(s, fmt=H8).name for s in sent]
    assert sent[0] == hx("00 02 0100 0000 0800", 50)                           # DEVICE_INFO
    i = names.index("SET_DRV_FEATURES")
    # msg_size 24: header + index 0 + num 2 + the two feature words (0x1_2000_0A44)
    assert sent[i] == hx("00 04 0100 0000 1800  00000000 02000000 440a0020 01000000", 50)
    assert sent[i + 1] == hx("00 07 0100 0000 0800  00000000 02000000 440a0020 01000000", 50)  # stale words
    j = names.index("SET_VQUEUE")
    assert sent[j] == hx("00 0a 0100 0000 3000  00000000 00000000 08000000 00000000"
                         " 0000001000000000 8000001000000000 0010001000000000", 50)
    # a GET_CONFIG after it: header + offset + size; from byte 16 on the SET_VQUEUE's bytes
    # stay (its size 8, reserved 0 and the three addresses)
    assert sent[j + 1][:16] == hx("00 05 0100 0000 1000  0c000000 04000000")
    assert sent[j + 1][16:] == sent[j][16:] and sent[j + 1][16:20] == hx("08000000")


@pytest.mark.parametrize("msg_size", [50, 64, 256])
def test_set_config_chunks_and_sizes_match_the_kernel(msg_size):
    rig = Rig8(msg_size)
    dev = GenericDevice(9, V1, bytes(300), [8])
    rig.dbus.add(3, dev)
    data = bytes((7 * i + 1) & 0xFF for i in range(70))

    async def go():
        t = rig.transport(3)
        await t.register()
        await t.generation()
        await t.set(5, data)
        await t.set(290, b"\xAA\xBB")
        await t.get(0, 80)
        return t

    t = run(go())
    k = kx8.KernelTransport8(msg_size, 3, 300)
    k.device_info()
    k.generation()
    k.set(5, data, 0)
    k.set(290, b"\xAA\xBB", 0)
    k.get(0, 80)
    diffs = kx8.compare(k.out, rig.bus.requests())
    assert not diffs, "\n".join(diffs)
    chunks = [len(data[i:i + msg_size - 20]) for i in range(0, len(data), msg_size - 20)]
    sizes = [int.from_bytes(s[6:8], "little") for s in rig.bus.requests() if s[1] == TransportId.SET_CONFIG]
    assert sizes == [20 + c for c in chunks] + [22]
    assert bytes(dev.config[5:75]) == data and bytes(dev.config[290:292]) == b"\xAA\xBB"
    rig.assert_clean(t)


def test_find_vqs_notify_and_del_vqs_match_the_kernel():
    rig = Rig8(50)
    dev = GenericDevice(9, V1, b"", [8, 16])
    rig.dbus.add(2, dev)

    async def go():
        t = rig.transport(2)
        await t.register()
        t.features = V1
        await t.finalize_features()
        await t.set_status(0x0B)
        vqs = await t.find_vqs(["a", None, "b"])
        await t.set_status(0x0F)
        await t.notify(vqs[2])
        await t.del_vqs()
        return t, vqs

    t, vqs = run(go())
    sent = rig.bus.requests()
    k = kx8.KernelTransport8(50, 2)
    k.device_info()
    k.finalize_features(V1)
    k.set_status(0x0B)
    k.get_vqueue(0)
    k.set_vqueue(0, 8, kx8.ring_addresses8(sent, 0))
    k.get_vqueue(1)
    k.set_vqueue(1, 16, kx8.ring_addresses8(sent, 1))
    k.set_status(0x0F)
    k.notify(1)
    k.reset_vqueue(0)
    k.reset_vqueue(1)
    diffs = kx8.compare(k.out, sent)
    assert not diffs, "\n".join(diffs)
    # the event went out with token 0 (no response expected): only the others were stamped
    notify = next(w for w in rig.bus.wire if w[1] == TransportId.EVENT_AVAIL)
    assert notify[4:6] == b"\0\0" and len(rig.bus.tokens) == len(sent) - 1
    assert [kick.vq for kick in dev.kicks] == [1]
    assert not any(q.active for q in dev.queues)
    rig.assert_clean(t)


def test_event_used_is_read_after_the_8_byte_header():
    rig = Rig8(64)
    dev = GenericDevice(9, V1, b"", [8, 8])
    rig.dbus.add(1, dev)

    async def go():
        t = rig.transport(1)
        await t.register()
        vqs = await t.find_vqs(["a", "b"])
        return t, vqs

    t, vqs = run(go())
    hits = []
    vqs[1].callback = lambda vq: hits.append(vq.index)
    assert t.event(rig.dbus.event_used(1, 1)) == -errno.EIO     # no used buffer behind it
    assert t.event(rig.dbus.event_used(1, 5)) == -errno.EINVAL  # no queue 5
    assert t.event(rig.dbus.event_config(1, 0, b"")) == 0
    assert "unknown queue 5" in str(t.errors[-1])


@pytest.mark.parametrize("msg_size,accepted", [(44, False), (48, False), (49, False), (50, True)])
def test_the_2026_kernel_refuses_a_bus_below_50_bytes(msg_size, accepted):
    rig = Rig8(msg_size)
    rig.dbus.add(1, BlkDevice(queue_size=8))
    t = rig.transport(1)
    assert kx8.kernel_accepts_bus(msg_size) is accepted
    if accepted:
        run(t.register())
        assert t.device_id == 2
        return
    with pytest.raises(VirtioError) as exc:
        run(t.register())
    assert exc.value.errno == errno.EINVAL and f"msg_size {msg_size}" in str(exc.value)
    assert rig.bus.log == [] and not rig.dbus.handled                   # nothing was sent
    with pytest.raises(ValueError):
        kx8.KernelTransport8(msg_size, 1)


def test_the_seed_transport_still_takes_a_48_byte_bus():
    rig = Rig8(48, fmt=S6)
    rig.dbus.add(1, BlkDevice(queue_size=8))
    t = rig.transport(1)
    assert type(t) is VirtioMsgDevice
    run(t.register())
    assert t.device_id == 2


def test_a_6_byte_driver_against_an_8_byte_device_is_refused_and_nothing_is_delivered():
    rig = Rig8(64, fmt=S6, device_fmt=H8)
    dev = BlkDevice(queue_size=8)
    rig.dbus.add(1, dev)
    t = rig.transport(1)
    with pytest.raises(VirtioError) as exc:
        run(t.register())
    assert exc.value.errno == errno.ETIMEDOUT
    # the device side parsed the seed header as an 8-byte one: msg_size 0 there, dropped
    assert dict(rig.dbus.drops) == {"MsgSizeError": 1}
    assert not rig.dbus.handled and rig.bus.responses() == [] and dev.status == 0


def test_an_8_byte_driver_against_a_6_byte_device_is_refused_and_nothing_is_delivered():
    for stamp in (True, False):
        rig = Rig8(64, fmt=H8, device_fmt=S6, stamp_tokens=stamp)
        dev = BlkDevice(queue_size=8)
        rig.dbus.add(1, dev)
        t = rig.transport(1)
        with pytest.raises(VirtioError) as exc:
            run(t.register())
        assert exc.value.errno == errno.ETIMEDOUT
        # bytes 4-5 (the token, 1 or 0) are the seed's msg_size: below its 6-byte header
        assert dict(rig.dbus.drops) == {"MsgSizeError": 1}
        assert not rig.dbus.handled and rig.bus.responses() == [] and dev.status == 0


def test_a_response_with_another_token_is_dropped_by_the_bus():
    rig = Rig8(64)
    rig.dbus.add(1, BlkDevice(queue_size=8))
    handle = rig.dbus.handle

    async def wrong_token(slot):
        out = await handle(slot)
        return [o[:4] + b"\x34\x12" + o[6:] if o[0] & 1 else o for o in out]

    rig.dbus.handle = wrong_token
    t = rig.transport(1)
    with pytest.raises(VirtioError) as exc:
        run(t.register())
    assert exc.value.errno == errno.ETIMEDOUT
    assert len(rig.bus.dropped_responses) == 1 and rig.bus.dropped_responses[0][4:6] == b"\x34\x12"
    assert rig.bus.responses() == []


def test_tokens_wrap_and_skip_zero():
    rig = Rig8(64)
    rig.dbus.add(1, GenericDevice(9, V1, b"", []))
    rig.bus.next_token = 0xFFFE
    t = rig.transport(1)

    async def go():
        await t.register()
        await t.get_status()
        await t.get_status()

    run(go())
    assert rig.bus.tokens == [0xFFFE, 0xFFFF, 1]
    assert [r[4:6] for r in rig.bus.responses()] == [b"\xfe\xff", b"\xff\xff", b"\x01\x00"]
    rig.assert_clean(t)


def test_the_transport_is_chosen_by_the_header_format():
    assert transport_class(H8) is VirtioMsgDeviceHdr8 and transport_class("hdr8") is VirtioMsgDeviceHdr8
    assert transport_class(S6) is VirtioMsgDevice and transport_class() is VirtioMsgDevice
    assert VirtioMsgDeviceHdr8.HDR_FORMAT is H8 and VirtioMsgDevice.HDR_FORMAT is S6
    rig = Rig8(64)
    with pytest.raises(ValueError):
        VirtioMsgDeviceHdr8(rig.bus, 1, rig.mem, rig.alloc, count_flexible=False)
    with pytest.raises(ValueError):
        LoopbackBus(DeviceBus(64), stamp_tokens=True)            # a seed bus has no token


def _poll(limit: int = 1000):
    async def wait_until(predicate):
        for _ in range(limit):
            if predicate():
                return
            await asyncio.sleep(0)
    return wait_until


@pytest.mark.parametrize("event_idx", [False, True])
def test_blk_and_rng_io_over_the_8_byte_format(event_idx):
    """Probe, I/O and remove over HDR8 at the kernel's smallest bus: kicks (EVENT_AVAIL, token 0)
    reach the device, EVENT_USED (8-byte header, token 0) reach the driver's queues."""
    rig = Rig8(50)
    backend = SoftwareQueueBackend(rig.mem)
    rig.dbus.backend = backend
    blk = BlkDevice(capacity=16, queue_size=8, event_idx=event_idx)
    rng = RngDevice(queue_size=8, seed=5)
    rig.dbus.add(1, blk)
    rig.dbus.add(2, rng)
    cores: dict[int, VirtioCore] = {}

    async def sink(slot):
        return cores[int.from_bytes(slot[2:4], "little")].transport.event(slot)

    async def go():
        for dev_num, drv in ((1, BlkDriver(wait_until=_poll())), (2, RngDriver(wait_until=_poll()))):
            t = make_transport(H8, rig.bus, dev_num, rig.mem, rig.alloc)
            await t.register()
            cores[dev_num] = VirtioCore(t, drv)
            await cores[dev_num].register()
            assert cores[dev_num].probed, cores[dev_num].probe_error
        rig.bus.event_sink = sink
        data = bytes(range(256)) * 6
        await cores[1].driver.write(3, data, segments=3)
        assert await cores[1].driver.read(3, 3, segments=2) == data
        assert await cores[1].driver.get_id() == b"vmsg-ramdisk".ljust(20, b"\0")
        assert await cores[2].driver.read(40) == rng_stream(5, 40)
        for core in cores.values():
            await core.remove()

    run(go())
    events = [s for kind, s in rig.bus.log if kind == "event"]
    assert events and all(s[1] == TransportId.EVENT_USED and s[4:6] == b"\0\0" for s in events)
    assert all(Message.decode(s, fmt=H8).header.msg_size == 12 for s in events)
    kicks = [w for w in rig.bus.wire if w[1] == TransportId.EVENT_AVAIL]
    assert kicks and all(k[4:6] == b"\0\0" and k[6:8] == b"\x10\x00" for k in kicks)
    assert blk.stats["out"] == 1 and blk.stats["in"] == 1 and rng.produced == 40
    rig.assert_clean(*(c.transport for c in cores.values()))
