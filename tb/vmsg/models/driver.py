"""Driver side of the virtio-msg transport: a mirror of the RFC's drivers/virtio/virtio_msg.c.

`VirtioMsgDevice` is the kernel's struct virtio_msg_device with its config ops. It keeps one
request and one response buffer of msg_size bytes and fills them the way the kernel does, so the
bytes on the bus are the kernel's bytes, including its msg_size quirk: msg_prepare zeroes only
header + payload, SET_DRV_FEATURES and SET_CONFIG put their data beyond msg_size, and bytes left
by earlier requests stay in the buffer (the bus moves the whole buffer). `count_flexible=True`
turns this into a spec-clean sender that counts the data in msg_size.

Error reporting follows the kernel: ops that return an int there raise VirtioError here
(register, finalize_features, find_vqs); ops that return void or a value there (get, set,
set_status, get_status, get_features, generation) log the failure in `errors` and carry on;
`event()` returns the kernel's return code.

NOTIFICATION_DATA: the RFC's notify_with_data computes the EVENT_AVAIL index and offset with `|`
where `&` is meant (index = data | 0xFFFF, offset = (data >> 16) | 0x7FFF) and masks the wrap
bit so that it can never be set; the index is therefore always >= 0xFFFF and this peripheral
refuses the kick (DB_RANGE). The model has both computations: `notify_with_data_rfc` sends
exactly the RFC's bytes and `notify_with_data` the intended values (index = data & 0xFFFF,
offset = (data >> 16) & 0x7FFF, wrap = bit 31 of data in bit 31). The queue's notify callback,
chosen in setup_vq as the kernel does, follows the `notify_data` switch: NOTIFY_DATA_RFC
(default, byte-exact) or NOTIFY_DATA_FIXED.

Transport features: `finalize_features` applies vring_transport_features of a chosen kernel
version (`transport_features`, default RING_TRANSPORT_FEATURES = Linux 6.12, the seed's era).
The models build split rings only: a negotiated RING_PACKED makes find_vqs fail (EOPNOTSUPP)
instead of building a ring the device does not expect.
"""
from __future__ import annotations

import errno
import struct
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence, Union

from ..proto.constants import (EVENT_AVAIL_OFFSET_MASK, EVENT_AVAIL_WRAP_SHIFT, HEADER_SIZE, MIN_SIZE,
                               REVISION_1, TRANSPORT_FEATURE_END, TRANSPORT_FEATURE_START, TYPE_BUS,
                               TYPE_TRANSPORT, Feature, HdrFormat, TransportId)
from .bus import VirtioMsgBus
from .errors import BusError, VirtioError
from .memory import Allocator, Memory
from .virtqueue import CallbackFn, SplitVirtqueue

# Payload sizes of the request structs (sizeof(struct ...) in virtio_msg.h).
_GET_FEATURES = 8
_SET_FEATURES = 8
_GET_CONFIG = 8
_SET_CONFIG = 12
_SET_DEVICE_STATUS = 4
_GET_VQUEUE = 4
_SET_VQUEUE = 36
_RESET_VQUEUE = 4
_EVENT_AVAIL = 8
# Offset of the config data in GET_CONFIG responses and SET_CONFIG requests: header + 12.
CONFIG_DATA_OFFSET = HEADER_SIZE + 12

# Transport feature bits the ring code keeps (vring_transport_features in virtio_ring.c).
# Linux 6.12 (the seed's era) keeps these seven and clears every other bit of 28..41; only the
# PCI transport adds RING_RESET back afterwards (vp_modern_finalize_features), virtio-msg does not.
RING_TRANSPORT_FEATURES_LINUX_6_12 = frozenset({
    Feature.RING_INDIRECT_DESC, Feature.RING_EVENT_IDX, Feature.VERSION_1, Feature.ACCESS_PLATFORM,
    Feature.RING_PACKED, Feature.ORDER_PLATFORM, Feature.NOTIFICATION_DATA,
})
# Later kernels also keep IN_ORDER (virtio_ring's in-order support, commit f6a15d854986, in the
# release after 6.19). The split ring of these models reads every used element, so it works with
# an in-order device that writes one used element per buffer (as the engine does).
RING_TRANSPORT_FEATURES_LINUX_7_0 = RING_TRANSPORT_FEATURES_LINUX_6_12 | {Feature.IN_ORDER}
RING_TRANSPORT_FEATURES = RING_TRANSPORT_FEATURES_LINUX_6_12

