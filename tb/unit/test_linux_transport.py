"""LinuxBusDriver (tb/vmsg/linux/driver.py) registers each device with the kernel transport of
its bus's header format, Linux's virtio_ring.c behind it: the seed's transport on a 6-byte bus,
the 2026 tree's on an 8-byte one. Through the loopback bus to the device model, the probe of a
virtio-rng device (its I/O, whose notify schedules cocotb tasks, runs in the Linux* simulation
tests) and the deletion of its queue. The layouts checked are the kernels' structs
(virtio_msg.h of each tree: SET_VQUEUE's addresses at payload offset 12, and 16 after the
2026 reserved word; the 2026 SET_DRV_FEATURES counting its two feature words)."""
from __future__ import annotations

import struct

import pytest

from unit_helpers import run
from vmsg.linux.driver import (HeapAllocator, LinuxBusDriver, LinuxMsgDevice, LinuxMsgDeviceHdr8, LinuxRng,
                               linux_transport_class)
from vmsg.linux.ring import DmaDomain, LinuxRing, plain_buffer
from vmsg.models import DeviceBus, LoopbackBus, RngDevice
from vmsg.models.driver import VirtioMsgDevice
from vmsg.models.driver_hdr8 import VirtioMsgDeviceHdr8
from vmsg.proto import Feature, HdrFormat, TransportId
from vmsg.proto.constants import VIRTIO_ID_RNG

MEM = 1 << 24
COHERENT = (0x10_0000, 0x80_0000)
BOUNCE = (0x80_0000, 0x90_0000)
HEAP = (0x90_0000, 0x100_0000)
H8, S6 = HdrFormat.HDR8, HdrFormat.SEED6
ACCESS_PLATFORM = 1 << Feature.ACCESS_PLATFORM


class _BufMemory:
    """The driver side's view of the DMA buffer (bus address = offset)."""

    def __init__(self, buf) -> None:
        self.buf = buf

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.buf[addr:addr + n])

    def write(self, addr: int, data: bytes) -> None:
        self.buf[addr:addr + len(data)] = data


def _requests(bus: LoopbackBus, msg_id: int) -> list[bytes]:
    return [s for s in bus.requests() if s[0] == 0 and s[1] == msg_id]


def test_transport_class_per_format():
    assert linux_transport_class(S6) is LinuxMsgDevice and linux_transport_class("hdr8") is LinuxMsgDeviceHdr8
    assert issubclass(LinuxMsgDevice, VirtioMsgDevice) and not issubclass(LinuxMsgDevice, VirtioMsgDeviceHdr8)
    assert issubclass(LinuxMsgDeviceHdr8, VirtioMsgDeviceHdr8)
    assert LinuxMsgDevice.HDR_FORMAT is S6 and LinuxMsgDeviceHdr8.HDR_FORMAT is H8


@pytest.mark.parametrize("fmt", [S6, H8], ids=lambda f: f.label)
@pytest.mark.parametrize("count_flexible", [False, True], ids=["rfc_sizing", "counted"])
def test_linux_bus_driver_probes_with_the_transport_of_its_format(fmt, count_flexible):
    buf = plain_buffer(MEM)
    dma = DmaDomain(LinuxRing.get(), buf, COHERENT, BOUNCE)
    mem = _BufMemory(buf)
    dbus = DeviceBus(64, memory=mem, fmt=fmt)
    dbus.add(3, RngDevice(queue_size=16, seed=7, extra_features=ACCESS_PLATFORM))
    bus = LoopbackBus(dbus)
    # count_flexible is the seed transport's choice; the 2026 one always counts (and refuses False).
    bd = LinuxBusDriver(bus, mem, HeapAllocator(*HEAP), dma=dma, drivers={VIRTIO_ID_RNG: LinuxRng},
                        count_flexible=count_flexible)
    bus.event_sink = bd.handle_message
    assert bd.fmt is fmt
    assert run(bd.scan()) == [3]
    core = bd.devices[3]
    assert core.probed, core.probe_error
    tr = core.transport
    assert type(tr) is linux_transport_class(fmt) and tr.HDR_FORMAT is fmt and bd.transports == [tr]
    assert tr.count_flexible == (count_flexible or fmt is H8)
    hs = fmt.header_size
    size_at = 6 if fmt is H8 else 4

    (features,) = _requests(bus, TransportId.SET_DRV_FEATURES)
    counted = fmt is H8 or count_flexible
    assert struct.unpack_from("<H", features, size_at)[0] == hs + 8 + (8 if counted else 0)
    lo, hi = struct.unpack_from("<II", features, hs + 8)
    assert hi << 32 | lo == tr.features and tr.features & ACCESS_PLATFORM
    assert tr.vdev.features == tr.features   # what Linux's ring was told

    vq = core.driver.vq
    assert vq.num == 16 and COHERENT[0] <= vq.desc_addr and vq.used_addr < COHERENT[1]
    (setvq,) = _requests(bus, TransportId.SET_VQUEUE)
    payload, addr_at = (40, 16) if fmt is H8 else (36, 12)
    assert struct.unpack_from("<H", setvq, size_at)[0] == hs + payload
    assert struct.unpack_from("<I", setvq, hs)[0] == 0 and struct.unpack_from("<I", setvq, hs + 8)[0] == 16
    assert struct.unpack_from("<QQQ", setvq, hs + addr_at) == (vq.desc_addr, vq.avail_addr, vq.used_addr)
    if fmt is H8:
        assert bus.tokens and 0 not in bus.tokens   # the bus stamped every request
        assert setvq[4:6] == b"\0\0"                 # the transport leaves the token 0

    run(tr.del_vqs())
    (reset,) = _requests(bus, TransportId.RESET_VQUEUE)
    assert struct.unpack_from("<I", reset, hs)[0] == 0
    assert not tr.vqs and not dma.coherent.used, "the ring's coherent memory was not freed"
    assert not tr.errors and not bd.errors and not dma.errors, (tr.errors, bd.errors, dma.errors)
    assert not dbus.drops and not dbus.refusals, (dict(dbus.drops), dict(dbus.refusals))
    tr.vdev.close()
    dma.close()
