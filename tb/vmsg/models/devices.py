"""Device types behind the DeviceBus: a virtio-blk RAM disk, virtio-rng and a generic device
for random tests. Blk and rng process their requests on a kick (pop every available chain, do
the I/O in the memory model, complete through the queue backend); the generic device processes
nothing, so tests can drive its rings by hand."""
from __future__ import annotations

import random
import struct
from typing import Callable, Optional, Sequence

from ..proto.constants import VIRTIO_ID_BLOCK, VIRTIO_ID_RNG, Feature, feature_bit
from .blk_defs import (BLK_CFG_BLK_SIZE, BLK_CFG_CAPACITY, BLK_CFG_NUM_QUEUES, BLK_CFG_SEG_MAX,
                       BLK_CFG_WCE, BLK_CONFIG_SIZE, BLK_OUTHDR_FMT, BLK_OUTHDR_SIZE, SECTOR_SIZE,
                       VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_FLUSH,
                       VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK,
                       VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN,
                       VIRTIO_BLK_T_OUT)
from .device import PATH_REGS, PATH_STREAM, VirtioDeviceModel
from .device_ring import Chain
from .memory import Memory

Segments = list[tuple[int, int]]          # (address, length) in chain order


def gather(mem: Memory, segs: Segments) -> bytes:
    return b"".join(mem.read(addr, length) for addr, length in segs)


def scatter(mem: Memory, segs: Segments, data: bytes) -> int:
    """Write data across the segments in order; returns the bytes written."""
    pos = 0
    for addr, length in segs:
        if pos >= len(data):
            break
        piece = data[pos:pos + length]
        mem.write(addr, piece)
        pos += len(piece)
    return pos


