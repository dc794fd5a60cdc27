"""Bus layer of the driver side: GET_DEVICES paging, PING, hot-plug and removal, routing."""
from __future__ import annotations

import errno
import random
import struct

import pytest

from unit_helpers import Rig, run
from vmsg.models import (BlkDevice, BusDriver, GenericDevice, GenericDriver, RngDevice, VirtioError)
from vmsg.proto import BusId, DevState, Feature, Message, TransportId, feature_bit
from vmsg.proto import payloads as p

V1 = feature_bit(Feature.VERSION_1)
SPARSE = sorted(random.Random(40).sample(range(1, 2000), 38) + [0, 65535])


def get_devices_requests(rig: Rig) -> list[tuple[int, int]]:
    return [struct.unpack_from("<HH", s, 6) for s in rig.bus.requests() if s[0] == 2 and s[1] == BusId.GET_DEVICES]


def populate(rig: Rig, numbers) -> None:
    for n in numbers:
        rig.dbus.add(n, GenericDevice(0x100 + n % 7, V1, bytes(4), [4]))


def test_get_devices_finds_40_sparse_devices_page_by_page():
    rig = Rig(44)
    populate(rig, SPARSE)
    bd = rig.bus_driver()
    assert bd.get_devices_window == 256                      # (44 - 12) * 8 bits per response
    assert run(bd.get_devices()) == SPARSE
    # windows of 256 from 0 up to the one holding 65535; the responder's next_offset is
    # offset + 256 while devices remain beyond, 0 after the last window
    windows = get_devices_requests(rig)
    assert windows == [(off, 256) for off in range(0, 65536, 256)]
    assert rig.dbus.drops == {}


def test_get_devices_follows_skipped_windows_and_short_answers():
    rig = Rig(44, get_devices_skip_empty=True, get_devices_max=64)
    populate(rig, SPARSE)
    bd = rig.bus_driver(get_devices_window=128)
    assert run(bd.get_devices()) == SPARSE
    windows = get_devices_requests(rig)
    # the driver never asks past device number 65535
    assert all(num == min(128, 65536 - off) and off % 8 == 0 for off, num in windows)
    # the device answers at most 64 numbers, then jumps to the next populated window of 8
    assert windows[-1] == (65528, 8) and len(windows) < 40
    offsets = [off for off, _ in windows]
    assert offsets == sorted(set(offsets))


def test_get_devices_at_msg_size_256_uses_bigger_windows():
    rig = Rig(256)
    populate(rig, SPARSE[:-1])                               # no device at 65535
    bd = rig.bus_driver()
    assert bd.get_devices_window == 1952
    assert run(bd.get_devices()) == SPARSE[:-1]
    assert get_devices_requests(rig) == [(0, 1952), (1952, 1952)]


class BadGetDevicesBus:
    """Answers GET_DEVICES with a fixed (offset, num, next_offset)."""

    msg_size, revision = 44, 1

    def __init__(self, answer):
        self.answer = answer

    async def transfer(self, dev_id, request, response_expected):
        offset, num = struct.unpack_from("<HH", request, 6)
        off, n, nxt = self.answer(offset, num)
        return Message.make(BusId.GET_DEVICES, p.BusGetDevicesResp.from_present(off, n, nxt, []),
                            bus=True, response=True).encode(44)


@pytest.mark.parametrize("answer", [
    lambda off, num: (off, num, 64 if off == 0 else off),   # no progress on the second page
    lambda off, num: (off, num, off + num + 4),              # misaligned next_offset
    lambda off, num: (off + 8, num, 0),                      # wrong window
    lambda off, num: (off, num + 8, 0),                      # more than asked
])
def test_get_devices_protocol_violations_are_eio(answer):
    bd = BusDriver(BadGetDevicesBus(answer), None, None, get_devices_window=64)
    with pytest.raises(VirtioError) as info:
        run(bd.get_devices())
    assert info.value.errno == errno.EIO


def test_ping():
    rig = Rig(44)
    bd = rig.bus_driver()
    assert run(bd.ping(0xA5A5_0001)) == 0xA5A5_0001
    assert rig.bus.requests()[-1][:10] == bytes.fromhex("02030000 0a00 0100a5a5".replace(" ", ""))

    class Corrupting:
        msg_size, revision = 44, 1

        async def transfer(self, dev_id, request, response_expected):
            return Message.make(BusId.PING, p.BusPingResp(1), bus=True, response=True).encode(44)

    with pytest.raises(VirtioError, match="EIO"):
        run(BusDriver(Corrupting(), None, None).ping(2))


