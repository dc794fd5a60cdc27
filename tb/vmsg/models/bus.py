"""The bus interface the driver model runs over (the kernel's struct virtio_msg_ops).

A bus moves whole messages: `request` is the device's whole request buffer (msg_size bytes,
stale bytes beyond the header's msg_size included) and the result is the whole response slot.
Failures are raised as BusError with ETIMEDOUT (no response) or EIO (bus fault).

Events (EVENT_USED, EVENT_CONFIG, EVENT_DEVICE) travel the other way: the bus layer hands them
to `BusDriver.handle_message` (or directly to `VirtioMsgDevice.event`).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class VirtioMsgBus(Protocol):
    # bus_info: the bus message size (slot size, >= 44) and protocol revision (1).
    msg_size: int
    revision: int

    async def transfer(self, dev_id: int, request: bytes, response_expected: bool) -> bytes | None:
        """Send `request`; when response_expected, wait for and return the response slot
        (raise BusError on failure); otherwise return None once the request is sent."""
        ...
