"""What the Linux virtio-msg transport puts on the wire, derived from the kernel code.

This is the independent expectation for the probe tests: it does not use the
driver model. It reproduces, request by request, the bytes of the one
request buffer that drivers/virtio/virtio_msg.c keeps per device (allocated
zeroed; `msg_prepare` clears only header + fixed payload, so bytes beyond
msg_size keep what an earlier request left there), for the call order of the
Linux 6.12 virtio core (register_virtio_device, virtio_dev_probe) and of
virtio_blk's virtblk_probe.

Feature negotiation (virtio_dev_probe): virtio_blk's feature table (the
legacy table without VERSION_1) & the device's features, plus the device's
transport bits 28..41, then vring_transport_features, which in 6.12 keeps
INDIRECT_DESC, EVENT_IDX, VERSION_1, ACCESS_PLATFORM, RING_PACKED,
ORDER_PLATFORM, NOTIFICATION_DATA (virtio-msg adds nothing back).

virtblk_probe for the negotiated features (include/linux/virtio_config.h:
virtio_cread of a 1, 2 or 4-byte member is one get, of the u64 capacity a
generation loop around one 8-byte get):
  init_vq: num_queues (MQ); find_vqs("req.0")  GET_VQUEUE 0, SET_VQUEUE 0
  virtblk_read_limits: seg_max (SEG_MAX), size_max (SIZE_MAX), blk_size
    (BLK_SIZE), physical_block_exp, alignment_offset, min_io_size,
    opt_io_size (TOPOLOGY), discard_sector_alignment, max_discard_sectors,
    max_discard_seg (DISCARD), max_write_zeroes_sectors (WRITE_ZEROES),
    secure_erase_sector_alignment, max_secure_erase_sectors,
    max_secure_erase_seg (SECURE_ERASE), zoned.model (ZONED)
  virtblk_get_cache_mode: wce (CONFIG_WCE)
  virtblk_update_capacity: generation, get(0, 8), generation
  virtio_device_ready()                     get_status, set_status(| DRIVER_OK)
then the core's "did probe set DRIVER_OK" check (get_status). A get beyond
the device's config_size sends nothing (virtio_msg_get's bound check). The
value-dependent error branches (MQ with 0 queues, a zero secure-erase limit,
a host-managed zoned model) are outside this expectation: it covers
successful probes with one CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

HDR = 6
# status bits (include/uapi/linux/virtio_config.h)
ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
# message ids (include/uapi/linux/virtio_msg.h)
DEVICE_INFO, GET_DEV_FEATURES, SET_DRV_FEATURES, GET_CONFIG, SET_CONFIG = 0x02, 0x03, 0x04, 0x05, 0x06
GET_DEVICE_STATUS, SET_DEVICE_STATUS, GET_VQUEUE, SET_VQUEUE, RESET_VQUEUE = 0x07, 0x08, 0x09, 0x0A, 0x0B
EVENT_AVAIL = 0x41
PAGE_SIZE = 4096
# feature bits (include/uapi/linux/virtio_config.h, virtio_ring.h, virtio_blk.h)
F_INDIRECT_DESC, F_EVENT_IDX, F_VERSION_1, F_ACCESS_PLATFORM, F_RING_PACKED = 28, 29, 32, 33, 34
F_ORDER_PLATFORM, F_NOTIFICATION_DATA = 36, 38
TRANSPORT_F_START, TRANSPORT_F_END = 28, 42
VRING_6_12_KEEPS = (F_INDIRECT_DESC, F_EVENT_IDX, F_VERSION_1, F_ACCESS_PLATFORM, F_RING_PACKED,
                    F_ORDER_PLATFORM, F_NOTIFICATION_DATA)
BLK_F_SIZE_MAX, BLK_F_SEG_MAX, BLK_F_GEOMETRY, BLK_F_RO, BLK_F_BLK_SIZE = 1, 2, 4, 5, 6
BLK_F_FLUSH, BLK_F_TOPOLOGY, BLK_F_CONFIG_WCE, BLK_F_MQ, BLK_F_DISCARD = 9, 10, 11, 12, 13
BLK_F_WRITE_ZEROES, BLK_F_SECURE_ERASE, BLK_F_ZONED = 14, 16, 17
# virtio_blk.c: features_legacy[] and features[] (the latter adds ZONED)
VIRTIO_BLK_FEATURES_LEGACY = (BLK_F_SEG_MAX, BLK_F_SIZE_MAX, BLK_F_GEOMETRY, BLK_F_RO, BLK_F_BLK_SIZE,
                              BLK_F_FLUSH, BLK_F_TOPOLOGY, BLK_F_CONFIG_WCE, BLK_F_MQ, BLK_F_DISCARD,
                              BLK_F_WRITE_ZEROES, BLK_F_SECURE_ERASE)
VIRTIO_BLK_FEATURES = VIRTIO_BLK_FEATURES_LEGACY + (BLK_F_ZONED,)
# struct virtio_blk_config member (offset, size)
CFG_CAPACITY = (0, 8)
CFG_SIZE_MAX, CFG_SEG_MAX, CFG_BLK_SIZE = (8, 4), (12, 4), (20, 4)
CFG_PHYS_BLOCK_EXP, CFG_ALIGNMENT_OFFSET, CFG_MIN_IO_SIZE, CFG_OPT_IO_SIZE = (24, 1), (25, 1), (26, 2), (28, 4)
CFG_WCE, CFG_NUM_QUEUES = (32, 1), (34, 2)
CFG_MAX_DISCARD_SECTORS, CFG_MAX_DISCARD_SEG, CFG_DISCARD_SECTOR_ALIGNMENT = (36, 4), (40, 4), (44, 4)
CFG_MAX_WRITE_ZEROES_SECTORS = (48, 4)
CFG_MAX_SECURE_ERASE_SECTORS, CFG_MAX_SECURE_ERASE_SEG, CFG_SECURE_ERASE_SECTOR_ALIGNMENT = (60, 4), (64, 4), (68, 4)
CFG_ZONED_MODEL = (92, 1)


def bits(*numbers: int) -> int:
    return sum(1 << n for n in numbers)


def linux_blk_features(device_features: int) -> int:
    """virtio_dev_probe's negotiation for virtio_blk, then vring_transport_features (6.12)."""
    table = VIRTIO_BLK_FEATURES if device_features >> F_VERSION_1 & 1 else VIRTIO_BLK_FEATURES_LEGACY
    features = bits(*table) & device_features
    for i in range(TRANSPORT_F_START, TRANSPORT_F_END):
        if device_features >> i & 1:
            features |= 1 << i
    for i in range(TRANSPORT_F_START, TRANSPORT_F_END):
        if i not in VRING_6_12_KEEPS:
            features &= ~(1 << i)
    return features


