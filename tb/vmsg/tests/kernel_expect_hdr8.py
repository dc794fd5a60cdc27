"""What the 2026 kernel tree's virtio-msg transport puts on the wire (8-byte header).

The independent expectation for the 8-byte probe, as kernel_expect.py is for the seed: it does
not use the driver model. It reproduces, request by request, the one request buffer that
drivers/virtio/virtio_msg.c of the 2026 Linaro tree (`jenswi-linaro/linux-1`, commit ba58108a;
include/uapi/linux/virtio_msg.h of that tree) keeps per device:

- the buffer is allocated zeroed (kzalloc of 2 * msg_size: request, then response);
- msg_prepare zeroes sizeof(struct virtio_msg) + payload_size bytes (8 + payload) and writes
  type, msg_id, dev_id and msg_size = 8 + payload_size; the token (bytes 4-5) is never written,
  so it is 0 in every request the transport builds; bytes beyond header + payload keep what an
  earlier request left there;
- SET_DRV_FEATURES is prepared with sizeof(struct set_features) + 2 feature words (msg_size 24);
- SET_CONFIG is prepared with payload 0 (only the header is zeroed, msg_size 8), then the
  generation once, and per chunk offset, size, the data at byte 20 and msg_size = 20 + size;
  chunks (GET_CONFIG and SET_CONFIG) are at most msg_size - 8 - 12 bytes;
- SET_VQUEUE is prepared with sizeof(struct set_vqueue) = 40: index, unused 0, size,
  reserved 0, then descriptor, driver, device addresses at payload offsets 16, 24, 32;
- register refuses a bus with revision != 1 or msg_size < 50 (VIRTIO_MSG_MIN_SIZE) before
  sending anything (`kernel_accepts_bus`);
- notify (no NOTIFICATION_DATA): EVENT_AVAIL {index, 0}, sent without a response.

What happens above the transport (register_virtio_device, virtio_dev_probe, virtblk_probe, the
feature tables and vring_transport_features) is taken from kernel_expect.py unchanged: the call
order is the virtio core's and virtio_blk's, not the transport's, and the driver model runs the
same core over both transports.
"""

from __future__ import annotations

from .kernel_expect import (SET_CONFIG, SET_DRV_FEATURES, SET_VQUEUE, ExpectedRequest, KernelRequestBuffer,
                            KernelTransport, compare, le, linux_blk_features, linux_blk_probe,
                            ring_addresses, split_ring_layout)

HDR = 8                      # sizeof(struct virtio_msg): type, msg_id, dev_id, token, msg_size
MSG_SIZE_AT = 6              # offset of msg_size in the header
TOKEN_AT = 4                 # offset of the token in the header
MIN_SIZE = 50                # VIRTIO_MSG_MIN_SIZE of the 2026 tree
REVISION_1 = 1
SET_VQUEUE_PAYLOAD = 40      # sizeof(struct set_vqueue) with the reserved word
VQ_ADDR_AT = (16, 24, 32)    # payload offsets of descriptor_addr, driver_addr, device_addr

__all__ = ["HDR", "MIN_SIZE", "TOKEN_AT", "KernelRequestBuffer8", "KernelTransport8", "compare",
           "kernel_accepts_bus", "linux_blk_features", "linux_blk_probe8", "ring_addresses8", "ExpectedRequest"]


def kernel_accepts_bus(msg_size: int, revision: int = REVISION_1) -> bool:
    """virtio_msg_register's bus_info check."""
    return revision == REVISION_1 and msg_size >= MIN_SIZE


class KernelRequestBuffer8(KernelRequestBuffer):
    """vmdev->request of the 2026 virtio_msg.c: one buffer of msg_size bytes per device; msg_prepare
    zeroes header + payload (the token included) and fills type, msg_id, dev_id and msg_size."""

    HDR = HDR
    MSG_SIZE_AT = MSG_SIZE_AT


class KernelTransport8(KernelTransport):
    """The request sequence of the 2026 tree's transport ops, for one device: the seed's ops on
    the 8-byte buffer, except the bus check, SET_DRV_FEATURES, SET_CONFIG and SET_VQUEUE."""

    BUFFER = KernelRequestBuffer8
    HDR = HDR

    def __init__(self, msg_size: int, dev_id: int, config_size: int = 1 << 32):
        if not kernel_accepts_bus(msg_size):
            raise ValueError(f"the 2026 kernel refuses a bus of msg_size {msg_size} (< {MIN_SIZE}): "
                             "it sends nothing")
        super().__init__(msg_size, dev_id, config_size)

    def finalize_features(self, features: int) -> None:
        # sizeof(struct set_features) + 2 * sizeof(__le32): msg_size 24 counts the words.
        self.req.prepare(SET_DRV_FEATURES, 8 + 8)
        self.req.put(0, le(0, 4) + le(2, 4))
        self.req.put(8, le(features & 0xFFFFFFFF, 4) + le(features >> 32, 4))
        self._emit("SET_DRV_FEATURES")

    def set(self, offset: int, data: bytes, generation: int) -> None:
        """virtio_msg_set(): prepared with payload 0; per chunk msg_size = 20 + chunk."""
        if offset + len(data) > self.config_size:
            return
        fixed = HDR + 12
        self.req.prepare(SET_CONFIG, 0)
        self.req.put(0, le(generation, 4))
        done = 0
        while done != len(data):
            size = min(self.msg_size - fixed, len(data) - done)
            self.req.put(4, le(offset + done, 4) + le(size, 4))
            self.req.put(12, data[done:done + size])
            self.req.set_msg_size(fixed + size)
            self._emit(f"SET_CONFIG({offset + done},{size})")
            done += size

    def set_vqueue(self, index: int, size: int, addrs: tuple[int, int, int]) -> None:
        """SET_VQUEUE with the reserved word. The addresses are the ring allocator's choice (taken
        from the traffic by the caller); the split-ring layout they must have is checked."""
        self.req.prepare(SET_VQUEUE, SET_VQUEUE_PAYLOAD)
        self.req.put(0, le(index, 4) + le(0, 4) + le(size, 4) + le(0, 4)
                     + b"".join(le(a, 8) for a in addrs))
        self._emit(f"SET_VQUEUE({index})", check=lambda slot: split_ring_layout(slot, HDR, VQ_ADDR_AT, size))


def ring_addresses8(requests: list[bytes], index: int) -> tuple[int, int, int]:
    """(descriptor, driver, device) addresses of the first SET_VQUEUE for `index` in a traffic."""
    return ring_addresses(requests, index, HDR, VQ_ADDR_AT)


def linux_blk_probe8(msg_size: int, dev_id: int, device_features: int, driver_features: int | None,
                     config_size: int, queue_max_size: int,
                     ring: tuple[int, int, int]) -> list[ExpectedRequest]:
    """Requests of virtio_msg_register + register_virtio_device + virtio_dev_probe(virtio_blk)
    over the 2026 transport: the call order of kernel_expect.linux_blk_probe, each op built as
    the 2026 virtio_msg.c builds it. Raises ValueError for a bus the kernel refuses."""
    return linux_blk_probe(msg_size, dev_id, device_features, driver_features, config_size,
                           queue_max_size, ring, transport=KernelTransport8)
