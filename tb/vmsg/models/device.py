"""Device side of the transport: the firmware that answers every message from the driver.

`DeviceBus` holds the device models by device number. `handle(slot)` answers one message with
spec-correct semantics (status machine, feature negotiation, config generation, queue setup)
and returns the messages to send back: the response, if any, then events the message caused.
Unsolicited messages (hot-plug, removal, config change, used-buffer events) come from its other
methods. Queue set-up, reset and completions are passed to a `QueueBackend`: in simulation that
programs and feeds the used-index engine; `NullQueueBackend` just records the calls.

I/O: each active queue of a device has a `DeviceVirtqueue` (in `device.rings`, made on SET_VQUEUE
when the bus has a memory, dropped on RESET_VQUEUE and device reset) used only for the avail side
(popping chains, avail_event). Used buffers are reported with `backend.complete`; the device
never writes the used ring itself. A backend that completes in software (SoftwareQueueBackend)
has an event outbox (`take_events() -> [(dev, vq)]`): `kick` returns one EVENT_USED per entry
after the device's own messages, and `take_events()` here drains it for completions made
outside a kick.

Choices where the sources leave room (see docs of each handler):
- responses always count their data in msg_size (spec-clean), slots are padded to msg_size;
- SET_DRV_FEATURES and SET_CONFIG are accepted with the RFC sizing (data beyond msg_size) and
  the spec sizing; the length comes from num/size (strict_sizing=True rejects the RFC sizing);
- a malformed or unknown message, a response sent to the device, or a message for a missing
  device is dropped (no response) and counted in `drops`;
- a well-formed request always gets exactly one response; a request the device cannot honour
  is refused in the response (FEATURES_OK cleared, config size 0) and counted in `refusals`;
- the status byte follows the spec's state machine (`_set_status`): bits the driver may not set
  yet (FEATURES_OK without DRIVER, DRIVER_OK without FEATURES_OK on a VERSION_1 device) are
  refused (left clear in the response), bits it tries to clear other than by reset are kept;
  each is counted in `refusals`. SET_VQUEUE after DRIVER_OK (other than re-enabling a queue
  reset with RING_RESET) sets DEVICE_NEEDS_RESET and sends EVENT_CONFIG;
- a kick before DRIVER_OK once a driver started (DRIVER set), or whose next offset the ring
  cannot hold (NOTIFICATION_DATA: offset bits >= 0x8000, or more new entries than the queue
  size), sets DEVICE_NEEDS_RESET and sends EVENT_CONFIG; a kick without DRIVER (after a reset
  or a remove: a doorbell the reset overtook, since doorbells do not keep order with messages),
  after FAILED or DEVICE_NEEDS_RESET, or to an inactive queue is ignored and counted in `drops`;
- reset (status 0) clears the driver's features, queues and status and restores the config
  bytes the driver wrote (SET_CONFIG) to the device's own values; the generation survives.

Header format (`fmt`, default HdrFormat.SEED6, the seed's 6-byte header): with HdrFormat.HDR8
the bus speaks the specification draft's 8-byte header. Every response carries the request's
token (the bus owns it; the device only echoes it), events (EVENT_CONFIG, EVENT_USED,
EVENT_DEVICE) carry token 0, SET_VQUEUE and the GET_VQUEUE response use the aligned 40-byte
layouts, and slot room (GET_DEV_FEATURES words, config chunks, EVENT_CONFIG data, GET_DEVICES
windows) counts the 8-byte header. The draft's receive rules come from the codec: reserved type
bits are ignored, a nonzero event token is kept and ignored, a bus message with dev_num other
than 0 is malformed; malformed or unknown messages are discarded with no response (counted in
`drops`). strict_sizing defaults to the format's rule: SEED6 accepts both msg_size styles of
SET_DRV_FEATURES / SET_CONFIG, HDR8 (whose kernel counts the data) refuses data beyond msg_size.
The rest (status machine, feature blocks beyond the device's read as zero, a refused SET_CONFIG
answered with size 0, queue rules) is the same in both formats.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional, Protocol, runtime_checkable

from ..proto import Message, ProtocolError
from ..proto import payloads as p
from ..proto.constants import (EVENT_ID_BASE, GET_DEVICES_ALIGN, BusId, DevState, Feature, HdrFormat,
                               Status, TransportId)
from .device_ring import Chain, DeviceRingError, DeviceVirtqueue
from .memory import Memory

U16_LIMIT = 1 << 16
NUM_FEATURE_BITS = 64
# Status bits as plain ints: the status byte is masked arithmetic, not flag algebra.
DRIVER_OK = int(Status.DRIVER_OK)
FEATURES_OK = int(Status.FEATURES_OK)
NEEDS_RESET = int(Status.DEVICE_NEEDS_RESET)
DRIVER = int(Status.DRIVER)
FAILED = int(Status.FAILED)


# Completion paths a device type may ask for (`VirtioDeviceModel.completion_path`): the engine's
# stream port (a hardware back end) or its register path (firmware, CPL_ID/CPL_LEN/CPL_PUSH).
PATH_STREAM = "stream"
PATH_REGS = "regs"


@runtime_checkable
class QueueBackend(Protocol):
    """Where a configured queue's used ring is served (the used-index engine in simulation).

    `complete` reports one used buffer {head, length} of queue vq of device dev: the backend
    writes the used element, publishes used->idx and decides (and sends) EVENT_USED. `path` is
    the device type's completion_path; a backend with one path ignores it. It returns once the
    completion is handed over, not when it is visible to the driver.
    """

    async def configure_queue(self, dev: int, vq: int, size: int, desc: int, driver: int,
                              device: int, event_idx: bool) -> None: ...

    async def reset_queue(self, dev: int, vq: int) -> None: ...

    async def device_reset(self, dev: int) -> None: ...

    async def complete(self, dev: int, vq: int, head: int, length: int, path: str = PATH_STREAM) -> None: ...


async def complete_all(backend: QueueBackend, dev: int, vq: int, completions: list[tuple[int, int]],
                       path: str = PATH_STREAM) -> None:
    """Report several used buffers of one queue, in order: through the backend's optional
    `complete_many` (one publication for all) when it has one, else one `complete` each."""
    many = getattr(backend, "complete_many", None)
    if many is not None:
        await many(dev, vq, completions, path)
        return
    for head, length in completions:
        await backend.complete(dev, vq, head, length, path)


class NullQueueBackend:
    """Records the calls; serves nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def complete(self, dev: int, vq: int, head: int, length: int, path: str = PATH_STREAM) -> None:
        self.calls.append(("complete", dev, vq, head, length, path))

    async def complete_many(self, dev: int, vq: int, completions: list[tuple[int, int]],
                            path: str = PATH_STREAM) -> None:
        self.calls.append(("complete_many", dev, vq, list(completions), path))

    async def configure_queue(self, dev: int, vq: int, size: int, desc: int, driver: int,
                              device: int, event_idx: bool) -> None:
        self.calls.append(("configure_queue", dev, vq, size, desc, driver, device, event_idx))

    async def reset_queue(self, dev: int, vq: int) -> None:
        self.calls.append(("reset_queue", dev, vq))

    async def device_reset(self, dev: int) -> None:
        self.calls.append(("device_reset", dev))