@dataclass
class ExpectedRequest:
    name: str
    slot: bytes                                   # the whole request buffer (msg_size bytes)
    check: Callable[[bytes], str | None] | None = None  # extra check for fields not known in advance
    ignore: tuple[tuple[int, int], ...] = ()      # byte ranges [a, b) compared by `check` instead


def le(v: int, n: int) -> bytes:
    return v.to_bytes(n, "little")


class KernelRequestBuffer:
    """vmdev->request of virtio_msg.c: one buffer of msg_size bytes per device."""

    HDR = HDR            # sizeof(struct virtio_msg)
    MSG_SIZE_AT = 4      # offset of msg_size in the header

    def __init__(self, msg_size: int, dev_id: int):
        self.buf = bytearray(msg_size)  # kzalloc
        self.dev_id = dev_id

    def prepare(self, msg_id: int, payload_size: int) -> None:
        """msg_prepare(): zero header + payload, fill the transport header."""
        size = self.HDR + payload_size
        self.buf[:size] = bytes(size)
        self.buf[0] = 0  # transport request
        self.buf[1] = msg_id
        self.buf[2:4] = le(self.dev_id, 2)
        self.set_msg_size(size)

    def set_msg_size(self, size: int) -> None:
        self.buf[self.MSG_SIZE_AT:self.MSG_SIZE_AT + 2] = le(size, 2)

    def put(self, offset: int, data: bytes) -> None:
        self.buf[self.HDR + offset:self.HDR + offset + len(data)] = data

    def snapshot(self, name: str, **kw) -> ExpectedRequest:
        return ExpectedRequest(name, bytes(self.buf), **kw)


