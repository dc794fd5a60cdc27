"""Driver side in the 8-byte header format: the transport of the 2026 Linaro kernel tree.

`VirtioMsgDeviceHdr8` mirrors drivers/virtio/virtio_msg.c of `jenswi-linaro/linux-1` (commit
ba58108a, with include/uapi/linux/virtio_msg.h of that tree) op by op, the way
`driver.VirtioMsgDevice` mirrors the seed's RFC. It is a subclass: where the 2026 code does what
the seed's does (register's DEVICE_INFO and num_feature_bits checks, get_features, get, the
generation read, status, reset, find_vqs / del_vqs, notify and the still defective
notify_with_data, the event path, the single request and response buffers), the seed's code runs
with the 8-byte header. What the subclass changes:

- the header {type, msg_id, dev_id, token, msg_size}: msg_prepare zeroes header + payload, so
  the token is always 0 in the request buffer; the bus layer owns it (stamps it on the wire
  and matches the response by it). An event (EVENT_AVAIL) goes out with token 0 as well;
- register refuses a bus whose message size is below 50 (that tree's VIRTIO_MSG_MIN_SIZE) or
  whose revision is not 1 (EINVAL), before any message;
- finalize_features: SET_DRV_FEATURES is prepared with its two feature words, msg_size 24;
- set: SET_CONFIG is prepared with no payload (only the 8 header bytes are zeroed, msg_size 8
  until set), the generation written once, then per chunk offset, size, data and msg_size =
  20 + chunk length; chunks of at most msg_size - 20 bytes;
- SET_VQUEUE: the 40-byte payload {index, unused 0, size, reserved 0, desc, driver, device}
  with the addresses at payload offsets 16, 24, 32.

As in the seed's model, bytes beyond msg_size keep what earlier requests left in the buffer
(the bus moves the whole buffer). `count_flexible` is not a choice here: this kernel always
counts the flexible data.

`transport_class(fmt)` returns the transport model of a header format (the seed's for SEED6,
this one for HDR8); `make_transport(fmt, bus, dev_id, memory, allocator, **kw)` builds one.
"""
from __future__ import annotations

import errno
import struct
from typing import Any, Iterable

from ..proto.constants import HDR8_HEADER_SIZE, HDR8_MIN_SIZE, HdrFormat, TransportId
from .bus import VirtioMsgBus
from .driver import NOTIFY_DATA_RFC, RING_TRANSPORT_FEATURES, VirtioMsgDevice, vring_transport_features
from .errors import VirtioError
from .memory import Allocator, Memory
from .virtqueue import SplitVirtqueue

# sizeof(struct ...) in the 2026 tree's virtio_msg.h
_SET_FEATURES_FIXED = 8          # struct set_features without features[]
_FEATURE_WORDS = 2               # Linux supports 64 feature bits
_SET_VQUEUE8 = 40                # struct set_vqueue with the reserved word
_SET_CONFIG_FIXED = 12           # struct set_config without config[]


class VirtioMsgDeviceHdr8(VirtioMsgDevice):
    """One device on an 8-byte-header bus as the 2026 kernel transport drives it."""

    HDR_FORMAT = HdrFormat.HDR8
    HEADER = HDR8_HEADER_SIZE
    MIN_MSG_SIZE = HDR8_MIN_SIZE
    _MSG_SIZE_AT = 6

    def __init__(self, bus: VirtioMsgBus, dev_id: int, memory: Memory, allocator: Allocator, *,
                 count_flexible: bool = True, ring_align: int = 4096,
                 transport_features: Iterable[int] = RING_TRANSPORT_FEATURES,
                 notify_data: str = NOTIFY_DATA_RFC) -> None:
        if not count_flexible:
            raise ValueError("the 2026 kernel transport always counts the flexible data in msg_size")
        super().__init__(bus, dev_id, memory, allocator, count_flexible=True, ring_align=ring_align,
                         transport_features=transport_features, notify_data=notify_data)

    def _pack_header(self, type_: int, msg_id: int, dev_id: int, size: int) -> None:
        # The token (bytes 4-5) stays as msg_prepare's memset left it: 0.
        struct.pack_into("<BBHxxH", self.request, 0, type_, msg_id, dev_id, size)

    async def finalize_features(self) -> None:
        """SET_DRV_FEATURES index 0, num 2 and the two words, all inside msg_size (24)."""
        self.features = vring_transport_features(self.features, self.transport_features)
        self._prepare(TransportId.SET_DRV_FEATURES, _SET_FEATURES_FIXED + 4 * _FEATURE_WORDS)
        self._put("II", 0, 0, _FEATURE_WORDS)
        self._put("II", 8, self.features & 0xFFFFFFFF, self.features >> 32)
        ret = await self._xfer()
        if ret:
            raise VirtioError(-ret, "SET_DRV_FEATURES failed")

    async def set(self, offset: int, data: bytes) -> None:
        """virtio_msg_set of the 2026 tree: prepared with no payload (msg_size set per chunk to
        header + 12 + chunk), the last seen generation, chunks of msg_size - 20 bytes."""
        length = len(data)
        if offset + length > self.config_size:
            self._log(errno.EINVAL, f"config write {offset}+{length} beyond {self.config_size}")
            return
        fixed_size = self.HEADER + _SET_CONFIG_FIXED
        chunk = self.msg_size - fixed_size
        self._prepare(TransportId.SET_CONFIG, 0)
        self._put("I", 0, self.generation_count)
        i = 0
        while i != length:
            size = min(chunk, length - i)
            self._put("II", 4, offset + i, size)
            self.request[fixed_size:fixed_size + size] = data[i:i + size]
            i += size
            self._set_msg_size(fixed_size + size)
            if await self._xfer():
                return

    async def _vq_set(self, vq: SplitVirtqueue, index: int) -> int:
        self._prepare(TransportId.SET_VQUEUE, _SET_VQUEUE8)
        self._put("I", 0, index)
        self._put("I", 8, vq.num)
        # unused (4) and reserved (12) stay 0; the addresses at payload offsets 16, 24, 32.
        self._put("QQQ", 16, vq.desc_addr, vq.avail_addr, vq.used_addr)
        return await self._xfer()


def transport_class(fmt: HdrFormat | int | str = HdrFormat.SEED6) -> type[VirtioMsgDevice]:
    """The transport model of a header format: the seed's RFC for SEED6 (the default), the 2026
    tree's for HDR8."""
    return VirtioMsgDeviceHdr8 if HdrFormat.parse(fmt) is HdrFormat.HDR8 else VirtioMsgDevice


def make_transport(fmt: HdrFormat | int | str, bus: VirtioMsgBus, dev_id: int, memory: Memory,
                   allocator: Allocator, **kwargs: Any) -> VirtioMsgDevice:
    """A transport device of the header format's kernel (keyword arguments as VirtioMsgDevice)."""
    return transport_class(fmt)(bus, dev_id, memory, allocator, **kwargs)
