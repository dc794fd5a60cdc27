"""A queue backend in software: keeps a DeviceVirtqueue per configured queue so the device
side can complete buffers without the engine (unit tests, and a reference for the engine)."""
from __future__ import annotations

from .device_ring import DeviceVirtqueue
from .memory import Memory


class SoftwareQueueBackend:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.queues: dict[tuple[int, int], DeviceVirtqueue] = {}
        self.calls: list[tuple] = []

    async def configure_queue(self, dev: int, vq: int, size: int, desc: int, driver: int,
                              device: int, event_idx: bool) -> None:
        self.calls.append(("configure_queue", dev, vq, size, desc, driver, device, event_idx))
        self.queues[(dev, vq)] = DeviceVirtqueue(self.memory, size, desc, driver, device, event_idx)

    async def reset_queue(self, dev: int, vq: int) -> None:
        self.calls.append(("reset_queue", dev, vq))
        self.queues.pop((dev, vq), None)

    async def device_reset(self, dev: int) -> None:
        self.calls.append(("device_reset", dev))
        for key in [k for k in self.queues if k[0] == dev]:
            del self.queues[key]

    def queue(self, dev: int, vq: int) -> DeviceVirtqueue:
        return self.queues[(dev, vq)]
