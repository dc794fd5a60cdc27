"""Helpers shared by the unit tests of the Python models (no simulator).

A module of its own, not conftest.py: tb/sim has a conftest too, and one pytest run collects both."""
from __future__ import annotations

import asyncio

from vmsg.models import (BumpAllocator, BusDriver, ByteMemory, DeviceBus, LoopbackBus,
                         VirtioMsgDevice)

MEM_BASE = 0x1000_0000
MEM_SIZE = 1 << 22


def run(coro):
    """Run one coroutine to completion (the models await only the injected bus)."""
    return asyncio.run(coro)


def hx(text: str, size: int | None = None) -> bytes:
    """Bytes from spaced hex ("00 02 0100"), zero-padded to size."""
    data = bytes.fromhex("".join(text.split()))
    if size is not None:
        assert len(data) <= size, f"{len(data)} > {size}"
        data = data.ljust(size, b"\0")
    return data


class Rig:
    """A device bus, a loopback bus and memory: the parts most tests need."""

    def __init__(self, msg_size: int = 44, *, backend=None, strict_sizing: bool = False,
                 **device_bus_kwargs) -> None:
        self.msg_size = msg_size
        self.mem = ByteMemory(MEM_SIZE, base=MEM_BASE)
        self.alloc = BumpAllocator(MEM_BASE, MEM_SIZE)
        self.dbus = DeviceBus(msg_size, backend, memory=self.mem, strict_sizing=strict_sizing,
                              **device_bus_kwargs)
        self.bus = LoopbackBus(self.dbus)

    def transport(self, dev_id: int, **kwargs) -> VirtioMsgDevice:
        """A transport device whose events come straight from the loopback."""
        t = VirtioMsgDevice(self.bus, dev_id, self.mem, self.alloc, **kwargs)
        self.bus.event_sink = t.event
        return t

    def bus_driver(self, **kwargs) -> BusDriver:
        bd = BusDriver(self.bus, self.mem, self.alloc, **kwargs)
        self.bus.event_sink = bd.handle_message
        return bd