# notify_data switch: which NOTIFICATION_DATA computation the queues' notify callback uses.
NOTIFY_DATA_RFC = "rfc"       # byte-exact: the seed's `|` computation (the kick is refused)
NOTIFY_DATA_FIXED = "fixed"   # the intended `&` computation


def vring_transport_features(features: int, supported: Iterable[int] = RING_TRANSPORT_FEATURES) -> int:
    """Clear the transport feature bits the ring code does not understand."""
    supported = set(supported)
    for bit in range(TRANSPORT_FEATURE_START, TRANSPORT_FEATURE_END):
        if bit not in supported:
            features &= ~(1 << bit)
    return features


@dataclass
class VqInfo:
    """struct virtqueue_info: a queue's name (None: no queue, index not consumed) and callback."""
    name: Optional[str]
    callback: Optional[CallbackFn] = None
    ctx: bool = False


VqSpec = Union[VqInfo, str, None]


class VirtioMsgDevice:
    """One device on the bus as the kernel transport drives it.

    The class attributes say which header it speaks: the seed's 6-byte header here;
    driver_hdr8.VirtioMsgDeviceHdr8 (the 2026 tree) overrides them and the ops that differ."""

    HDR_FORMAT = HdrFormat.SEED6
    HEADER = HEADER_SIZE            # sizeof(struct virtio_msg)
    MIN_MSG_SIZE = MIN_SIZE         # VIRTIO_MSG_MIN_SIZE
    _MSG_SIZE_AT = 4                # offset of msg_size in the header

    def __init__(self, bus: VirtioMsgBus, dev_id: int, memory: Memory, allocator: Allocator, *,
                 count_flexible: bool = False, ring_align: int = 4096,
                 transport_features: Iterable[int] = RING_TRANSPORT_FEATURES,
                 notify_data: str = NOTIFY_DATA_RFC) -> None:
        if notify_data not in (NOTIFY_DATA_RFC, NOTIFY_DATA_FIXED):
            raise ValueError(f"notify_data must be {NOTIFY_DATA_RFC!r} or {NOTIFY_DATA_FIXED!r}")
        self.bus = bus
        self.dev_id = dev_id
        self.memory = memory
        self.allocator = allocator
        self.count_flexible = count_flexible
        self.ring_align = ring_align
        self.transport_features = frozenset(transport_features)
        self.notify_data = notify_data
        self.bus_name = ""
        self.msg_size = 0
        self.request = bytearray()
        self.response = bytearray()
        # vdev fields
        self.device_id = 0
        self.vendor_id = 0
        self.config_size = 0
        self.generation_count = 0
        self.features = 0               # vdev->features: what the driver negotiates
        self.vqs: list[SplitVirtqueue] = []
        self.config_changed: Optional[Callable[[], None]] = None
        self.errors: list[VirtioError] = []

    # --- message plumbing (msg_prepare, virtio_msg_xfer, virtio_msg_send) ----------------------
    def _prepare(self, msg_id: int, payload_size: int, bus: bool = False) -> None:
        size = self.HEADER + payload_size
        self.request[0:size] = bytes(size)       # only header + payload: the rest keeps old bytes
        self._pack_header(TYPE_BUS if bus else TYPE_TRANSPORT, msg_id, 0 if bus else self.dev_id, size)

    def _pack_header(self, type_: int, msg_id: int, dev_id: int, size: int) -> None:
        struct.pack_into("<BBHH", self.request, 0, type_, msg_id, dev_id, size)

    def _set_msg_size(self, size: int) -> None:
        struct.pack_into("<H", self.request, self._MSG_SIZE_AT, size)

    def _put(self, fmt: str, payload_offset: int, *values: int) -> None:
        struct.pack_into("<" + fmt, self.request, self.HEADER + payload_offset, *values)

    def _get(self, fmt: str, payload_offset: int) -> int:
        return struct.unpack_from("<" + fmt, self.response, self.HEADER + payload_offset)[0]

    def _log(self, err: int, detail: str) -> VirtioError:
        error = VirtioError(err, detail)
        self.errors.append(error)
        return error

    async def _xfer(self) -> int:
        """Send the request and wait for the response; 0 or -errno."""
        self.response[0:self.msg_size] = bytes(self.msg_size)
        try:
            slot = await self.bus.transfer(self.dev_id, bytes(self.request), True)
        except BusError as exc:
            self.errors.append(exc)
            return exc.code
        if slot is None:
            return self._log(errno.EIO, "bus returned no response").code
        n = min(len(slot), self.msg_size)
        self.response[0:n] = slot[:n]
        return 0

    async def _send(self) -> int:
        """Send the request without waiting for a response (EVENT_AVAIL)."""
        try:
            await self.bus.transfer(self.dev_id, bytes(self.request), False)
        except BusError as exc:
            self.errors.append(exc)
            return exc.code
        return 0

    # --- register: bus_info + DEVICE_INFO ------------------------------------------------------
    async def register(self) -> None:
        """virtio_msg_register up to (not including) register_virtio_device."""
        self.bus_name = getattr(self.bus, "name", "")
        self.msg_size, revision = self.bus.msg_size, self.bus.revision
        if revision != REVISION_1 or self.msg_size < self.MIN_MSG_SIZE:
            raise VirtioError(errno.EINVAL, f"bus revision {revision}, msg_size {self.msg_size}")
        # One request and one response buffer: requests are serialised per device.
        self.request = bytearray(self.msg_size)
        self.response = bytearray(self.msg_size)
        self._prepare(TransportId.DEVICE_INFO, 0)
        ret = await self._xfer()
        if ret:
            cause = self.errors[-1] if self.errors else None
            raise VirtioError(-ret, f"DEVICE_INFO failed ({cause})" if cause else "DEVICE_INFO failed") from cause
        self.device_id = self._get("I", 0)
        if self.device_id == 0:
            raise VirtioError(errno.ENODEV, "device id 0: no device function")
        self.vendor_id = self._get("I", 4)
        self.config_size = self._get("I", 12)
        num_feature_bits = self._get("I", 8)
        if num_feature_bits != 64:
            raise VirtioError(errno.EINVAL, f"incompatible num_feature_bits {num_feature_bits}")

    # --- features ------------------------------------------------------------------------------
    async def get_features(self) -> int:
        self._prepare(TransportId.GET_DEV_FEATURES, _GET_FEATURES)
        self._put("II", 0, 0, 2)                  # index 0, num 2: 64 feature bits
        if await self._xfer():
            return 0
        return self._get("I", 12) << 32 | self._get("I", 8)

    async def finalize_features(self) -> None:
        """SET_DRV_FEATURES with the negotiated features (after vring_transport_features)."""
        self.features = vring_transport_features(self.features, self.transport_features)
        data = 8 if self.count_flexible else 0
        self._prepare(TransportId.SET_DRV_FEATURES, _SET_FEATURES + data)
        self._put("II", 0, 0, 2)
        # The two feature words follow the fixed part, beyond msg_size in the RFC sizing.
        self._put("II", 8, self.features & 0xFFFFFFFF, self.features >> 32)
        ret = await self._xfer()
        if ret:
            raise VirtioError(-ret, "SET_DRV_FEATURES failed")

    def has_feature(self, bit: int) -> bool:
        return bool(self.features >> bit & 1)

    # --- config space --------------------------------------------------------------------------
    @property
    def config_data_offset(self) -> int:
        """Where the config bytes of a GET_CONFIG response / SET_CONFIG request start: header + 12."""
        return self.HEADER + 12

    @property
    def config_chunk(self) -> int:
        """Largest config chunk per message: msg_size - header - 12."""
        return self.msg_size - self.config_data_offset

    async def get(self, offset: int, length: int) -> bytes:
        """virtio_msg_get: GET_CONFIG in chunks; keeps the generation of the last response.
        On failure returns what was read so far (the rest zero) and logs the error."""
        buf = bytearray(length)
        if offset + length > self.config_size:
            self._log(errno.EINVAL, f"config read {offset}+{length} beyond {self.config_size}")
            return bytes(buf)
        chunk = self.config_chunk
        self._prepare(TransportId.GET_CONFIG, _GET_CONFIG)
        i = 0
        while i != length:
            size = min(chunk, length - i)
            self._put("II", 0, offset + i, size)
            if await self._xfer():
                return bytes(buf)
            data_at = self.config_data_offset
            buf[i:i + size] = self.response[data_at:data_at + size]
            i += size
        # Read from whatever the response buffer holds, as the kernel does (even for length 0).
        self.generation_count = self._get("I", 0)
        return bytes(buf)

    async def set(self, offset: int, data: bytes) -> None:
        """virtio_msg_set: SET_CONFIG in chunks, each carrying the last seen generation."""
        length = len(data)
        if offset + length > self.config_size:
            self._log(errno.EINVAL, f"config write {offset}+{length} beyond {self.config_size}")
            return
        chunk = self.config_chunk
        self._prepare(TransportId.SET_CONFIG, _SET_CONFIG)
        self._put("I", 0, self.generation_count)
        i = 0
        while i != length:
            size = min(chunk, length - i)
            self._put("II", 4, offset + i, size)
            data_at = self.config_data_offset
            self.request[data_at:data_at + size] = data[i:i + size]
            if self.count_flexible:
                self._set_msg_size(data_at + size)
            i += size
            if await self._xfer():
                return

    async def generation(self) -> int:
        self._prepare(TransportId.GET_CONFIG, _GET_CONFIG)
        self._put("II", 0, 0, 0)
        if await self._xfer():
            return 0
        self.generation_count = self._get("I", 0)
        return self.generation_count

    # --- status --------------------------------------------------------------------------------
    async def get_status(self) -> int:
        self._prepare(TransportId.GET_DEVICE_STATUS, 0)
        if await self._xfer():
            return 0
        return self._get("I", 0) & 0xFF

    async def set_status(self, status: int) -> None:
        self._prepare(TransportId.SET_DEVICE_STATUS, _SET_DEVICE_STATUS)
        self._put("I", 0, status)
        await self._xfer()              # a failure is only logged (a warning in the kernel)

    async def reset(self) -> None:
        """Status 0 resets the device."""
        await self.set_status(0)

    # --- virtqueues ----------------------------------------------------------------------------
    async def _vq_get(self, index: int) -> int:
        self._prepare(TransportId.GET_VQUEUE, _GET_VQUEUE)
        self._put("I", 0, index)
        ret = await self._xfer()
        if ret:
            raise VirtioError(-ret, f"GET_VQUEUE {index} failed")
        num = self._get("I", 4)
        if not num:
            raise VirtioError(errno.ENOENT, f"queue {index} does not exist")
        return num

    async def _vq_set(self, vq: SplitVirtqueue, index: int) -> int:
        self._prepare(TransportId.SET_VQUEUE, _SET_VQUEUE)
        self._put("I", 0, index)
        self._put("I", 8, vq.num)
        # Descriptor, driver (avail) and device (used) addresses at payload offsets 12, 20, 28.
        self._put("QQQ", 12, vq.desc_addr, vq.avail_addr, vq.used_addr)
        return await self._xfer()

    async def _vq_reset(self, vq: SplitVirtqueue) -> None:
        self._prepare(TransportId.RESET_VQUEUE, _RESET_VQUEUE)
        self._put("I", 0, vq.index)
        await self._xfer()              # a failure is only logged

    async def _setup_vq(self, index: int, info: VqInfo) -> SplitVirtqueue:
        if self.has_feature(Feature.NOTIFICATION_DATA):
            notify = self.notify_with_data if self.notify_data == NOTIFY_DATA_FIXED else self.notify_with_data_rfc
        else:
            notify = self.notify
        num = await self._vq_get(index)
        if self.has_feature(Feature.RING_PACKED):
            # vring_create_virtqueue would build a packed ring here; these models have none.
            raise self._log(errno.EOPNOTSUPP, f"queue {index}: RING_PACKED negotiated, packed rings are not modelled")
        vq = SplitVirtqueue.create(index, num, self.memory, self.allocator, align=self.ring_align,
                                   event_idx=self.has_feature(Feature.RING_EVENT_IDX),
                                   notify=notify, callback=info.callback, name=info.name or "")
        vq.num_max = num
        self.vqs.append(vq)             # vring_create_virtqueue links it into vdev->vqs
        ret = await self._vq_set(vq, index)
        if ret:
            self._del_vq(vq)
            raise VirtioError(-ret, f"SET_VQUEUE {index} failed")
        return vq

    def _del_vq(self, vq: SplitVirtqueue) -> None:
        self.errors += [VirtioError(errno.EIO, f"vq {vq.index}: {why}") for why in getattr(vq, "errors", [])]  # outlive the queue
        vq.delete()
        self.vqs.remove(vq)

    async def find_vqs(self, specs: Sequence[VqSpec]) -> list[Optional[SplitVirtqueue]]:
        """virtio_msg_find_vqs: queue indices are dense over the named entries. Any failure
        deletes every queue of the device (RESET_VQUEUE each) and is raised."""
        result: list[Optional[SplitVirtqueue]] = []
        queue_idx = 0
        for spec in specs:
            info = VqInfo(spec) if isinstance(spec, str) or spec is None else spec
            if info.name is None:
                result.append(None)
                continue
            try:
                result.append(await self._setup_vq(queue_idx, info))
            except VirtioError:
                await self.del_vqs()
                raise
            queue_idx += 1
        return result

    async def del_vqs(self) -> None:
        """RESET_VQUEUE for each queue (even without RING_RESET), then free it."""
        for vq in list(self.vqs):
            await self._vq_reset(vq)
            self._del_vq(vq)

    # --- notifications -------------------------------------------------------------------------
    async def _notify(self, index: int, offset: int, wrap: int) -> bool:
        """_vmsg_notify: `wrap` is taken as the bit-31 value (wrap & (1 << 31)), as the RFC does."""
        self._prepare(TransportId.EVENT_AVAIL, _EVENT_AVAIL)
        self._put("I", 0, index & 0xFFFFFFFF)
        wrap_bit = 1 << EVENT_AVAIL_WRAP_SHIFT
        self._put("I", 4, (offset & EVENT_AVAIL_OFFSET_MASK) | (wrap & wrap_bit))
        return not await self._send()

    async def notify(self, vq: SplitVirtqueue) -> bool:
        return await self._notify(vq.index, 0, 0)

    async def notify_with_data_rfc(self, vq: SplitVirtqueue) -> bool:
        """The RFC's virtio_msg_notify_with_data, byte for byte: index = data | 0xFFFF,
        offset = (data >> 16) | 0x7FFF, wrap = data >> 31 (0 or 1, so `wrap & (1 << 31)` in
        _vmsg_notify is always 0)."""
        data = vq.notification_data()
        index = data | 0xFFFF
        data >>= 16
        offset = data | 0x7FFF
        wrap = data >> 15
        return await self._notify(index, offset, wrap)

    async def notify_with_data(self, vq: SplitVirtqueue) -> bool:
        """The intended computation (NOTIFY_DATA_FIXED): index = data & 0xFFFF, offset =
        bits 30:16 of data, wrap = bit 31 of data in bit 31."""
        data = vq.notification_data()
        index = data & 0xFFFF
        data >>= 16
        return await self._notify(index, data & 0x7FFF, (data >> 15 & 1) << EVENT_AVAIL_WRAP_SHIFT)

    # --- events from the bus -------------------------------------------------------------------
    def event(self, msg: bytes) -> int:
        """virtio_msg_event: 0, -EIO (no new used buffers behind an EVENT_USED: vring_interrupt
        answered IRQ_NONE) or -EINVAL (unknown queue index or message id)."""
        msg_id = msg[1]
        if msg_id == TransportId.EVENT_CONFIG:
            if self.config_changed is not None:
                self.config_changed()
            return 0
        if msg_id == TransportId.EVENT_USED:
            index = struct.unpack_from("<I", msg, self.HEADER)[0]
            for vq in self.vqs:
                if vq.index == index:
                    return 0 if vq.interrupt() else -errno.EIO
            self._log(errno.EINVAL, f"EVENT_USED for unknown queue {index}")
            return -errno.EINVAL
        self._log(errno.EINVAL, f"unexpected event id 0x{msg_id:02x}")
        return -errno.EINVAL

    def vq(self, index: int) -> SplitVirtqueue:
        for vq in self.vqs:
            if vq.index == index:
                return vq
        raise KeyError(index)
