"""Device types behind the DeviceBus: a virtio-blk RAM disk, virtio-rng and a generic device
for random tests. Their transport behaviour is complete; request processing (the kick handler)
is the place where I/O will be added."""
from __future__ import annotations

import struct
from typing import Callable, Optional, Sequence

from ..proto.constants import VIRTIO_ID_BLOCK, VIRTIO_ID_RNG, Feature, feature_bit
from .device import VirtioDeviceModel
from .blk_defs import (BLK_CFG_BLK_SIZE, BLK_CFG_CAPACITY, BLK_CFG_NUM_QUEUES, BLK_CFG_SEG_MAX,
                       BLK_CFG_WCE, BLK_CONFIG_SIZE, SECTOR_SIZE, VIRTIO_BLK_F_BLK_SIZE,
                       VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX)


def blk_config(capacity: int, seg_max: int, blk_size: int, wce: int = 0,
               size: int = BLK_CONFIG_SIZE) -> bytes:
    """A struct virtio_blk_config (little endian) cut to `size` bytes."""
    cfg = bytearray(max(size, 36))
    struct.pack_into("<Q", cfg, BLK_CFG_CAPACITY, capacity)
    struct.pack_into("<I", cfg, BLK_CFG_SEG_MAX, seg_max)
    struct.pack_into("<I", cfg, BLK_CFG_BLK_SIZE, blk_size)
    cfg[BLK_CFG_WCE] = wce
    struct.pack_into("<H", cfg, BLK_CFG_NUM_QUEUES, 1)
    return bytes(cfg[:size])


class BlkDevice(VirtioDeviceModel):
    """virtio-blk (device id 2): a RAM disk of `capacity` sectors with one request queue.

    Offers VERSION_1, SEG_MAX, BLK_SIZE, FLUSH, CONFIG_WCE, plus EVENT_IDX when event_idx and
    any `extra_features`; `features` replaces that whole set (for tests that need an exact
    offer, e.g. one whose negotiation makes Linux's virtio_blk read nothing but the capacity). `refuse` lets a test make the device refuse FEATURES_OK for some
    feature combinations (it receives the driver's features, True means refuse). Only the
    writeback byte (wce) of the config is writable.
    """

    def __init__(self, capacity: int = 2048, *, queue_size: int = 128, event_idx: bool = True,
                 extra_features: int = 0, seg_max: int = 32, blk_size: int = SECTOR_SIZE,
                 config_size: int = BLK_CONFIG_SIZE,
                 refuse: Optional[Callable[[int], bool]] = None, features: Optional[int] = None) -> None:
        if features is None:
            features = (feature_bit(Feature.VERSION_1) | feature_bit(VIRTIO_BLK_F_SEG_MAX)
                        | feature_bit(VIRTIO_BLK_F_BLK_SIZE) | feature_bit(VIRTIO_BLK_F_FLUSH)
                        | feature_bit(VIRTIO_BLK_F_CONFIG_WCE) | extra_features)
            if event_idx:
                features |= feature_bit(Feature.RING_EVENT_IDX)
        super().__init__(VIRTIO_ID_BLOCK, features, blk_config(capacity, seg_max, blk_size, size=config_size),
                         [queue_size])
        self.refuse = refuse
        self.storage = bytearray(capacity * SECTOR_SIZE)

    def accept_features(self, features: int) -> bool:
        if self.refuse is not None and self.refuse(features):
            return False
        return super().accept_features(features)

    def config_writable(self, offset: int, size: int) -> bool:
        return offset == BLK_CFG_WCE and size == 1

    async def on_kick(self, bus, dev_num: int, vq: int, data: int) -> list[bytes]:
        # Request processing (virtio_blk_outhdr, data, status byte) comes here: pop chains from
        # bus.memory, read/write self.storage, complete through the queue backend.
        return []


class RngDevice(VirtioDeviceModel):
    """virtio-rng (device id 4): one queue, no config."""

    def __init__(self, *, queue_size: int = 64, event_idx: bool = False, extra_features: int = 0) -> None:
        features = feature_bit(Feature.VERSION_1) | extra_features
        if event_idx:
            features |= feature_bit(Feature.RING_EVENT_IDX)
        super().__init__(VIRTIO_ID_RNG, features, b"", [queue_size])

    async def on_kick(self, bus, dev_num: int, vq: int, data: int) -> list[bytes]:
        # Entropy fill of the writable buffers comes here.
        return []


class GenericDevice(VirtioDeviceModel):
    """Any device id, feature set, config bytes and queue sizes (0 = queue missing)."""

    def __init__(self, device_id: int, features: int, config: bytes = b"",
                 queue_max_sizes: Sequence[int] = (), *, vendor_id: int = 0x4D534756,
                 writable: Optional[Callable[[int, int], bool]] = None) -> None:
        super().__init__(device_id, features, config, list(queue_max_sizes), vendor_id)
        self.writable = writable

    def config_writable(self, offset: int, size: int) -> bool:
        return self.writable(offset, size) if self.writable else True