class KernelTransport:
    """The request sequence of the transport ops, for one device."""

    BUFFER = KernelRequestBuffer
    HDR = HDR

    def __init__(self, msg_size: int, dev_id: int, config_size: int = 1 << 32):
        self.msg_size = msg_size
        self.config_size = config_size
        self.req = self.BUFFER(msg_size, dev_id)
        self.out: list[ExpectedRequest] = []

    def _emit(self, name: str, **kw) -> None:
        self.out.append(self.req.snapshot(name, **kw))

    def device_info(self) -> None:
        self.req.prepare(DEVICE_INFO, 0)
        self._emit("DEVICE_INFO")

    def get_features(self) -> None:
        self.req.prepare(GET_DEV_FEATURES, 8)
        self.req.put(0, le(0, 4) + le(2, 4))  # index 0, num 2
        self._emit("GET_DEV_FEATURES")

    def finalize_features(self, features: int) -> None:
        # sizeof(struct set_features) = 8: the two feature words lie beyond msg_size.
        self.req.prepare(SET_DRV_FEATURES, 8)
        self.req.put(0, le(0, 4) + le(2, 4))
        self.req.put(8, le(features & 0xFFFFFFFF, 4) + le(features >> 32, 4))
        self._emit("SET_DRV_FEATURES")

    def get_status(self) -> None:
        self.req.prepare(GET_DEVICE_STATUS, 0)
        self._emit("GET_DEVICE_STATUS")

    def set_status(self, status: int) -> None:
        self.req.prepare(SET_DEVICE_STATUS, 4)
        self.req.put(0, le(status, 4))
        self._emit("SET_DEVICE_STATUS")

    def add_status(self, current: int, bit: int) -> int:
        """virtio_add_status(): get_status, then set_status(old | bit)."""
        self.get_status()
        self.set_status(current | bit)
        return current | bit

    def generation(self) -> None:
        self.req.prepare(GET_CONFIG, 8)
        self.req.put(0, le(0, 4) + le(0, 4))
        self._emit("GET_CONFIG(generation)")

    def get(self, offset: int, length: int) -> None:
        """virtio_msg_get(): nothing beyond config_size, else one GET_CONFIG per chunk of
        msg_size - 18 bytes."""
        if offset + length > self.config_size:
            return
        chunk = self.msg_size - self.HDR - 12
        self.req.prepare(GET_CONFIG, 8)
        done = 0
        while done != length:
            size = min(chunk, length - done)
            self.req.put(0, le(offset + done, 4) + le(size, 4))
            self._emit(f"GET_CONFIG({offset + done},{size})")
            done += size

    def cread(self, member: tuple[int, int]) -> None:
        """virtio_cread of a member: 1, 2, 4 bytes: one get; else __virtio_cread_many (one loop)."""
        offset, size = member
        if size in (1, 2, 4):
            self.get(offset, size)
        else:
            self.generation()
            self.get(offset, size)
            self.generation()

    def set(self, offset: int, data: bytes, generation: int) -> None:
        """virtio_msg_set(): SET_CONFIG chunks carrying the last seen generation; data beyond msg_size."""
        chunk = self.msg_size - HDR - 12
        self.req.prepare(SET_CONFIG, 12)
        self.req.put(0, le(generation, 4))
        done = 0
        while done != len(data):
            size = min(chunk, len(data) - done)
            self.req.put(4, le(offset + done, 4) + le(size, 4))
            self.req.put(12, data[done:done + size])
            self._emit(f"SET_CONFIG({offset + done},{size})")
            done += size

    def get_vqueue(self, index: int) -> None:
        self.req.prepare(GET_VQUEUE, 4)
        self.req.put(0, le(index, 4))
        self._emit(f"GET_VQUEUE({index})")

    def set_vqueue(self, index: int, size: int, addrs: tuple[int, int, int]) -> None:
        """SET_VQUEUE. The addresses are the ring allocator's choice (taken from the traffic by
        the caller); what the kernel guarantees about them is checked: the split-ring layout."""
        self.req.prepare(SET_VQUEUE, 36)
        self.req.put(0, le(index, 4) + le(0, 4) + le(size, 4) + b"".join(le(a, 8) for a in addrs))
        self._emit(f"SET_VQUEUE({index})", check=lambda slot: split_ring_layout(slot, HDR, VQ_ADDR_AT, size))

    def reset_vqueue(self, index: int) -> None:
        self.req.prepare(RESET_VQUEUE, 4)
        self.req.put(0, le(index, 4))
        self._emit(f"RESET_VQUEUE({index})")

    def notify(self, index: int) -> None:
        """virtio_msg_notify(): EVENT_AVAIL with offset and wrap 0, no response."""
        self.req.prepare(EVENT_AVAIL, 8)
        self.req.put(0, le(index, 4) + le(0, 4))
        self._emit(f"EVENT_AVAIL({index})")