@dataclass
class QueueState:
    """A queue as configured by SET_VQUEUE (inactive until then)."""
    max_size: int
    size: int = 0
    desc: int = 0
    driver: int = 0
    device: int = 0

    @property
    def active(self) -> bool:
        return self.size != 0

    def clear(self) -> None:
        self.size = self.desc = self.driver = self.device = 0


@dataclass
class Kick:
    vq: int
    data: int


class VirtioDeviceModel:
    """Base of the device types: identity, offered features, config space, queues, and the
    transport state the driver sets (status, driver features, generation).

    Device types that process requests call `serve_queue` from `on_kick` and implement
    `process_chain`. `completion_path` tells the backend which engine path completes this
    device's buffers; `batch_completions` reports all buffers of one kick with one
    `complete_all` (False: one `complete` right after each buffer is processed).
    """

    completion_path = PATH_REGS
    batch_completions = True

    def __init__(self, device_id: int, features: int, config: bytes = b"",
                 queue_max_sizes: tuple[int, ...] | list[int] = (), vendor_id: int = 0x4D534756) -> None:
        self.device_id = device_id
        self.vendor_id = vendor_id
        self.features = features                    # offered, 64 bits
        self.config = bytearray(config)
        self.device_config = bytearray(config)      # the device's own values (reset restores them)
        self.queues = [QueueState(m) for m in queue_max_sizes]
        self.status = 0
        self.driver_features = [0, 0]               # words 0 and 1 as SET_DRV_FEATURES wrote them
        self.generation = 0
        self.kicks: list[Kick] = []
        self.rings: dict[int, DeviceVirtqueue] = {}  # avail side of each active queue
        self.stats: Counter[str] = Counter()         # request processing counters
        self.ring_errors: list[str] = []

    # --- derived state -------------------------------------------------------------------------
    @property
    def negotiated(self) -> int:
        return self.driver_features[1] << 32 | self.driver_features[0]

    def has_negotiated(self, bit: int) -> bool:
        return bool(self.negotiated >> bit & 1)

    @property
    def config_size(self) -> int:
        return len(self.config)

    # --- hooks for device types ----------------------------------------------------------------
    def accept_features(self, features: int) -> bool:
        """FEATURES_OK decision: only offered features, and VERSION_1 when it is offered (this
        is a modern-only device)."""
        if features & ~self.features:
            return False
        if self.features >> Feature.VERSION_1 & 1 and not features >> Feature.VERSION_1 & 1:
            return False
        return True

    def config_writable(self, offset: int, size: int) -> bool:
        """May the driver write these config bytes? Default: all of them."""
        return True

    def write_config(self, offset: int, data: bytes) -> None:
        """A driver write accepted by SET_CONFIG (undone by a device reset)."""
        self.config[offset:offset + len(data)] = data

    def device_write_config(self, offset: int, data: bytes) -> None:
        """A change made by the device itself (survives a device reset)."""
        self.config[offset:offset + len(data)] = data
        self.device_config[offset:offset + len(data)] = data

    def reset(self) -> None:
        """Device-type state to clear on a device reset (status 0): kicks and queue rings (the
        spec discards pending queue work). Subclasses extend it."""
        self.kicks.clear()
        self.rings.clear()
        self.config[:] = self.device_config

    # --- queue rings (avail side) ----------------------------------------------------------------
    def attach_ring(self, vq: int, ring: DeviceVirtqueue) -> None:
        self.rings[vq] = ring

    def detach_ring(self, vq: int) -> None:
        self.rings.pop(vq, None)

    async def on_kick(self, bus: "DeviceBus", dev_num: int, vq: int, data: int) -> list[bytes]:
        """A doorbell for an active queue after DRIVER_OK; returns the messages to send. The
        base device processes nothing (tests drive its rings by hand); request devices call
        serve_queue."""
        return []

    def process_chain(self, mem: Memory, vq: int, chain: Chain) -> int:
        """Do one request; returns the used length (bytes written into the buffer)."""
        raise NotImplementedError

    async def serve_queue(self, bus: "DeviceBus", dev_num: int, vq: int) -> list[bytes]:
        """Pop every available chain of queue vq (a kick is coalesced: it may cover many
        buffers or none new), process each and complete it through the backend.

        With EVENT_IDX the device asks for the next kick (avail_event = last_avail_idx) once
        the ring looks empty and looks again, so a buffer added meanwhile is not stranded.
        A ring the device cannot parse (bad head, descriptor loop, memory outside the model)
        sets DEVICE_NEEDS_RESET (the EVENT_CONFIG is returned) and stops the device's I/O
        until reset; a buffer whose data lies outside memory is completed with length 0 and
        counted in stats["dma_error"].
        """
        if self.status & NEEDS_RESET:
            self.stats["kick_needs_reset"] += 1
            return []
        ring = self.rings.get(vq)
        if ring is None or bus.memory is None:
            self.stats["kick_no_ring"] += 1
            return []
        done: list[tuple[int, int]] = []
        out: list[bytes] = []
        popped = 0
        while True:
            try:
                chain = ring.pop()
                if chain is None and ring.event_idx:
                    ring.request_kick_at(ring.last_avail_idx)
                    chain = ring.pop()
            except (DeviceRingError, IndexError) as exc:
                self.stats["bad_ring"] += 1
                self.ring_errors.append(f"vq {vq}: {exc}")
                out.append(await bus.set_needs_reset(dev_num))
                break
            if chain is None:
                break
            popped += 1
            try:
                length = self.process_chain(bus.memory, vq, chain)
            except IndexError:
                self.stats["dma_error"] += 1
                length = 0
            self.stats["buffers"] += 1
            if self.batch_completions:
                done.append((chain.head, length))
            else:
                await bus.backend.complete(dev_num, vq, chain.head, length, self.completion_path)
        if done:
            await complete_all(bus.backend, dev_num, vq, done, self.completion_path)
        if not popped and not out:
            self.stats["empty_kick"] += 1
        return out


