"""An in-process bus: the driver model's transfers go straight to a DeviceBus, as whole slots.

The first response the device side returns answers the transfer; everything else it returns
(events) is queued and delivered to `event_sink` (BusDriver.handle_message, or a device's
event()) after the transfer completes. `inject` decides the fate of each request: a test can
drop it (the transfer then times out) or alter it. `pause`, when given, is awaited inside every
transfer (e.g. asyncio.sleep(0)) so that concurrent callers interleave their messages.
"""
from __future__ import annotations

import errno
import inspect
from typing import Any, Awaitable, Callable, Optional

from ..proto.constants import REVISION_1, TYPE_RESPONSE
from .device import DeviceBus
from .errors import BusError

EventSink = Callable[[bytes], Any]           # returns an int or an awaitable of one


class LoopbackBus:
    name = "loopback"

    def __init__(self, device_bus: DeviceBus, *, msg_size: Optional[int] = None,
                 revision: int = REVISION_1, auto_deliver: bool = True,
                 pause: Optional[Callable[[], Awaitable[Any]]] = None) -> None:
        self.device_bus = device_bus
        self.msg_size = msg_size if msg_size is not None else device_bus.msg_size
        self.revision = revision
        self.auto_deliver = auto_deliver
        self.pause = pause
        self.event_sink: Optional[EventSink] = None
        self.inject: Optional[Callable[[bytes], Optional[bytes]]] = None
        self.pending: list[bytes] = []
        self.log: list[tuple[str, bytes]] = []    # ("req" | "resp" | "event", slot) in order
        self.event_results: list[int] = []
        self.unexpected_responses: list[bytes] = []

    def requests(self) -> list[bytes]:
        return [slot for kind, slot in self.log if kind == "req"]

    def responses(self) -> list[bytes]:
        return [slot for kind, slot in self.log if kind == "resp"]

    async def transfer(self, dev_id: int, request: bytes, response_expected: bool) -> bytes | None:
        slot = bytes(request).ljust(self.msg_size, b"\0")
        self.log.append(("req", slot))
        if self.inject is not None:
            slot = self.inject(slot)
            if slot is None:
                if response_expected:
                    raise BusError(errno.ETIMEDOUT, "request lost")
                return None
        if self.pause is not None:
            await self.pause()
        out = await self.device_bus.handle(slot)
        responses = [m for m in out if m[0] & TYPE_RESPONSE]
        self.pending += [m for m in out if not m[0] & TYPE_RESPONSE]
        response = None
        if response_expected:
            if not responses:
                raise BusError(errno.ETIMEDOUT, "no response")
            response = responses.pop(0)
            self.log.append(("resp", response))
        self.unexpected_responses += responses
        if self.auto_deliver:
            await self.deliver_pending()
        return response

    async def send_to_driver(self, slot: bytes) -> int:
        """Deliver one unsolicited message from the device side (hot-plug, config change)."""
        self.pending.append(slot)
        results = await self.deliver_pending()
        return results[-1] if results else 0

    async def deliver_pending(self) -> list[int]:
        results = []
        while self.pending and self.event_sink is not None:
            slot = self.pending.pop(0)
            self.log.append(("event", slot))
            result = self.event_sink(slot)
            if inspect.isawaitable(result):
                result = await result
            results.append(result)
            self.event_results.append(result)
        return results