def test_scan_registers_and_probes_known_drivers():
    rig = Rig(64)
    rig.dbus.add(3, BlkDevice(queue_size=8))
    rig.dbus.add(17, RngDevice())
    rig.dbus.add(40, GenericDevice(99, V1, b"", [4]))        # no driver for id 99
    bd = rig.bus_driver()
    assert run(bd.scan()) == [3, 17, 40]
    assert bd.devices[3].probed and bd.devices[17].probed
    assert bd.devices[40].driver is None and rig.dbus.devices[40].status == 1   # ACKNOWLEDGE only
    assert rig.dbus.devices[3].status == 0x0F and rig.dbus.devices[17].status == 0x0F


def test_device_id_zero_is_not_registered():
    rig = Rig(44)
    rig.dbus.add(5, GenericDevice(0, V1, b"", [4]))
    bd = rig.bus_driver()
    run(bd.scan())
    assert bd.devices == {} and bd.errors[-1].name == "ENODEV"


def test_hotplug_and_orderly_removal():
    rig = Rig(44)
    bd = rig.bus_driver()
    assert run(bd.scan()) == []
    slot = run(rig.dbus.hotplug(7, RngDevice()))
    assert run(rig.bus.send_to_driver(slot)) == 0
    assert bd.devices[7].probed and rig.dbus.devices[7].status == 0x0F
    assert bd.event_log == [(7, DevState.READY)]
    # a second READY for a known device does not register it again
    n0 = len(rig.bus.requests())
    run(rig.bus.send_to_driver(slot))
    assert len(rig.bus.requests()) == n0
    # driver-initiated removal first (device still answers), then the device goes
    run(bd.unregister_device(7))
    assert rig.dbus.devices[7].status == 1 and not rig.dbus.devices[7].queues[0].active
    gone = run(rig.dbus.remove(7))
    assert run(rig.bus.send_to_driver(gone)) == 0 and 7 not in bd.devices


def test_surprise_removal_unregisters_despite_timeouts():
    rig = Rig(44)
    rig.dbus.add(7, RngDevice())
    bd = rig.bus_driver()
    run(bd.scan())
    core = bd.devices[7]
    gone = run(rig.dbus.remove(7))
    assert run(rig.bus.send_to_driver(gone)) == 0
    assert 7 not in bd.devices
    assert core.transport.errors and all(e.errno == errno.ETIMEDOUT for e in core.transport.errors)
    assert core.transport.vqs == []                          # queues freed anyway
    assert bd.event_log == [(7, DevState.REMOVED)]


def test_transport_events_are_routed_by_dev_id():
    rig = Rig(44)
    rig.dbus.add(1, GenericDevice(9, V1, bytes(8), [4]))
    rig.dbus.add(2, GenericDevice(9, V1, bytes(8), [4]))
    bd = rig.bus_driver(drivers={9: lambda: GenericDriver(queues=["q"])})
    run(bd.scan())
    run(rig.bus.send_to_driver(run(rig.dbus.change_config(2, 0, b"\x01"))))
    assert bd.devices[2].driver.config_changes == 1 and bd.devices[1].driver.config_changes == 0
    ghost = Message.make(TransportId.EVENT_USED, p.EventUsed(0), dev_id=9).encode(44)
    assert run(bd.handle_message(ghost)) == -errno.ENODEV
    resp = Message.make(BusId.PING, p.BusPingResp(0), bus=True, response=True).encode(44)
    assert run(bd.handle_message(resp)) == -errno.EINVAL
    bad_state = Message.make(BusId.EVENT_DEVICE, p.BusEventDevice(1, 9), bus=True).encode(44)
    assert run(bd.handle_message(bad_state)) == -errno.EINVAL
    assert run(bd.handle_message(b"\x80" + bytes(43))) == -errno.EINVAL


def test_config_change_before_probe_completes_is_delivered_after():
    rig = Rig(44)
    rig.dbus.add(1, GenericDevice(9, V1, bytes(8), [4]))
    fired = []

    class Driver(GenericDriver):
        async def probe(self, core):
            # a config change arrives while the driver probes: pending until probe is done
            await rig.bus.send_to_driver(await rig.dbus.change_config(1, 0, b"\x02"))
            fired.append(("during probe", self.config_changes))
            await super().probe(core)

    bd = rig.bus_driver(drivers={9: lambda: Driver(queues=["q"])})
    run(bd.scan())
    assert fired == [("during probe", 0)] and bd.devices[1].driver.config_changes == 1