class DeviceBus:
    """The device-side firmware over several devices (one bus of message size msg_size)."""

    def __init__(self, msg_size: int, backend: Optional[QueueBackend] = None, *,
                 memory: Optional[Memory] = None, strict_sizing: Optional[bool] = None,
                 get_devices_max: Optional[int] = None, get_devices_skip_empty: bool = False,
                 fmt: HdrFormat | int | str = HdrFormat.SEED6) -> None:
        self.msg_size = msg_size
        self.backend: QueueBackend = backend if backend is not None else NullQueueBackend()
        self.memory = memory                        # for the device types' I/O processing
        self.fmt = HdrFormat.parse(fmt)
        # None: the format's rule (SEED6 accepts the RFC sizing, HDR8 refuses data beyond msg_size).
        self.strict_sizing = (not self.fmt.accepts_rfc_sizing) if strict_sizing is None else strict_sizing
        self.get_devices_max = get_devices_max      # answer at most this many device numbers
        self.get_devices_skip_empty = get_devices_skip_empty
        self.devices: dict[int, VirtioDeviceModel] = {}
        self.drops: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.handled: Counter[str] = Counter()

    # --- device population ---------------------------------------------------------------------
    def add(self, dev_num: int, device: VirtioDeviceModel) -> None:
        """A device present from the start (found by GET_DEVICES, no event)."""
        if not 0 <= dev_num < U16_LIMIT:
            raise ValueError(f"device number {dev_num} out of range")
        self.devices[dev_num] = device

    async def hotplug(self, dev_num: int, device: VirtioDeviceModel) -> bytes:
        """Add a device; returns the EVENT_DEVICE (ready) to send."""
        self.add(dev_num, device)
        return self._bus_event(dev_num, DevState.READY)

    async def remove(self, dev_num: int) -> bytes:
        """Remove a device (its queues stop); returns the EVENT_DEVICE (removed) to send."""
        del self.devices[dev_num]
        await self.backend.device_reset(dev_num)
        return self._bus_event(dev_num, DevState.REMOVED)

    def _bus_event(self, dev_num: int, state: DevState) -> bytes:
        return Message.make(BusId.EVENT_DEVICE, p.BusEventDevice(dev_num, state), bus=True,
                            fmt=self.fmt).encode(self.msg_size)

    # --- unsolicited transport messages ---------------------------------------------------------
    async def change_config(self, dev_num: int, offset: int, data: bytes) -> bytes:
        """A device-side config change: the generation moves first, then the bytes change;
        returns the EVENT_CONFIG (with the new bytes when they fit the slot)."""
        dev = self.devices[dev_num]
        if offset + len(data) > dev.config_size:
            raise ValueError("config change beyond the config space")
        dev.generation = (dev.generation + 1) & 0xFFFFFFFF
        dev.device_write_config(offset, data)
        return self.event_config(dev_num, offset, data)

    async def set_needs_reset(self, dev_num: int) -> bytes:
        """The device enters DEVICE_NEEDS_RESET; returns the EVENT_CONFIG announcing it."""
        dev = self.devices[dev_num]
        dev.status |= NEEDS_RESET
        return self.event_config(dev_num, 0, b"")

    def event_config(self, dev_num: int, offset: int, data: bytes) -> bytes:
        dev = self.devices[dev_num]
        fits = self.fmt.header_size + p.EventConfig.fixed_size() + len(data) <= self.msg_size
        payload = p.EventConfig(dev.status, dev.generation, offset if fits else 0,
                                len(data) if fits else 0, bytes(data) if fits else b"")
        return Message.make(TransportId.EVENT_CONFIG, payload, dev_id=dev_num, fmt=self.fmt).encode(self.msg_size)

    def event_used(self, dev_num: int, vq: int) -> bytes:
        """An EVENT_USED as firmware would send it (the engine sends its own in hardware)."""
        return Message.make(TransportId.EVENT_USED, p.EventUsed(vq), dev_id=dev_num,
                            fmt=self.fmt).encode(self.msg_size)

    async def kick(self, dev_num: int, vq: int, data: int) -> list[bytes]:
        """A doorbell (EVENT_AVAIL turned into a pending bit) for one queue; data is the raw
        next_offset_wrap word. Returns the messages the device sends in reaction."""
        dev = self.devices.get(dev_num)
        if dev is None:
            self.drops["kick_unknown_device"] += 1
            return []
        if dev.status & FAILED:
            self.drops["kick_failed"] += 1          # FAILED stops I/O
            return []
        if not dev.status & DRIVER_OK:
            if not dev.status & DRIVER:
                self.drops["kick_without_driver"] += 1     # reset or unbound: a stale doorbell
                return []
            if dev.status & NEEDS_RESET:
                self.drops["kick_needs_reset"] += 1
                return []
            self.refusals["kick_before_driver_ok"] += 1
            return [await self.set_needs_reset(dev_num)]
        if vq >= len(dev.queues) or not dev.queues[vq].active:
            self.drops["kick_inactive_queue"] += 1
            return []
        if (dev.has_negotiated(Feature.NOTIFICATION_DATA) and not dev.status & NEEDS_RESET
                and not self._next_offset_ok(dev, vq, data)):
            self.refusals["kick_bad_next_offset"] += 1
            return [await self.set_needs_reset(dev_num)]
        dev.kicks.append(Kick(vq, data))
        out = await dev.on_kick(self, dev_num, vq, data)
        return out + self.take_events()

    @staticmethod
    def _next_offset_ok(dev: VirtioDeviceModel, vq: int, data: int) -> bool:
        """NOTIFICATION_DATA on a split ring: the offset (bits 30:0) is the driver's next avail
        index (bits 14:0), its bit 15 in the wrap bit (31). An offset the avail index field
        cannot hold, or one announcing more new entries than the queue has, is a position
        outside the ring."""
        offset = data & 0x7FFF_FFFF
        if offset >= 0x8000:
            return False
        ring = dev.rings.get(vq)
        if ring is None:
            return True
        next_idx = offset | (data >> 31 & 1) << 15
        return (next_idx - ring.last_avail_idx) & 0xFFFF <= dev.queues[vq].size

    def take_events(self) -> list[bytes]:
        """The EVENT_USED messages a software backend decided since the last call (empty for a
        backend without an outbox: the engine sends its own)."""
        take = getattr(self.backend, "take_events", None)
        if take is None:
            return []
        return [self.event_used(dev, vq) for dev, vq in take()]

    # --- messages from the driver ----------------------------------------------------------------
    def _respond(self, req: Message, payload: p.Payload) -> bytes:
        """The response: the request's kind, id and device number, in the bus's format; in HDR8
        it carries the request's token (0 in SEED6, which has none)."""
        return Message.make(req.msg_id, payload, dev_id=req.dev_id, bus=req.is_bus, response=True,
                            fmt=self.fmt, token=req.token).encode(self.msg_size)

    async def handle(self, slot: bytes) -> list[bytes]:
        """Answer one message from the driver: [response, events...], or [] when dropped."""
        try:
            msg = Message.decode(slot, allow_rfc_sizing=not self.strict_sizing, fmt=self.fmt)
        except ProtocolError as exc:
            self.drops[type(exc).__name__] += 1
            return []
        if msg.is_response:
            self.drops["response_to_device"] += 1
            return []
        self.handled[msg.name] += 1
        if msg.is_bus:
            return await self._handle_bus(msg)
        dev = self.devices.get(msg.dev_id)
        if dev is None:
            self.drops["unknown_device"] += 1
            return []
        handler = self._TRANSPORT_HANDLERS.get(msg.msg_id)
        if handler is None:                         # an event the driver may not send
            self.drops["unexpected_event"] += 1
            return []
        return await handler(self, msg, dev)

    async def _device_info(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        return [self._respond(msg, p.GetDeviceInfoResp(
            dev.device_id, dev.vendor_id, NUM_FEATURE_BITS, dev.config_size, len(dev.queues), 0, 0))]

    async def _get_features(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """Words beyond the 64 feature bits read as zero; a num whose words do not fit the
        response slot is answered with as many words as fit (num in the response says so)."""
        req: p.GetFeatures = msg.payload
        room = (self.msg_size - self.fmt.header_size - p.GetFeaturesResp.fixed_size()) // 4
        num = min(req.num, room)
        words = [dev.features >> (32 * (req.index + i)) & 0xFFFFFFFF if req.index + i < 2 else 0
                 for i in range(num)]
        return [self._respond(msg, p.GetFeaturesResp.from_words(req.index, words))]

    async def _set_features(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """Stores the words of index 0 and 1; features cannot change after FEATURES_OK."""
        req: p.SetFeatures = msg.payload
        if dev.status & FEATURES_OK:
            self.refusals["features_after_features_ok"] += 1
        else:
            for i, word in enumerate(req.words):
                if req.index + i < 2:
                    dev.driver_features[req.index + i] = word
        return [self._respond(msg, p.Empty())]

    def _config_fits(self, offset: int, size: int, dev: VirtioDeviceModel) -> bool:
        return (offset + size <= dev.config_size
                and self.fmt.header_size + p.GetConfigResp.fixed_size() + size <= self.msg_size)

    async def _get_config(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """Out of range (or larger than a response slot): answered with size 0."""
        req: p.GetConfig = msg.payload
        if not self._config_fits(req.offset, req.size, dev):
            self.refusals["config_read_out_of_range"] += 1
            return [self._respond(msg, p.GetConfigResp(dev.generation, req.offset, 0, b""))]
        data = bytes(dev.config[req.offset:req.offset + req.size])
        return [self._respond(msg, p.GetConfigResp.make(dev.generation, req.offset, data))]

    async def _set_config(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """Rejected (response size 0) with a stale generation, out of range, or on read-only
        bytes; otherwise written and echoed. A driver write does not move the generation."""
        req: p.SetConfig = msg.payload
        reason = None
        if req.generation != dev.generation:
            reason = "stale_set_config"
        elif not self._config_fits(req.offset, req.size, dev):
            reason = "config_write_out_of_range"
        elif not dev.config_writable(req.offset, req.size):
            reason = "config_write_read_only"
        if reason:
            self.refusals[reason] += 1
            return [self._respond(msg, p.SetConfigResp(dev.generation, req.offset, 0, b""))]
        dev.write_config(req.offset, req.config)
        data = bytes(dev.config[req.offset:req.offset + req.size])
        return [self._respond(msg, p.SetConfigResp.make(dev.generation, req.offset, data))]

    async def _get_status(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        return [self._respond(msg, p.GetDeviceStatusResp(dev.status))]

    async def _set_status(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """0 resets the device (features, queues, status, driver-written config; not the
        generation). Otherwise the spec's order is enforced and the response carries the status
        the device holds: FEATURES_OK needs DRIVER and features the device accepts; DRIVER_OK
        needs FEATURES_OK on a VERSION_1 device; bits already set cannot be cleared (only reset
        clears them). A refused bit is left clear and counted. The device owns
        DEVICE_NEEDS_RESET: a driver write neither sets nor clears it."""
        new = msg.payload.status & 0xFF
        if new == 0:
            await self.reset_device(msg.dev_id)
            return [self._respond(msg, p.SetDeviceStatusResp(0))]
        new = (new & ~NEEDS_RESET) | (dev.status & NEEDS_RESET)
        if dev.status & ~new:
            self.refusals["status_bits_cleared"] += 1   # the driver may only add bits
            new |= dev.status
        added = new & ~dev.status
        if added & FEATURES_OK:
            if not new & DRIVER:
                new &= ~FEATURES_OK
                self.refusals["features_ok_without_driver"] += 1
            elif not dev.accept_features(dev.negotiated):
                new &= ~FEATURES_OK
                self.refusals["features_refused"] += 1
        if added & DRIVER_OK and dev.features >> Feature.VERSION_1 & 1 and not new & FEATURES_OK:
            new &= ~DRIVER_OK
            self.refusals["driver_ok_without_features_ok"] += 1
        dev.status = new
        return [self._respond(msg, p.SetDeviceStatusResp(dev.status))]

    async def reset_device(self, dev_num: int) -> None:
        dev = self.devices[dev_num]
        dev.status = 0
        dev.driver_features = [0, 0]
        for q in dev.queues:
            q.clear()
        dev.reset()
        await self.backend.device_reset(dev_num)

    async def _get_vqueue(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """A queue the device does not have answers max_size 0."""
        index = msg.payload.index
        if index >= len(dev.queues):
            return [self._respond(msg, p.GetVqueueResp(index))]
        q = dev.queues[index]
        return [self._respond(msg, p.GetVqueueResp(index, q.max_size, q.size, q.desc, q.driver, q.device))]

    async def _set_vqueue(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """Size must be a power of two no larger than max_size, the queue must exist; otherwise
        the queue stays inactive (GET_VQUEUE shows size 0). Always answered."""
        req: p.SetVqueue = msg.payload
        if dev.status & DRIVER_OK and not (dev.has_negotiated(Feature.RING_RESET) and req.index < len(dev.queues)
                                           and not dev.queues[req.index].active):
            # The queue layout is fixed once DRIVER_OK is set (re-enabling a queue after its
            # RESET_VQUEUE needs RING_RESET): the device needs a reset; the queue is unchanged.
            self.refusals["set_vqueue_after_driver_ok"] += 1
            return [self._respond(msg, p.Empty()), await self.set_needs_reset(msg.dev_id)]
        ok = (req.index < len(dev.queues) and dev.queues[req.index].max_size
              and 0 < req.size <= dev.queues[req.index].max_size and not req.size & (req.size - 1))
        if not ok:
            self.refusals["bad_set_vqueue"] += 1
            if req.index < len(dev.queues):
                dev.queues[req.index].clear()
                dev.detach_ring(req.index)
            return [self._respond(msg, p.Empty())]
        q = dev.queues[req.index]
        q.size, q.desc, q.driver, q.device = req.size, req.descriptor_addr, req.driver_addr, req.device_addr
        event_idx = dev.has_negotiated(Feature.RING_EVENT_IDX)
        if self.memory is not None:
            # A fresh ring: the driver zeroes a new ring, so both indices start at 0.
            dev.attach_ring(req.index, DeviceVirtqueue(self.memory, q.size, q.desc, q.driver, q.device,
                                                       event_idx))
        await self.backend.configure_queue(msg.dev_id, req.index, q.size, q.desc, q.driver, q.device,
                                           event_idx)
        return [self._respond(msg, p.Empty())]

    async def _reset_vqueue(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """Answered whether or not RING_RESET was negotiated (the RFC driver sends it in del_vqs)."""
        index = msg.payload.index
        if index < len(dev.queues):
            dev.queues[index].clear()
            dev.detach_ring(index)
            await self.backend.reset_queue(msg.dev_id, index)
        else:
            self.refusals["bad_reset_vqueue"] += 1
        return [self._respond(msg, p.Empty())]

    async def _get_shm(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        """No shared memory regions: count and address 0."""
        return [self._respond(msg, p.GetShmResp(msg.payload.index, 0, 0))]

    async def _event_avail(self, msg: Message, dev: VirtioDeviceModel) -> list[bytes]:
        return await self.kick(msg.dev_id, msg.payload.index, msg.payload.next_offset_wrap)

    _TRANSPORT_HANDLERS = {
        TransportId.DEVICE_INFO: _device_info,
        TransportId.GET_DEV_FEATURES: _get_features,
        TransportId.SET_DRV_FEATURES: _set_features,
        TransportId.GET_CONFIG: _get_config,
        TransportId.SET_CONFIG: _set_config,
        TransportId.GET_DEVICE_STATUS: _get_status,
        TransportId.SET_DEVICE_STATUS: _set_status,
        TransportId.GET_VQUEUE: _get_vqueue,
        TransportId.SET_VQUEUE: _set_vqueue,
        TransportId.RESET_VQUEUE: _reset_vqueue,
        TransportId.GET_SHM: _get_shm,
        TransportId.EVENT_AVAIL: _event_avail,
    }

    # --- bus messages --------------------------------------------------------------------------
    async def _handle_bus(self, msg: Message) -> list[bytes]:
        if msg.msg_id == BusId.PING:
            return [self._respond(msg, p.BusPingResp(msg.payload.data))]
        if msg.msg_id == BusId.GET_DEVICES:
            return self._get_devices(msg)
        self.drops["unexpected_event"] += 1         # EVENT_DEVICE goes device -> driver only
        return []

    def _get_devices(self, msg: Message) -> list[bytes]:
        """A bitmap of [offset, offset + n) with n <= num (what fits a slot, get_devices_max);
        next_offset 0 when no device number lies beyond, else offset + n (or, skipping empty
        windows, the aligned window of the next present device)."""
        req: p.BusGetDevices = msg.payload
        if req.offset % GET_DEVICES_ALIGN or req.num % GET_DEVICES_ALIGN:
            self.drops["get_devices_misaligned"] += 1
            return []
        room = (self.msg_size - self.fmt.header_size - p.BusGetDevicesResp.fixed_size()) * 8
        n = min(req.num, room, U16_LIMIT - req.offset)
        if self.get_devices_max is not None:
            n = min(n, self.get_devices_max)
        n -= n % GET_DEVICES_ALIGN
        end = req.offset + n
        beyond = [d for d in self.devices if d >= end]
        if not beyond or end >= U16_LIMIT:
            next_offset = 0
        elif self.get_devices_skip_empty:
            next_offset = min(beyond) // GET_DEVICES_ALIGN * GET_DEVICES_ALIGN
        else:
            next_offset = end
        resp = p.BusGetDevicesResp.from_present(req.offset, n, next_offset, self.devices)
        return [self._respond(msg, resp)]


def is_event_slot(slot: bytes) -> bool:
    """A slot from the device side that is an event (not a response)."""
    return not slot[0] & 1 and slot[1] >= EVENT_ID_BASE