VQ_ADDR_AT = (12, 20, 28)    # payload offsets of descriptor_addr, driver_addr, device_addr


def vq_addresses(slot: bytes, hdr: int, addr_at: tuple[int, int, int]) -> tuple[int, int, int]:
    """(descriptor, driver, device) addresses of a SET_VQUEUE slot."""
    return tuple(int.from_bytes(slot[hdr + o:hdr + o + 8], "little") for o in addr_at)


def split_ring_layout(slot: bytes, hdr: int, addr_at: tuple[int, int, int], size: int) -> str | None:
    """The split-ring layout vring_create_virtqueue gives (descriptor table, avail ring, used ring
    on the next page); None when the SET_VQUEUE's addresses have it, else what is wrong."""
    desc, drv, dev = vq_addresses(slot, hdr, addr_at)
    if desc % 16:
        return f"descriptor table {desc:#x} not 16-byte aligned"
    if drv != desc + 16 * size:
        return f"avail ring {drv:#x} does not follow the descriptor table {desc:#x} of {size} entries"
    used = (drv + 6 + 2 * size + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE
    if dev != used:
        return f"used ring {dev:#x}, expected {used:#x} (vring_create_virtqueue with PAGE_SIZE alignment)"
    return None


def ring_addresses(requests: list[bytes], index: int, hdr: int = HDR,
                   addr_at: tuple[int, int, int] = VQ_ADDR_AT) -> tuple[int, int, int]:
    """(descriptor, driver, device) addresses of the first SET_VQUEUE for `index` in a traffic."""
    for s in requests:
        if s[1] == SET_VQUEUE and int.from_bytes(s[hdr:hdr + 4], "little") == index:
            return vq_addresses(s, hdr, addr_at)
    return (0, 0, 0)


def linux_blk_probe(msg_size: int, dev_id: int, device_features: int, driver_features: int | None,
                    config_size: int, queue_max_size: int,
                    ring: tuple[int, int, int], transport=None) -> list[ExpectedRequest]:
    """Requests of virtio_msg_register + register_virtio_device + virtio_dev_probe(virtio_blk).

    The negotiated features come from virtio_blk's tables and vring_transport_features
    (linux_blk_features); `driver_features`, when given, is the caller's own statement of what
    the driver and the ring support, and must agree (ValueError otherwise). A correct device
    holds the status the driver sets, so each get_status returns the previous set_status.
    `transport` is the class that builds each op (KernelTransport, the seed's, by default).
    """
    features = linux_blk_features(device_features)
    if driver_features is not None and features != device_features & driver_features:
        raise ValueError(f"caller expects {device_features & driver_features:#x} negotiated, "
                         f"virtio_blk + vring_transport_features give {features:#x}")
    has = lambda bit: bool(features >> bit & 1)
    k = (transport or KernelTransport)(msg_size, dev_id, config_size)
    k.device_info()                          # virtio_msg_register -> get_device_info
    k.set_status(0)                          # register_virtio_device: virtio_reset_device
    st = k.add_status(0, ACKNOWLEDGE)        # ... virtio_add_status(ACKNOWLEDGE)
    st = k.add_status(st, DRIVER)            # virtio_dev_probe: virtio_add_status(DRIVER)
    k.get_features()                         # dev->config->get_features
    k.finalize_features(features)            # virtio_blk has no validate hook
    if has(F_VERSION_1):
        st = k.add_status(st, FEATURES_OK)   # virtio_features_ok: add FEATURES_OK ...
        k.get_status()                       # ... and re-read it
    if has(BLK_F_MQ):                        # virtblk_probe -> init_vq
        k.cread(CFG_NUM_QUEUES)
    k.get_vqueue(0)                          # find_vqs (one CPU: one queue)
    k.set_vqueue(0, queue_max_size, ring)
    for bit, member in ((BLK_F_SEG_MAX, CFG_SEG_MAX), (BLK_F_SIZE_MAX, CFG_SIZE_MAX),
                        (BLK_F_BLK_SIZE, CFG_BLK_SIZE), (BLK_F_TOPOLOGY, CFG_PHYS_BLOCK_EXP),
                        (BLK_F_TOPOLOGY, CFG_ALIGNMENT_OFFSET), (BLK_F_TOPOLOGY, CFG_MIN_IO_SIZE),
                        (BLK_F_TOPOLOGY, CFG_OPT_IO_SIZE)):
        if has(bit):                         # virtblk_read_limits: virtio_cread_feature
            k.cread(member)
    if has(BLK_F_DISCARD):
        for member in (CFG_DISCARD_SECTOR_ALIGNMENT, CFG_MAX_DISCARD_SECTORS, CFG_MAX_DISCARD_SEG):
            k.cread(member)
    if has(BLK_F_WRITE_ZEROES):
        k.cread(CFG_MAX_WRITE_ZEROES_SECTORS)
    if has(BLK_F_SECURE_ERASE):
        for member in (CFG_SECURE_ERASE_SECTOR_ALIGNMENT, CFG_MAX_SECURE_ERASE_SECTORS, CFG_MAX_SECURE_ERASE_SEG):
            k.cread(member)
    if has(BLK_F_ZONED):
        k.cread(CFG_ZONED_MODEL)
    if has(BLK_F_CONFIG_WCE):                # virtblk_get_cache_mode
        k.cread(CFG_WCE)
    k.cread(CFG_CAPACITY)                    # virtblk_update_capacity
    k.get_status()                           # virtio_device_ready
    k.set_status(st | DRIVER_OK)
    k.get_status()                           # virtio_dev_probe: DRIVER_OK already set?
    return k.out


def compare(expected: list[ExpectedRequest], actual: list[bytes]) -> list[str]:
    """Message-by-message comparison; returns the differences (empty when equal)."""
    diffs: list[str] = []
    for i, exp in enumerate(expected):
        if i >= len(actual):
            diffs.append(f"#{i} {exp.name}: missing (only {len(actual)} request(s) sent)")
            break
        got = actual[i]
        a, e = bytearray(got), bytearray(exp.slot)
        for lo, hi in exp.ignore:
            a[lo:hi] = e[lo:hi] = bytes(hi - lo)
        if a != e:
            first = next(j for j in range(min(len(a), len(e))) if a[j] != e[j]) if len(a) == len(e) else 0
            diffs.append(f"#{i} {exp.name}: byte {first} differs\n   expected {exp.slot.hex()}\n   got      {got.hex()}")
        if exp.check is not None:
            msg = exp.check(got)
            if msg:
                diffs.append(f"#{i} {exp.name}: {msg}")
    if len(actual) > len(expected):
        diffs.append(f"{len(actual) - len(expected)} request(s) more than expected, first: {actual[len(expected)].hex()}")
    return diffs
