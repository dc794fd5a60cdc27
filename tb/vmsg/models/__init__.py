"""Python models of both ends of the virtio-msg transport (no simulator dependency).

Driver side:  VirtioMsgDevice (mirror of the RFC virtio_msg.c), VirtioCore (Linux probe order),
              BusDriver (GET_DEVICES, PING, EVENT_DEVICE, registry), SplitVirtqueue, drivers.
Device side:  DeviceBus (device firmware), QueueBackend hooks, device types, DeviceVirtqueue.
Glue:         VirtioMsgBus (the bus interface), LoopbackBus, ByteMemory, BumpAllocator.

Every method that talks to the bus is `async` and awaits only the injected bus, backend (and the
drivers' wait hook), so the same code runs under asyncio and under cocotb.
"""
from .bus import VirtioMsgBus
from .bus_driver import BusDriver
from .device import (PATH_REGS, PATH_STREAM, DeviceBus, Kick, NullQueueBackend, QueueBackend, QueueState,
                     VirtioDeviceModel, complete_all, is_event_slot)
from .device_ring import Chain, Descriptor, DeviceRingError, DeviceVirtqueue
from .devices import BlkDevice, GenericDevice, RngDevice, blk_config, rng_stream
from .driver import RING_TRANSPORT_FEATURES, VirtioMsgDevice, VqInfo, vring_transport_features
from .drivers import (DEFAULT_DRIVERS, BlkDriver, BlkRequest, GenericDriver, IoRequest, RngDriver, RngRequest,
                      WaitUntil)
from .errors import BusError, IoStatusError, VirtioError, VirtqueueError
from .loopback import LoopbackBus
from .memory import Allocator, BumpAllocator, ByteMemory, Memory
from .soft_backend import SoftwareQueueBackend
from .virtio_core import VirtioCore, VirtioDriverModel
from .virtqueue import SplitVirtqueue, VringLayout, vring_need_event, vring_size

__all__ = [
    "VirtioMsgBus", "BusDriver", "DeviceBus", "Kick", "NullQueueBackend", "QueueBackend",
    "QueueState", "VirtioDeviceModel", "is_event_slot", "complete_all", "PATH_REGS", "PATH_STREAM",
    "Chain", "Descriptor", "DeviceRingError",
    "DeviceVirtqueue", "BlkDevice", "GenericDevice", "RngDevice", "blk_config", "rng_stream",
    "RING_TRANSPORT_FEATURES", "VirtioMsgDevice", "VqInfo", "vring_transport_features",
    "DEFAULT_DRIVERS", "BlkDriver", "BlkRequest", "GenericDriver", "IoRequest", "RngDriver",
    "RngRequest", "WaitUntil", "BusError", "IoStatusError", "VirtioError",
    "VirtqueueError", "LoopbackBus", "Allocator", "BumpAllocator", "ByteMemory", "Memory",
    "SoftwareQueueBackend", "VirtioCore", "VirtioDriverModel", "SplitVirtqueue", "VringLayout",
    "vring_need_event", "vring_size",
]
