"""Transport and bus operations end to end: the driver model (mirroring the Linux
virtio-msg transport) on the driver port, the device model behind the device
firmware on the device port, the peripheral in between."""

from __future__ import annotations

import errno

import cocotb
import pyuvm
from cocotb.triggers import Timer

from ..models import (BlkDevice, BlkDriver, BumpAllocator, BusDriver, ByteMemory, DeviceBus, GenericDevice,
                      GenericDriver, NullQueueBackend, VirtioCore, VirtioError, VqInfo, blk_config)
from ..proto.constants import Feature, feature_bit
from . import kernel_expect as kx
from .base import VmsgBaseTest

VERSION_1 = feature_bit(Feature.VERSION_1)
EVENT_IDX = feature_bit(Feature.RING_EVENT_IDX)
BLK_F_FLUSH = 1 << 9
RING_BASE = 0x1000_0000


class TransportTest(VmsgBaseTest):
    """Driver model + device model over the peripheral."""

    def make_device_bus(self):
        return DeviceBus(self.params["MSG_SIZE"], NullQueueBackend())

    async def start_models(self, **bus_driver_kw) -> BusDriver:
        self.memory = ByteMemory(RING_BASE, 1 << 20)
        self.allocator = BumpAllocator(RING_BASE, 1 << 20)
        self.bus_driver = BusDriver(self.bus, self.memory, self.allocator, **bus_driver_kw)
        self.bus.event_handler = self.bus_driver.handle_message
        return self.bus_driver

    def requests_of(self, dev_id: int) -> list[bytes]:
        """Transport requests that crossed to the device for one device number, in order."""
        return [s for s in self.env.trace.slots("to_device") if not s[0] & 2 and int.from_bytes(s[2:4], "little") == dev_id]


@pyuvm.test()
class ProbeBlkLinuxTest(TransportTest):
    """GET_DEVICES, then a virtio-blk-like device probed as Linux does, message by message.

    The device offers VERSION_1, EVENT_IDX and FLUSH: with that offer Linux's virtio_blk reads
    only the capacity at probe; the blk-like driver also reads its whole config in one get, which
    splits into msg_size - 18 byte chunks (26/26/8 at 44, 46/14 at 64, 60 at 256).
    """

    async def body(self):
        ms = self.params["MSG_SIZE"]
        features = VERSION_1 | EVENT_IDX | BLK_F_FLUSH
        dev = BlkDevice(capacity=4096, queue_size=16, features=features)
        self.device_bus.add(1, dev)
        bd = await self.start_models()
        found = await bd.scan()
        assert found == [1], f"GET_DEVICES found {found}"
        core = bd.devices[1]
        assert core.probed and core.probe_error is None, f"probe failed: {core.probe_error}"
        assert dev.status == 0x0F, f"device status {dev.status:#x}"
        assert core.driver.capacity == 4096
        assert core.driver.config == bytes(dev.config)
        # Independent expectation: the kernel's request buffer, op by op (kernel_expect).
        # Negotiated: FLUSH is in virtio_blk's table, EVENT_IDX and VERSION_1 are kept by the ring.
        sent = self.requests_of(1)
        expected = kx.linux_blk_probe(ms, 1, features, BLK_F_FLUSH | EVENT_IDX | VERSION_1,
                                      config_size=dev.config_size, queue_max_size=16,
                                      ring=kx.ring_addresses(sent, 0))
        diffs = kx.compare(expected, sent)
        assert not diffs, "probe differs from the kernel's sequence:\n" + "\n".join(diffs)
        bus_msgs = [s for s in self.env.trace.slots("to_device") if s[0] & 2]
        assert len(bus_msgs) >= 1 and bus_msgs[0][1] == 0x02, "discovery starts with GET_DEVICES"
