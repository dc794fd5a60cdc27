"""The driver side's bus layer: device discovery (GET_DEVICES), PING, hot-plug (EVENT_DEVICE)
and the registry of transport devices per device number. It also routes messages arriving from
the device side: bus events to itself, transport events to the device they name.

Header format: the bus says which header it speaks (`bus.fmt`, the seed's 6-byte header when
the bus does not say); `fmt=` overrides it (a host configured for the other format). The
transport of each device is the format's (driver_hdr8.make_transport: the seed's RFC model for
SEED6, the 2026 tree's for HDR8), and bus messages are built and parsed in that format."""
from __future__ import annotations

import errno
from typing import Callable, Mapping, Optional

from ..proto import Message, ProtocolError
from ..proto import payloads as p
from ..proto.constants import GET_DEVICES_ALIGN, BusId, DevState, HdrFormat, TransportId
from .bus import VirtioMsgBus
from .driver import RING_TRANSPORT_FEATURES, VirtioMsgDevice
from .driver_hdr8 import make_transport
from .drivers import DEFAULT_DRIVERS
from .errors import BusError, VirtioError
from .memory import Allocator, Memory
from .virtio_core import VirtioCore, VirtioDriverModel

DriverFactory = Callable[[], VirtioDriverModel]
_GET_DEVICES_RESP_FIXED = 6
_MAX_DEVICE_NUMBERS = 1 << 16


