"""An in-process bus: the driver model's transfers go straight to a DeviceBus, as whole slots.

The first response the device side returns answers the transfer; everything else it returns
(events) is queued and delivered to `event_sink` (BusDriver.handle_message, or a device's
event()) after the transfer completes. `inject` decides the fate of each request: a test can
drop it (the transfer then times out) or alter it. `pause`, when given, is awaited inside every
transfer (e.g. asyncio.sleep(0)) so that concurrent callers interleave their messages.

Header format: `fmt` is the format this bus speaks (default: the device bus's). A bus says which
header it uses (the revision is 1 in both), so the driver side picks its transport by it
(driver_hdr8.transport_class(bus.fmt)); giving a bus of one format a device bus of the other
models a mismatched pair (the device side drops what it cannot parse; nothing is delivered).

Tokens (HDR8): the bus owns them. With `stamp_tokens` (default: on in HDR8) every request that
expects a response leaves the bus with a fresh token in bytes 4-5 (1, 2, ... 0xFFFF, then 1
again; 0 is the events' token), events keep token 0. The response is matched by (dev_id, token,
msg_id): a response that does not match the outstanding request is dropped and kept in
`dropped_responses` (the transfer then times out if no response matches). `log` keeps the
requests as the transport handed them (the kernel's buffer, token 0), `wire` what the device
side received.
"""
from __future__ import annotations

import errno
import inspect
from typing import Any, Awaitable, Callable, Optional

from ..proto.constants import REVISION_1, TYPE_RESPONSE, HdrFormat
from .device import DeviceBus
from .errors import BusError

EventSink = Callable[[bytes], Any]           # returns an int or an awaitable of one


class LoopbackBus:
    name = "loopback"

    def __init__(self, device_bus: DeviceBus, *, msg_size: Optional[int] = None,
                 revision: int = REVISION_1, auto_deliver: bool = True,
                 pause: Optional[Callable[[], Awaitable[Any]]] = None,
                 fmt: HdrFormat | int | str | None = None, stamp_tokens: Optional[bool] = None) -> None:
        self.device_bus = device_bus
        self.fmt = HdrFormat.parse(fmt if fmt is not None else getattr(device_bus, "fmt", HdrFormat.SEED6))
        self.stamp_tokens = self.fmt.has_token if stamp_tokens is None else stamp_tokens
        if self.stamp_tokens and not self.fmt.has_token:
            raise ValueError("the 6-byte header has no token to stamp")
        self.next_token = 1
        self.tokens: list[int] = []               # the token stamped on each request that expects a response
        self.wire: list[bytes] = []               # requests as the device side received them
        self.dropped_responses: list[bytes] = []  # responses that matched no outstanding request
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

    def _stamp(self, slot: bytes) -> tuple[bytes, int]:
        token = self.next_token
        self.next_token = token % 0xFFFF + 1
        self.tokens.append(token)
        return slot[:4] + token.to_bytes(2, "little") + slot[6:], token

    def _matches(self, response: bytes, request: bytes, token: Optional[int]) -> bool:
        if token is None:
            return True
        return (response[1] == request[1] and response[2:4] == request[2:4]
                and int.from_bytes(response[4:6], "little") == token)

    async def transfer(self, dev_id: int, request: bytes, response_expected: bool) -> bytes | None:
        slot = bytes(request).ljust(self.msg_size, b"\0")
        self.log.append(("req", slot))
        token = None
        if self.stamp_tokens and response_expected:
            slot, token = self._stamp(slot)
        sent = slot
        if self.inject is not None:
            slot = self.inject(slot)
            if slot is None:
                if response_expected:
                    raise BusError(errno.ETIMEDOUT, "request lost")
                return None
        self.wire.append(slot)
        if self.pause is not None:
            await self.pause()
        out = await self.device_bus.handle(slot)
        responses = [m for m in out if m[0] & TYPE_RESPONSE]
        self.pending += [m for m in out if not m[0] & TYPE_RESPONSE]
        if token is not None:
            self.dropped_responses += [m for m in responses if not self._matches(m, sent, token)]
            responses = [m for m in responses if self._matches(m, sent, token)]
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
