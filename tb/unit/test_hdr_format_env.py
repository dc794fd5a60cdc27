"""The header format in the checkers and the driver-side bus layer (no simulator): the commit
rules of mbox_ref at the 8-byte header's offsets, the scoreboard's per-device response rule in
both formats, and BusDriver choosing its transport and bus message layout by the bus's format."""
from __future__ import annotations

import pytest

from unit_helpers import run
from vmsg.env import mbox_ref as ref
from vmsg.env.mbox_events import MboxEvent
from vmsg.env.scoreboard import MailboxScoreboard
from vmsg.models import BlkDevice, BumpAllocator, BusDriver, ByteMemory, DeviceBus, LoopbackBus
from vmsg.models.driver_hdr8 import VirtioMsgDeviceHdr8
from vmsg.proto import HdrFormat, Message, TransportId
from vmsg.proto import payloads as p


@pytest.fixture(autouse=True)
def seed_format_after():
    yield
    ref.set_format(ref.SEED6)


def hdr8(type_, msg_id, dev, token, size, payload=b"", slot=64):
    return (bytes([type_, msg_id]) + dev.to_bytes(2, "little") + token.to_bytes(2, "little")
            + size.to_bytes(2, "little") + payload).ljust(slot, b"\0")


def hdr6(type_, msg_id, dev, size, payload=b"", slot=64):
    return (bytes([type_, msg_id]) + dev.to_bytes(2, "little") + size.to_bytes(2, "little") + payload).ljust(slot, b"\0")


def predict(slot, to_device=True, fmt=None):
    return ref.predict_commit(slot, to_device, 64, 0, 8, 8, 4, fmt=fmt)


# --- commit rules --------------------------------------------------------------------------
def test_size_small_at_the_formats_header_size():
    assert predict(hdr8(0, 0x02, 1, 5, 7), fmt=ref.HDR8).code == ref.SIZE_SMALL
    assert predict(hdr8(0, 0x02, 1, 5, 8), fmt=ref.HDR8).code == ref.NONE
    # the same bytes read as a 6-byte header: msg_size is the token (5)
    assert predict(hdr8(0, 0x02, 1, 5, 8), fmt=ref.SEED6).code == ref.SIZE_SMALL
    assert predict(hdr6(0, 0x02, 1, 6)).code == ref.NONE


def test_doorbell_payload_at_byte_8_and_size_16():
    kick = hdr8(0, ref.EVENT_AVAIL, 2, 0, 16, (3).to_bytes(4, "little") + (7).to_bytes(4, "little"))
    assert predict(kick, fmt=ref.HDR8) == ref.Prediction(ref.NONE, doorbell=True)
    short = hdr8(0, ref.EVENT_AVAIL, 2, 0, 15, (3).to_bytes(4, "little"))
    assert predict(short, fmt=ref.HDR8).code == ref.SIZE_SMALL
    out = hdr8(0, ref.EVENT_AVAIL, 2, 0, 16, (4).to_bytes(4, "little"))
    assert predict(out, fmt=ref.HDR8).code == ref.DB_RANGE
    ref.set_format(ref.HDR8)
    assert ref.payload_u32(kick, 4) == 7 and ref.Header.of(kick).token == 0


def test_token_is_never_looked_at():
    for token in (0, 1, 0xFFFF, 0x4142):
        assert predict(hdr8(0, 0x05, 1, token, 20), fmt=ref.HDR8).code == ref.NONE


def test_event_used_slot_per_format():
    assert ref.event_used_slot(3, 2, 16, fmt=ref.SEED6) == hdr6(0, 0x42, 3, 10, (2).to_bytes(4, "little"), 16)
    assert ref.event_used_slot(3, 2, 16, fmt=ref.HDR8) == hdr8(0, 0x42, 3, 0, 12, (2).to_bytes(4, "little"), 16)


def test_set_format_refuses_unknown():
    with pytest.raises(ValueError):
        ref.set_format(2)


# --- the scoreboard's response rule ----------------------------------------------------------
@pytest.fixture
def sb(request):
    s = MailboxScoreboard(f"sb_{request.node.name}", None)
    s.build_phase()
    s.msg_size, s.num_devs, s.num_vqs = 64, 8, 4
    s.depth = {"to_device": 8, "to_driver": 8}
    s.check_responses = True
    return s


def commit(sb, port, slot, t):
    sb.write(MboxEvent("commit", port, t, t - 5, slot=slot, length=16))
    sb.write(MboxEvent("pop", "dev" if port == "drv" else "drv", t + 1, t + 1, slot=slot, length=16,
                       read_words=frozenset(range(4))))


