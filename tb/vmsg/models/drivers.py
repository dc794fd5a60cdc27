"""Driver models bound by the virtio core: what a Linux device driver's probe/remove does on
the transport. Only the transport-visible behaviour is modelled (config reads, queues, status);
request processing is up to the tests and sequences using the queues."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..proto.constants import VIRTIO_ID_BLOCK, VIRTIO_ID_RNG
from .blk_defs import (VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_DISCARD,
                       VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_GEOMETRY, VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_RO,
                       VIRTIO_BLK_F_SECURE_ERASE, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX,
                       VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_WRITE_ZEROES)
from .driver import VqInfo, VqSpec
from .virtio_core import VirtioCore
from .virtqueue import SplitVirtqueue

BLK_DRIVER_FEATURES = [
    VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_GEOMETRY, VIRTIO_BLK_F_RO,
    VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_CONFIG_WCE,
    VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_F_SECURE_ERASE,
]


@dataclass
class GenericDriver:
    """A driver that reads `config_read_len` bytes of config (one generation-checked read),
    creates the named queues and sets DRIVER_OK itself (set_ready) or leaves it to the core."""
    feature_table: list[int] = field(default_factory=list)
    queues: Sequence[VqSpec] = ()
    config_read_len: int = 0
    set_ready: bool = True
    config: bytes = b""
    vqs: list[Optional[SplitVirtqueue]] = field(default_factory=list)
    config_changes: int = 0
    removed: bool = False

    async def probe(self, core: VirtioCore) -> None:
        length = min(self.config_read_len, core.transport.config_size)
        if length:
            self.config = await core.cread_bytes(0, length)
        self.vqs = await core.transport.find_vqs(list(self.queues))
        if self.set_ready:
            await core.device_ready()

    async def remove(self, core: VirtioCore) -> None:
        await core.transport.reset()
        await core.transport.del_vqs()
        self.removed = True

    def config_changed(self, core: VirtioCore) -> None:
        self.config_changes += 1


class BlkDriver(GenericDriver):
    """virtio-blk as the transport sees it, in the order of Linux's virtblk_probe: the blk
    feature table; find_vqs with one request queue "req.0"; the capacity with virtio_cread
    (a u64, so generation / get(0, 8) / generation); then, as a blk-like driver that keeps the
    whole config struct, one config->get of it (up to 60 bytes, so that it splits at small
    msg_size); DRIVER_OK from the driver (virtio_device_ready)."""

    def __init__(self, callback=None, config_read_len: int = 60) -> None:
        super().__init__(feature_table=list(BLK_DRIVER_FEATURES),
                         queues=[VqInfo("req.0", callback)], config_read_len=config_read_len)
        self.capacity = 0

    async def probe(self, core: VirtioCore) -> None:
        self.vqs = await core.transport.find_vqs(list(self.queues))
        self.capacity = int.from_bytes(await core.cread_bytes(0, 8), "little")
        length = min(self.config_read_len, core.transport.config_size)
        if length:
            self.config = await core.transport.get(0, length)
        if self.set_ready:
            await core.device_ready()


class RngDriver(GenericDriver):
    """virtio-rng: no features, no config, one queue "input"."""

    def __init__(self, callback=None) -> None:
        super().__init__(feature_table=[], queues=[VqInfo("input", callback)])


# Default driver table of the bus driver: virtio device id -> driver factory.
DEFAULT_DRIVERS = {VIRTIO_ID_BLOCK: BlkDriver, VIRTIO_ID_RNG: RngDriver}