def split_chain(chain: Chain) -> Optional[tuple[Segments, Segments]]:
    """(readable, writable) segments, or None when a readable descriptor follows a writable one
    (virtio: device-writable descriptors come last)."""
    descs = chain.descriptors
    first_w = next((i for i, d in enumerate(descs) if d.device_writes), len(descs))
    if any(not d.device_writes for d in descs[first_w:]):
        return None
    return ([(d.addr, d.len) for d in descs[:first_w]], [(d.addr, d.len) for d in descs[first_w:]])


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

    Requests (include/uapi/linux/virtio_blk.h): the readable part starts with a 16-byte
    virtio_blk_outhdr {le32 type, le32 reserved, le64 sector} (it may span descriptors; OUT
    data follows it), the writable part holds IN / GET_ID data and ends with the status byte,
    the last byte of the last writable descriptor. Types: IN (0), OUT (1), FLUSH (4, nothing
    to do: writes reach the RAM disk at once), GET_ID (8: `serial` zero-padded to 20 bytes,
    cut to the buffer); any other type -> UNSUPP. IN/OUT whose data is not a whole number of
    sectors or reaches beyond `capacity` -> IOERR (as QEMU's sector range check). The used
    length is what the device wrote: IN data + 1, GET_ID id bytes + 1, otherwise 1.
    A malformed chain (no writable byte for the status, a readable part shorter than the
    header, a readable descriptor after a writable one) gets no status: it is completed with
    used length 0 and counted in stats["malformed"] (and the reason in stats["malformed_*"]).
    Completions use the engine's stream port (`completion_path` "stream"). The disk contents
    survive a device reset.

    Offers VERSION_1, SEG_MAX, BLK_SIZE, FLUSH, CONFIG_WCE, plus EVENT_IDX when event_idx,
    NOTIFICATION_DATA only when `notification_data` (the seed's driver cannot use it: see
    docs/architecture.md) and any `extra_features`; `features` replaces that whole set (for tests that need an exact
    offer, e.g. one whose negotiation makes Linux's virtio_blk read nothing but the capacity). `refuse` lets a test make the device refuse FEATURES_OK for some
    feature combinations (it receives the driver's features, True means refuse). Only the
    writeback byte (wce) of the config is writable.
    """

    def __init__(self, capacity: int = 2048, *, queue_size: int = 128, event_idx: bool = True,
                 extra_features: int = 0, seg_max: int = 32, blk_size: int = SECTOR_SIZE,
                 config_size: int = BLK_CONFIG_SIZE,
                 refuse: Optional[Callable[[int], bool]] = None, features: Optional[int] = None,
                 serial: bytes = b"vmsg-ramdisk", notification_data: bool = False) -> None:
        if features is None:
            features = (feature_bit(Feature.VERSION_1) | feature_bit(VIRTIO_BLK_F_SEG_MAX)
                        | feature_bit(VIRTIO_BLK_F_BLK_SIZE) | feature_bit(VIRTIO_BLK_F_FLUSH)
                        | feature_bit(VIRTIO_BLK_F_CONFIG_WCE) | extra_features)
            if event_idx:
                features |= feature_bit(Feature.RING_EVENT_IDX)
            if notification_data:
                features |= feature_bit(Feature.NOTIFICATION_DATA)
        super().__init__(VIRTIO_ID_BLOCK, features, blk_config(capacity, seg_max, blk_size, size=config_size),
                         [queue_size])
        self.refuse = refuse
        self.storage = bytearray(capacity * SECTOR_SIZE)
        self.serial = bytes(serial)

    def accept_features(self, features: int) -> bool:
        if self.refuse is not None and self.refuse(features):
            return False
        return super().accept_features(features)

    def config_writable(self, offset: int, size: int) -> bool:
        return offset == BLK_CFG_WCE and size == 1

    completion_path = PATH_STREAM

    @property
    def capacity(self) -> int:
        return len(self.storage) // SECTOR_SIZE

    async def on_kick(self, bus, dev_num: int, vq: int, data: int) -> list[bytes]:
        return await self.serve_queue(bus, dev_num, vq)

    def _malformed(self, reason: str) -> int:
        self.stats["malformed"] += 1
        self.stats["malformed_" + reason] += 1
        return 0

    def _range_ok(self, sector: int, nbytes: int) -> bool:
        return nbytes % SECTOR_SIZE == 0 and sector <= self.capacity and nbytes // SECTOR_SIZE <= self.capacity - sector

    def process_chain(self, mem: Memory, vq: int, chain: Chain) -> int:
        parts = split_chain(chain)
        if parts is None:
            return self._malformed("order")
        readable, writable = parts
        if not writable or writable[-1][1] < 1:
            return self._malformed("no_status")
        out = gather(mem, readable)
        if len(out) < BLK_OUTHDR_SIZE:
            return self._malformed("short_header")
        req_type, _, sector = struct.unpack_from(BLK_OUTHDR_FMT, out)
        status_addr = writable[-1][0] + writable[-1][1] - 1
        data_in = writable[:-1] + ([(writable[-1][0], writable[-1][1] - 1)] if writable[-1][1] > 1 else [])
        in_len = sum(length for _, length in data_in)
        written = 0
        if req_type == VIRTIO_BLK_T_IN:
            if self._range_ok(sector, in_len):
                start = sector * SECTOR_SIZE
                written = scatter(mem, data_in, bytes(self.storage[start:start + in_len]))
                status = VIRTIO_BLK_S_OK
                self.stats["read_sectors"] += in_len // SECTOR_SIZE
            else:
                status = VIRTIO_BLK_S_IOERR
        elif req_type == VIRTIO_BLK_T_OUT:
            data = out[BLK_OUTHDR_SIZE:]
            if self._range_ok(sector, len(data)):
                start = sector * SECTOR_SIZE
                self.storage[start:start + len(data)] = data
                status = VIRTIO_BLK_S_OK
                self.stats["write_sectors"] += len(data) // SECTOR_SIZE
            else:
                status = VIRTIO_BLK_S_IOERR
        elif req_type == VIRTIO_BLK_T_FLUSH:
            status = VIRTIO_BLK_S_OK
        elif req_type == VIRTIO_BLK_T_GET_ID:
            ident = self.serial[:VIRTIO_BLK_ID_BYTES].ljust(VIRTIO_BLK_ID_BYTES, b"\0")
            written = scatter(mem, data_in, ident[:in_len])
            status = VIRTIO_BLK_S_OK
        else:
            status = VIRTIO_BLK_S_UNSUPP
        mem.write(status_addr, bytes([status]))
        self.stats[{VIRTIO_BLK_T_IN: "in", VIRTIO_BLK_T_OUT: "out", VIRTIO_BLK_T_FLUSH: "flush",
                    VIRTIO_BLK_T_GET_ID: "get_id"}.get(req_type, "other")] += 1
        self.stats[{VIRTIO_BLK_S_OK: "ok", VIRTIO_BLK_S_IOERR: "ioerr", VIRTIO_BLK_S_UNSUPP: "unsupp"}[status]] += 1
        return written + 1


def rng_stream(seed: int, n: int, rng: Optional[random.Random] = None) -> bytes:
    """The first n bytes of RngDevice(seed)'s output (or the next n of `rng`): byte k is the
    k-th `random.Random(seed).getrandbits(8)`, so the stream does not depend on how it is cut
    into buffers."""
    r = rng if rng is not None else random.Random(seed)
    return bytes(r.getrandbits(8) for _ in range(n))


class RngDevice(VirtioDeviceModel):
    """virtio-rng (device id 4): one queue, no config.

    Fills every writable byte of each buffer, in chain order, from one deterministic stream per
    device (`rng_stream(seed, ...)`; it continues across buffers, kicks and device resets;
    `produced` counts its bytes) and completes with the number of bytes written. Readable
    descriptors are ignored; a chain with no writable byte is completed with length 0 and
    counted in stats["malformed"]. Completions use the engine's register path (firmware).
    Offers VERSION_1, EVENT_IDX when event_idx, NOTIFICATION_DATA only when
    `notification_data`, and any `extra_features`.
    """

    completion_path = PATH_REGS

    def __init__(self, *, queue_size: int = 64, event_idx: bool = False, extra_features: int = 0,
                 seed: int = 0, notification_data: bool = False) -> None:
        features = feature_bit(Feature.VERSION_1) | extra_features
        if event_idx:
            features |= feature_bit(Feature.RING_EVENT_IDX)
        if notification_data:
            features |= feature_bit(Feature.NOTIFICATION_DATA)
        super().__init__(VIRTIO_ID_RNG, features, b"", [queue_size])
        self.seed = seed
        self._rng = random.Random(seed)
        self.produced = 0

    async def on_kick(self, bus, dev_num: int, vq: int, data: int) -> list[bytes]:
        return await self.serve_queue(bus, dev_num, vq)

    def process_chain(self, mem: Memory, vq: int, chain: Chain) -> int:
        writable = chain.writable
        total = sum(length for _, length in writable)
        if not total:
            self.stats["malformed"] += 1
            return 0
        written = scatter(mem, writable, rng_stream(self.seed, total, self._rng))
        self.produced += written
        return written


class GenericDevice(VirtioDeviceModel):
    """Any device id, feature set, config bytes and queue sizes (0 = queue missing)."""

    def __init__(self, device_id: int, features: int, config: bytes = b"",
                 queue_max_sizes: Sequence[int] = (), *, vendor_id: int = 0x4D534756,
                 writable: Optional[Callable[[int, int], bool]] = None) -> None:
        super().__init__(device_id, features, config, list(queue_max_sizes), vendor_id)
        self.writable = writable

    def config_writable(self, offset: int, size: int) -> bool:
        return self.writable(offset, size) if self.writable else True
