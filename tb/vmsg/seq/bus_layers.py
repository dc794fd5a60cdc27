"""The two software sides of the peripheral, as layers over the agents.

DriverBus is the virtio-msg bus driver for this peripheral on the host side:
what the kernel transport's `bus_info` and `transfer` ops call. It writes a
request into the driver port's mailbox, commits it, waits for the response
interrupt (it does not poll), matches the response by dev_id and msg_id, and
hands events (EVENT_USED, EVENT_CONFIG, EVENT_DEVICE) that arrive meanwhile
to the event handler, in arrival order.

Header format: DriverBus speaks the format BUS_INFO.HDR_FORMAT reports (`fmt`), unless it is
told one (`fmt=`: a host configured for the other format). In the 8-byte format the bus owns
the token: every request that expects a response leaves with a fresh token in bytes 4-5
(1, 2, ... 0xFFFF, then 1 again; events keep the transport's 0), and a response is matched by
(dev_id, token) and msg_id. A response that matches no outstanding request is dropped and
counted (`dropped_responses`), and is an error of the bus layer: a test that plants one
declares it (expect_error).

DeviceFirmware is the device side's interrupt handler: it drains requests
from the device port's mailbox into the device model, sends the model's
answers back, and turns doorbell pending bits into kicks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import cocotb
from cocotb.triggers import Event, First, Timer
from cocotb.utils import get_sim_time

import errno

from ..bfm.axil import OKAY
from ..models.errors import BusError
from ..proto.constants import HdrFormat
from ..env import mbox_ref as ref
from .port_ops import PortOps

MSG_NAMES = {
    (False, 0x02): "DEVICE_INFO", (False, 0x03): "GET_DEV_FEATURES", (False, 0x04): "SET_DRV_FEATURES",
    (False, 0x05): "GET_CONFIG", (False, 0x06): "SET_CONFIG", (False, 0x07): "GET_DEVICE_STATUS",
    (False, 0x08): "SET_DEVICE_STATUS", (False, 0x09): "GET_VQUEUE", (False, 0x0A): "SET_VQUEUE",
    (False, 0x0B): "RESET_VQUEUE", (False, 0x0C): "GET_SHM", (False, 0x40): "EVENT_CONFIG",
    (False, 0x41): "EVENT_AVAIL", (False, 0x42): "EVENT_USED",
    (True, 0x02): "BUS_GET_DEVICES", (True, 0x03): "BUS_PING", (True, 0x40): "BUS_EVENT_DEVICE",
}


def msg_name(slot: bytes, fmt: int | None = None) -> str:
    h = ref.Header.of(slot, fmt)
    return MSG_NAMES.get((h.is_bus, h.msg_id), f"id {h.msg_id:#04x}")


@dataclass
class _Waiter:
    msg_id: int
    request: bytes = b""
    token: int | None = None    # the token stamped on the request (8-byte format)
    event: Event = field(default_factory=Event)
    response: bytes | None = None
    done: Event = field(default_factory=Event)  # the transfer is over (for callers waiting their turn)


class DriverBus:
    """Host-side bus layer of the peripheral (bus_info + transfer)."""

    name = "vmsg-periph"

    def __init__(self, ops: PortOps, timeout_ns: float = 200_000, overflow_retry_ns: float = 200,
                 fmt: HdrFormat | int | str | None = None):
        self.ops = ops
        # None: the format BUS_INFO.HDR_FORMAT reports (read by start)
        self.forced_fmt = None if fmt is None else HdrFormat.parse(fmt)
        self.fmt = HdrFormat.SEED6 if self.forced_fmt is None else self.forced_fmt
        self.next_token = 1
        self.tokens: list[int] = []               # the token stamped on each request, in order
        self.dropped_responses: list[bytes] = []  # responses that matched no outstanding request
        self.timeout_ns = timeout_ns
        self.overflow_retry_ns = overflow_retry_ns
        self.msg_size = 0
        self.revision = 0
        self.event_handler: Callable[[bytes], Awaitable[object]] | None = None
        # Judges an EVENT_USED the handler answered -EIO (nothing new in the used ring): returns
        # None when the event is accounted for, else the error. Without it every -EIO is an error.
        self.eio_judge: Callable[[bytes], str | None] | None = None
        self.dropped_events: list[bytes] = []
        self.errors: list[str] = []
        self.received: list[tuple[float, bytes]] = []
        # every received message in pop order with, for a response, the request it answers
        self.rx_log: list[tuple[float, bytes, bytes | None]] = []
        self._waiters: dict[tuple[bool, int], _Waiter] = {}
        # Transport events (EVENT_USED, EVENT_CONFIG) and bus events (EVENT_DEVICE) are handled
        # by two services, each in arrival order: a hot-plug's registration and probe (which
        # waits for many responses) must not hold back the queues' notifications, as the
        # kernel defers device registration to a work item.
        self._events: deque[bytes] = deque()
        self._event_ready = Event()
        self._bus_events: deque[bytes] = deque()
        self._bus_event_ready = Event()
        self._tasks: list = []

    async def start(self) -> None:
        regs = self.ops.regs
        info = await self.ops.read("BUS_INFO")
        self.msg_size = regs.get("BUS_INFO", "MSG_SIZE", info)
        self.revision = regs.get("BUS_INFO", "REVISION", info)
        self.fmt = (HdrFormat.parse(regs.get("BUS_INFO", "HDR_FORMAT", info)) if self.forced_fmt is None
                    else self.forced_fmt)
        await self.ops.write("INTR_STATE", regs.value("INTR_STATE", RX_MSG=1, TX_ERR=1))
        await self.ops.write("INTR_ENABLE", regs.value("INTR_ENABLE", RX_MSG=1))
        self._tasks = [cocotb.start_soon(self._rx_service()),
                       cocotb.start_soon(self._event_service(self._events, self._event_ready)),
                       cocotb.start_soon(self._event_service(self._bus_events, self._bus_event_ready))]

    def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        self._tasks = []

    def bus_info(self) -> tuple[str, int, int]:
        return self.name, self.msg_size, self.revision

    # --- transfer -------------------------------------------------------
    def _stamp(self, request: bytes) -> tuple[bytes, int]:
        token = self.next_token
        self.next_token = token % 0xFFFF + 1
        self.tokens.append(token)
        return request[:4] + token.to_bytes(2, "little") + request[6:], token

    async def transfer(self, dev_id: int, request: bytes, response_expected: bool = True) -> bytes | None:
        h = ref.Header.of(request, self.fmt)
        key = (h.is_bus, 0 if h.is_bus else h.dev_id)
        waiter = None
        if response_expected:
            # Bus requests (GET_DEVICES, PING) from several callers take turns: the bus driver
            # owns them. Two requests in flight for one device would break the transport's
            # per-device serialisation: that is a caller's bug.
            while h.is_bus and key in self._waiters:
                await self._waiters[key].done.wait()
            if key in self._waiters:
                raise BusError(errno.EBUSY, f"a request to dev {h.dev_id} is already in flight")
            token = None
            if self.fmt.has_token:
                request, token = self._stamp(request)
            waiter = self._waiters[key] = _Waiter(h.msg_id, request, token)
        try:
            await self._send(request)
            if waiter is None:
                return None
            t0 = get_sim_time(unit="ns")
            await First(waiter.event.wait(), Timer(self.timeout_ns, unit="ns"))
            if waiter.response is None:
                tx = await self.ops.read("TX_STATUS")
                rx = await self.ops.read("RX_STATUS")
                raise BusError(
                    errno.ETIMEDOUT,
                    f"no response to {msg_name(request, self.fmt)} for {'the bus' if h.is_bus else f'dev_id {h.dev_id}'} "
                    f"within {self.timeout_ns:.0f} ns (sent at {t0:.0f} ns); driver port TX_STATUS={tx:#x} "
                    f"RX_STATUS={rx:#x}; {len(self.received)} message(s) received so far",
                )
            return waiter.response
        finally:
            if waiter is not None:
                self._waiters.pop(key, None)
                waiter.done.set()

    async def _send(self, request: bytes) -> None:
        regs = self.ops.regs
        deadline = get_sim_time(unit="ns") + self.timeout_ns
        while True:
            item = await self.ops.send(request)
            if item.resp == OKAY:
                return
            if item.error_code != ref.OVERFLOW:
                raise BusError(errno.EIO, f"{msg_name(request, self.fmt)} refused by the mailbox: TX_ERROR.CODE="
                                      f"{ref.CODE_NAMES.get(item.error_code, item.error_code)}")
            # FIFO full: the message stays staged; wait for the device to pop and commit again.
            if get_sim_time(unit="ns") > deadline:
                raise BusError(errno.ETIMEDOUT, f"mailbox to device stayed full for {self.timeout_ns:.0f} ns")
            await Timer(self.overflow_retry_ns, unit="ns")
            await self.ops.write("TX_ERROR", regs.value("TX_ERROR", OVERFLOW=1))

    # --- receive --------------------------------------------------------
    async def _rx_service(self) -> None:
        regs = self.ops.regs
        rx_bit = regs.value("INTR_STATE", RX_MSG=1)
        while True:
            await self.ops.seqr.wait_irq()
            await self.ops.write("INTR_STATE", rx_bit)
            while True:
                item = await self.ops.recv()
                if item.empty:
                    break
                if item.resp != OKAY:
                    self._error(f"pop of a received message answered resp {item.resp}")
                self._route(item.slot)

    def _route(self, slot: bytes) -> None:
        self.received.append((get_sim_time(unit="ns"), slot))
        h = ref.Header.of(slot, self.fmt)
        if not h.is_response:
            self.rx_log.append((get_sim_time(unit="ns"), slot, None))
            if h.is_bus:
                self._bus_events.append(slot)
                self._bus_event_ready.set()
            else:
                self._events.append(slot)
                self._event_ready.set()
            return
        key = (h.is_bus, 0 if h.is_bus else h.dev_id)
        waiter = self._waiters.get(key)
        name = msg_name(slot, self.fmt)
        if self.fmt.has_token and (waiter is None or waiter.response is not None or waiter.token != h.token):
            # (dev_id, token) matches no outstanding request: dropped and counted.
            self.dropped_responses.append(slot)
            outstanding = ("nothing outstanding" if waiter is None or waiter.response is not None
                           else f"token {waiter.token:#06x} outstanding")
            self._error(f"response {name} for {key} with token {h.token:#06x} matches no outstanding "
                        f"request ({outstanding}): dropped")
        elif waiter is None or waiter.response is not None:
            self._error(f"unexpected response {name} for {key}: nothing waits for it")
        elif waiter.msg_id != h.msg_id:
            self._error(f"response {name} does not match the request in flight (id {waiter.msg_id:#x}) for {key}")
        else:
            self.rx_log.append((get_sim_time(unit="ns"), slot, waiter.request))
            waiter.response = slot
            waiter.event.set()

    async def _event_service(self, events: deque, ready: Event) -> None:
        while True:
            while not events:
                ready.clear()
                await ready.wait()
            slot = events.popleft()
            if self.event_handler is None:
                self._error(f"event {msg_name(slot)} arrived with no handler")
                continue
            h = ref.Header.of(slot, self.fmt)
            what = f"{msg_name(slot, self.fmt)} for {'the bus' if h.is_bus else f'dev {h.dev_id}'} ({slot[:12].hex()})"
            try:
                rc = await self.event_handler(slot)
            except Exception as exc:  # noqa: BLE001 - a handler that raises is an error of the run
                self._error(f"handling {what} raised {exc!r}")
                continue
            # The kernel's event path returns 0 or -errno: -ENODEV/-EINVAL for an unknown device,
            # queue or message, -EIO for an EVENT_USED with nothing new in the used ring.
            if self.eio_judge is not None and not h.is_bus and h.msg_id == ref.EVENT_USED:
                verdict = self.eio_judge(slot)
                if verdict is not None:
                    self._error(f"{what}: {verdict}")
                if rc == -errno.EIO:
                    continue
                if rc in (-errno.EINVAL, -errno.ENODEV):
                    # An event for a queue or device that is gone: the bus driver and transport
                    # models log it as their own error; a model that drops it on purpose (an
                    # event decided before a reset, arriving during the removal) is judged by
                    # the ordering rule instead (no EVENT_USED after the reset's answer).
                    self.dropped_events.append(slot)
                    continue
            if isinstance(rc, int) and rc:
                self._error(f"handling {what} returned {rc} ({errno.errorcode.get(-rc, rc)})")

    def _error(self, msg: str) -> None:
        self.errors.append(msg)
        cocotb.log.error("DriverBus: %s", msg)


class DeviceFirmware:
    """Device-side interrupt handler in front of the device model."""

    def __init__(self, ops: PortOps, device_bus, num_devs: int, num_vqs: int,
                 timeout_ns: float = 200_000, overflow_retry_ns: float = 200):
        self.ops = ops
        self.device_bus = device_bus
        self.num_devs = num_devs
        self.num_vqs = num_vqs
        self.timeout_ns = timeout_ns
        self.overflow_retry_ns = overflow_retry_ns
        self.handled: list[bytes] = []
        self.kicks: list[tuple[int, int, int]] = []
        self.errors: list[str] = []
        self._task = None
        self.engine_error_handler: Callable[[], Awaitable[object]] | None = None
        # While set, the interrupt handler leaves the doorbells pending (a firmware busy with
        # messages); `service_doorbells` looks at them.
        self.defer_doorbells = False

    async def start(self, doorbells: bool = True) -> None:
        """Clear and enable the interrupts; doorbells=False leaves DOORBELL masked (the pending
        bits then collect kicks until someone looks)."""
        regs = self.ops.regs
        await self.ops.write("INTR_STATE", regs.value("INTR_STATE", RX_MSG=1, TX_ERR=1, DOORBELL=1, ENG_ERR=1))
        await self.ops.write("INTR_ENABLE", regs.value("INTR_ENABLE", RX_MSG=1, DOORBELL=int(doorbells), ENG_ERR=1))
        self._task = cocotb.start_soon(self._service())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def send(self, slot: bytes) -> None:
        """Send one message to the driver, waiting while the FIFO is full."""
        regs = self.ops.regs
        deadline = get_sim_time(unit="ns") + self.timeout_ns
        while True:
            item = await self.ops.send(slot)
            if item.resp == OKAY:
                return
            if item.error_code != ref.OVERFLOW or get_sim_time(unit="ns") > deadline:
                msg = (f"device send of {msg_name(slot)} refused: "
                       f"{ref.CODE_NAMES.get(item.error_code, item.error_code)}")
                self.errors.append(msg)
                raise BusError(errno.EIO, msg)
            await Timer(self.overflow_retry_ns, unit="ns")
            await self.ops.write("TX_ERROR", regs.value("TX_ERROR", OVERFLOW=1))

    async def _service(self) -> None:
        regs = self.ops.regs
        while True:
            await self.ops.seqr.wait_irq()
            state = await self.ops.read("INTR_STATE")
            await self.ops.write("INTR_STATE", state)
            if regs.get("INTR_STATE", "DOORBELL", state) and not self.defer_doorbells:
                await self._doorbells()
            await self._drain()
            if regs.get("INTR_STATE", "ENG_ERR", state) and self.engine_error_handler is not None:
                await self.engine_error_handler()

    async def _drain(self) -> None:
        while True:
            item = await self.ops.recv()
            if item.empty:
                return
            self.handled.append(item.slot)
            for reply in await self.device_bus.handle(item.slot):
                await self.send(reply)

    async def service_doorbells(self) -> None:
        """Take every pending doorbell now (as the interrupt handler does)."""
        await self._doorbells()

    async def _doorbells(self) -> None:
        regs = self.ops.regs
        pend_base = regs.addr("DB_PENDING")
        data_base = regs.addr("DB_DATA")
        n = self.num_devs * self.num_vqs
        for word in range((n + 31) // 32):
            bits = await self.ops.read(pend_base + 4 * word)
            if not bits:
                continue
            await self.ops.write(pend_base + 4 * word, bits)  # W1C before acting: a new kick sets it again
            for bit in range(32):
                if bits >> bit & 1:
                    p = word * 32 + bit
                    data = await self.ops.read(data_base + 4 * p)
                    dev, vq = divmod(p, self.num_vqs)
                    self.kicks.append((dev, vq, data))
                    for msg in await self.device_bus.kick(dev, vq, data):
                        await self.send(msg)
