"""A queue backend in software: keeps a DeviceVirtqueue per configured queue so the device
side can complete buffers without the engine (unit tests, and a reference for the engine).

Completions write the used element(s), publish used->idx once per call and take the
notification decision as the engine does. A decision to notify is put in an outbox of
(dev, vq) pairs; `take_events()` empties it and `DeviceBus.kick` / `DeviceBus.take_events`
turn each entry into one EVENT_USED message for the device side to send. Resets drop the
queue and its undelivered events (reset discards pending queue work).
"""
from __future__ import annotations

from collections import Counter

from .device import PATH_STREAM
from .device_ring import DeviceVirtqueue
from .memory import Memory


class SoftwareQueueBackend:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.queues: dict[tuple[int, int], DeviceVirtqueue] = {}
        self.calls: list[tuple] = []
        self.events: list[tuple[int, int]] = []       # outbox: (dev, vq) to notify
        self.dropped: Counter[tuple[int, int]] = Counter()   # completions for unconfigured queues
        self.publishes = 0

    async def configure_queue(self, dev: int, vq: int, size: int, desc: int, driver: int,
                              device: int, event_idx: bool) -> None:
        self.calls.append(("configure_queue", dev, vq, size, desc, driver, device, event_idx))
        self.queues[(dev, vq)] = DeviceVirtqueue(self.memory, size, desc, driver, device, event_idx)

    async def reset_queue(self, dev: int, vq: int) -> None:
        self.calls.append(("reset_queue", dev, vq))
        self.queues.pop((dev, vq), None)
        self.events = [e for e in self.events if e != (dev, vq)]

    async def device_reset(self, dev: int) -> None:
        self.calls.append(("device_reset", dev))
        for key in [k for k in self.queues if k[0] == dev]:
            del self.queues[key]
        self.events = [e for e in self.events if e[0] != dev]

    async def complete(self, dev: int, vq: int, head: int, length: int, path: str = PATH_STREAM) -> None:
        """One used buffer, published on its own (the path is ignored: one software path)."""
        await self.complete_many(dev, vq, [(head, length)], path)

    async def complete_many(self, dev: int, vq: int, completions: list[tuple[int, int]],
                            path: str = PATH_STREAM) -> None:
        """Several used buffers in order, made visible with one used->idx write. A completion
        for a queue that is not configured is dropped and counted (as the engine drops it)."""
        q = self.queues.get((dev, vq))
        if q is None:
            self.dropped[(dev, vq)] += len(completions)
            return
        for head, length in completions:
            q.write_used(head, length)
        self.publishes += 1
        if q.publish():
            self.events.append((dev, vq))

    def take_events(self) -> list[tuple[int, int]]:
        """The notifications decided since the last call, oldest first."""
        events, self.events = self.events, []
        return events

    def queue(self, dev: int, vq: int) -> DeviceVirtqueue:
        return self.queues[(dev, vq)]