def order_problems(sb):
    return [x for x in sb.problems() if "response" in x or "answered" in x or "planted" in x]


def test_responses_in_request_order_seed(sb):
    commit(sb, "drv", hdr6(0, 0x07, 1, 6), 10)
    commit(sb, "dev", hdr6(1, 0x07, 1, 10), 20)
    commit(sb, "drv", hdr6(0, 0x08, 1, 10), 30)
    commit(sb, "dev", hdr6(1, 0x07, 1, 10), 40)    # answers a GET_DEVICE_STATUS nobody asked now
    assert any("does not answer the oldest request" in x for x in order_problems(sb))
    assert sb.responses_checked == 1


def test_response_without_request_and_unanswered(sb):
    commit(sb, "dev", hdr6(1, 0x07, 2, 10), 10)
    sb.require_every_response = True
    commit(sb, "drv", hdr6(0x02, 0x03, 0, 10), 20)   # PING to the bus, never answered
    probs = order_problems(sb)
    assert any("no request outstanding" in x for x in probs)
    assert any("never answered" in x and "the bus" in x for x in probs)


def test_tokens_match_in_hdr8(sb):
    ref.set_format(ref.HDR8)
    commit(sb, "drv", hdr8(0, 0x07, 1, 0x11, 8), 10)
    commit(sb, "dev", hdr8(1, 0x07, 1, 0x12, 12), 20)    # wrong token
    assert any("token 0x0012" in x for x in order_problems(sb))


def test_planted_responses_are_declared(sb):
    ref.set_format(ref.HDR8)
    sb.planted_responses = 2
    commit(sb, "drv", hdr8(0, 0x07, 1, 0x11, 8), 10)
    commit(sb, "dev", hdr8(1, 0x07, 1, 0x99, 12), 15)    # planted
    commit(sb, "dev", hdr8(1, 0x07, 1, 0x11, 12), 20)
    assert order_problems(sb) == ["2 planted response(s) declared, 1 seen"]
    commit(sb, "dev", hdr8(1, 0x07, 1, 0x77, 12), 30)    # planted, nothing outstanding
    assert order_problems(sb) == [] and sb.responses_checked == 1


def test_events_need_no_response(sb):
    sb.require_every_response = True
    commit(sb, "drv", hdr6(0, ref.EVENT_AVAIL, 1, 14, bytes(8)), 10)  # a doorbell
    commit(sb, "dev", hdr6(0, ref.EVENT_CONFIG, 1, 22), 20)
    assert order_problems(sb) == []


def test_off_checks_nothing(sb):
    sb.check_responses = False
    commit(sb, "dev", hdr6(1, 0x07, 2, 10), 10)
    assert order_problems(sb) == []


# --- BusDriver in the bus's format -----------------------------------------------------------
def test_bus_driver_speaks_the_bus_format():
    dbus = DeviceBus(64, fmt=HdrFormat.HDR8)
    dbus.add(3, BlkDevice(capacity=16, queue_size=8))
    bus = LoopbackBus(dbus)
    mem = ByteMemory(1 << 20, 0x1000_0000)
    bd = BusDriver(bus, mem, BumpAllocator(0x1000_0000, 1 << 20))
    bus.event_sink = bd.handle_message
    assert bd.fmt is HdrFormat.HDR8
    assert bd.get_devices_window == (64 - 8 - 6) * 8 // 8 * 8
    assert run(bd.scan()) == [3]
    assert isinstance(bd.transports[0], VirtioMsgDeviceHdr8)
    assert bd.devices[3].probed, bd.devices[3].probe_error
    gd = [s for s in bus.wire if s[0] == 2 and s[1] == 0x02][0]
    msg = Message.decode(gd, fmt=HdrFormat.HDR8)
    assert msg.token != 0 and msg.payload.num == bd.get_devices_window
    assert bus.dropped_responses == []


def test_bus_driver_format_override_builds_seed_messages():
    dbus = DeviceBus(64, fmt=HdrFormat.HDR8)
    bus = LoopbackBus(dbus)
    bd = BusDriver(bus, ByteMemory(1 << 16, 0), BumpAllocator(0, 1 << 16), fmt=HdrFormat.SEED6)
    assert bd.fmt is HdrFormat.SEED6 and bd.get_devices_window == (64 - 6 - 6) * 8 // 8 * 8
    slot = Message.make(TransportId.GET_DEVICE_STATUS, p.Empty(), dev_id=1).encode(64)
    assert slot[4:6] == (6).to_bytes(2, "little")