class BusDriver:
    def __init__(self, bus: VirtioMsgBus, memory: Memory, allocator: Allocator, *,
                 drivers: Mapping[int, DriverFactory] = DEFAULT_DRIVERS, count_flexible: bool = False,
                 get_devices_window: Optional[int] = None, ring_align: int = 4096,
                 fmt: HdrFormat | int | str | None = None) -> None:
        self.bus = bus
        self.fmt = HdrFormat.parse(fmt if fmt is not None else getattr(bus, "fmt", HdrFormat.SEED6))
        self.memory = memory
        self.allocator = allocator
        self.drivers = dict(drivers)
        self.count_flexible = count_flexible
        self.ring_align = ring_align
        self.get_devices_window = get_devices_window or self.max_get_devices_window()
        if self.get_devices_window % GET_DEVICES_ALIGN or not self.get_devices_window:
            raise ValueError("the GET_DEVICES window is a non-zero multiple of 8")
        self.devices: dict[int, VirtioCore] = {}
        self.errors: list[VirtioError] = []
        self.transports: list[VirtioMsgDevice] = []     # every transport ever created (their errors count)
        self.stale_config_events = 0                    # EVENT_CONFIG for a device between registrations
        self.removing: dict[int, VirtioCore] = {}       # devices whose remove path runs
        self.event_log: list[tuple[int, int]] = []     # (dev_num, dev_state) of EVENT_DEVICE

    def max_get_devices_window(self) -> int:
        """Device numbers whose bitmap fits one response slot, rounded down to a multiple of 8."""
        bits = (self.bus.msg_size - self.fmt.header_size - _GET_DEVICES_RESP_FIXED) * 8
        return min(bits, _MAX_DEVICE_NUMBERS) // GET_DEVICES_ALIGN * GET_DEVICES_ALIGN

    # --- bus requests --------------------------------------------------------------------------
    async def _bus_request(self, msg_id: BusId, payload: p.Payload) -> Message:
        slot = Message.make(msg_id, payload, bus=True, fmt=self.fmt).encode(self.bus.msg_size)
        raw = await self.bus.transfer(0, slot, True)
        if raw is None:
            raise BusError(errno.EIO, "bus returned no response")
        try:
            resp = Message.decode(raw, fmt=self.fmt)
        except ProtocolError as exc:
            raise VirtioError(errno.EIO, f"malformed {msg_id.name} response: {exc}") from exc
        if not (resp.is_bus and resp.is_response and resp.msg_id == msg_id):
            raise VirtioError(errno.EIO, f"expected a {msg_id.name} response, got {resp.name}")
        return resp

    async def ping(self, data: int) -> int:
        """PING; returns the echoed data (EIO when it differs)."""
        resp = await self._bus_request(BusId.PING, p.BusPing(data))
        if resp.payload.data != data:
            raise VirtioError(errno.EIO, f"PING 0x{data:08x} answered 0x{resp.payload.data:08x}")
        return resp.payload.data

    async def get_devices(self) -> list[int]:
        """GET_DEVICES from offset 0, following next_offset until it is 0. The responder may
        answer fewer numbers than asked and may skip empty windows (an aligned next_offset
        beyond offset + num); going backwards or misaligned is a protocol error (EIO)."""
        present: list[int] = []
        offset = 0
        for _ in range(_MAX_DEVICE_NUMBERS // GET_DEVICES_ALIGN + 1):
            num = min(self.get_devices_window, _MAX_DEVICE_NUMBERS - offset)
            resp = (await self._bus_request(BusId.GET_DEVICES, p.BusGetDevices(offset, num))).payload
            if resp.offset != offset or resp.num > num or resp.num % GET_DEVICES_ALIGN:
                raise VirtioError(errno.EIO, f"GET_DEVICES({offset}, {num}) answered "
                                              f"offset {resp.offset} num {resp.num}")
            present += resp.present()
            if resp.next_offset == 0:
                return present
            if resp.next_offset % GET_DEVICES_ALIGN or resp.next_offset < offset + max(resp.num, 1):
                raise VirtioError(errno.EIO, f"GET_DEVICES next_offset {resp.next_offset} after "
                                              f"window {offset}+{resp.num}")
            offset = resp.next_offset
        raise VirtioError(errno.EIO, "GET_DEVICES does not terminate")

    async def scan(self) -> list[int]:
        """Discover the devices and register each one that is not registered yet."""
        found = await self.get_devices()
        for dev_num in found:
            if dev_num not in self.devices:
                await self.register_device(dev_num)
        return found

    # --- device registry -----------------------------------------------------------------------
    def transport_args(self) -> dict:
        """Keyword arguments of every transport this bus driver builds: the ring alignment and,
        for the seed's transport, count_flexible (the 2026 tree always counts the flexible data)."""
        kw = {"ring_align": self.ring_align}
        if self.fmt is not HdrFormat.HDR8:
            kw["count_flexible"] = self.count_flexible
        return kw

    async def register_device(self, dev_num: int) -> Optional[VirtioCore]:
        """virtio_msg_register + register_virtio_device with the driver for its device id.
        Returns None (error logged) when the transport refuses the device (e.g. ENODEV)."""
        transport = make_transport(self.fmt, self.bus, dev_num, self.memory, self.allocator,
                                   transport_features=RING_TRANSPORT_FEATURES, **self.transport_args())
        self.transports.append(transport)
        try:
            await transport.register()
        except VirtioError as exc:
            self.errors.append(exc)
            return None
        factory = self.drivers.get(transport.device_id)
        core = VirtioCore(transport, factory() if factory else None)
        self.devices[dev_num] = core
        await core.register()
        return core

    async def unregister_device(self, dev_num: int) -> None:
        """virtio_msg_unregister: the core's remove path, then forget the device. While the
        remove path runs, events for the device still reach its transport (the kernel's bus
        driver finds it until unregister returns), though it is no longer listed in `devices`."""
        core = self.devices.pop(dev_num, None)
        if core is not None:
            self.removing[dev_num] = core
            try:
                await core.remove()
            finally:
                if self.removing.get(dev_num) is core:
                    del self.removing[dev_num]

    # --- messages from the device side ---------------------------------------------------------
    async def handle_message(self, slot: bytes) -> int:
        """A message that is not a response: EVENT_DEVICE (hot-plug) or a transport event for
        one device. Returns 0 or -errno like the kernel's event path."""
        try:
            msg = Message.decode(slot, fmt=self.fmt)
        except ProtocolError as exc:
            self.errors.append(VirtioError(errno.EINVAL, f"malformed event: {exc}"))
            return -errno.EINVAL
        if msg.is_response:
            self.errors.append(VirtioError(errno.EINVAL, f"unsolicited {msg.name}"))
            return -errno.EINVAL
        if msg.is_bus:
            if msg.msg_id != BusId.EVENT_DEVICE:
                self.errors.append(VirtioError(errno.EINVAL, f"unexpected bus message {msg.name}"))
                return -errno.EINVAL
            return await self._event_device(msg.payload.dev_num, msg.payload.dev_state)
        core = self.devices.get(msg.dev_id) or self.removing.get(msg.dev_id)
        if core is None and msg.msg_id == TransportId.EVENT_CONFIG and any(
                t.dev_id == msg.dev_id for t in self.transports):
            # A config change of a device between two registrations (removed, or reset and not
            # probed again yet): nothing to tell; its next probe reads the config anyway.
            self.stale_config_events += 1
            return 0
        if core is None:
            self.errors.append(VirtioError(errno.ENODEV, f"{msg.name} for unknown device {msg.dev_id}"))
            return -errno.ENODEV
        return core.transport.event(bytes(slot))

    async def _event_device(self, dev_num: int, state: int) -> int:
        self.event_log.append((dev_num, state))
        if state == DevState.READY:
            if dev_num not in self.devices:
                await self.register_device(dev_num)
            return 0
        if state == DevState.REMOVED:
            await self.unregister_device(dev_num)
            return 0
        self.errors.append(VirtioError(errno.EINVAL, f"EVENT_DEVICE state {state}"))
        return -errno.EINVAL
