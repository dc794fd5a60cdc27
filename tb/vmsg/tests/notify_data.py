"""NOTIFICATION_DATA end to end, and the GET_DEVICES responder modes, over the peripheral.

The seed's transport (RFC virtio_msg.c) computes the EVENT_AVAIL fields with `|` where `&` is
meant: index = data | 0xFFFF. Whatever the queue, the index is >= 0xFFFF, so the peripheral
refuses the kick (TX_ERROR.CODE = DB_RANGE), the bus returns an error, the kernel's notify
returns false and the device never sees the doorbell. The driver model in byte-exact mode
(the default, NOTIFY_DATA_RFC) reproduces exactly that; NOTIFY_DATA_FIXED is the corrected
computation, under which I/O works. The expectations below are computed from the kernel's
formulas, not from the model.
"""

from __future__ import annotations

import errno
import random

import cocotb
import pyuvm

from ..models import BlkDevice, BlkDriver, BumpAllocator, DeviceBus, GenericDevice, VirtioCore, VirtioError
from ..models.driver import NOTIFY_DATA_FIXED, NOTIFY_DATA_RFC
from ..models.driver_hdr8 import make_transport
from ..proto.constants import Feature, feature_bit
from .io import HEAP, SECTOR, IoTest
from .transport import BLK_F_FLUSH, EVENT_IDX, VERSION_1, TransportTest

NOTIF = feature_bit(Feature.NOTIFICATION_DATA)
DEV = 1


def rfc_event_avail_fields(avail_idx: int, queue: int) -> tuple[int, int]:
    """virtio_msg_notify_with_data + _vmsg_notify of the seed, from its source: data =
    vring_notification_data (avail_idx << 16 | queue); index = data | 0xFFFF; offset =
    (data >> 16) | 0x7FFF; wrap = data >> 31; next_offset_wrap = (offset & 0x7FFFFFFF) |
    (wrap & 0x80000000)."""
    data = (avail_idx & 0xFFFF) << 16 | queue
    index = (data | 0xFFFF) & 0xFFFFFFFF
    offset = (data >> 16) | 0x7FFF
    wrap = data >> 31
    return index, (offset & 0x7FFFFFFF) | (wrap & 0x80000000)


class NotifyDataTest(IoTest):
    """One virtio-blk device offering NOTIFICATION_DATA, probed by a transport in the given
    notify_data mode (its events routed to it directly)."""

    notify_data = NOTIFY_DATA_RFC

    async def probe(self, capacity: int = 64, queue_size: int = 8, event_idx: bool = False):
        self.dev = BlkDevice(capacity=capacity, queue_size=queue_size,
                             features=VERSION_1 | BLK_F_FLUSH | NOTIF | (EVENT_IDX if event_idx else 0))
        self.device_bus.add(DEV, self.dev)
        self.memory = self.mem
        self.allocator = BumpAllocator(HEAP, self.MEM_SIZE - HEAP)
        # the kernel transport of the build's header format (the seed's RFC, or the 2026 tree's)
        self.transport = make_transport(self.fmt, self.bus, DEV, self.memory, self.allocator,
                                        notify_data=self.notify_data)

        async def on_event(slot: bytes) -> int:
            return self.transport.event(bytes(slot))

        self.bus.event_handler = on_event
        self.firmware.engine_error_handler = self.on_engine_error
        await self.transport.register()
        self.core = VirtioCore(self.transport, BlkDriver(wait_until=self.wait_until))
        await self.core.register()
        assert self.core.probed, self.core.probe_error
        assert self.core.has_feature(Feature.NOTIFICATION_DATA), "NOTIFICATION_DATA not negotiated"
        return self.core.driver


@pyuvm.test()
class NotifyDataRfcRefusedTest(NotifyDataTest):
    """Byte-exact mode: the kick of the first request carries the seed's fields (index
    (idx << 16 | 0) | 0xFFFF, offset idx | 0x7FFF, wrap 0); the peripheral refuses it with
    DB_RANGE, the transport's notify reports failure (the request fails EIO), the device sees
    no doorbell and no kick, nothing completes, and the device is left without an error of
    its own."""

    async def body(self):
        drv = await self.probe()
        regs = self.dev_ops.regs
        kicks0 = await self.dev_ops.read("DB_KICKS")
        sent0 = len(self.env.trace.slots("to_device", rejected=True))
        crossed0 = len(self.env.trace.slots("to_device"))
        n_err = len(self.transport.errors)
        try:
            await drv.read(0, 1)
        except VirtioError as exc:
            assert exc.errno == errno.EIO and "notify failed" in str(exc), exc
        else:
            raise AssertionError("a kick with the seed's NOTIFICATION_DATA fields was not refused")
        errors = self.transport.errors[n_err:]
        assert len(errors) == 1 and errors[0].errno == errno.EIO and "DB_RANGE" in str(errors[0]), errors
        del self.transport.errors[n_err:]           # the one error this test expects, checked above
        # The refused EVENT_AVAIL, byte for byte in its fields (the avail idx after one request: 1).
        rejected = [s for s in self.env.trace.slots("to_device", rejected=True)[sent0:]
                    if s[1] == 0x41 and not s[0] & 3]
        avail = [s for s in self.env.trace.slots("to_device")[crossed0:] if s[1] == 0x41]
        assert avail == [], "the refused EVENT_AVAIL crossed the mailbox"
        avail = rejected
        want_index, want_word = rfc_event_avail_fields(1, 0)
        assert len(avail) == 1, f"{len(avail)} EVENT_AVAIL on the wire"
        got = (int.from_bytes(avail[0][6:10], "little"), int.from_bytes(avail[0][10:14], "little"))
        assert got == (want_index, want_word), f"EVENT_AVAIL fields {got[0]:#x}/{got[1]:#x}, the seed sends {want_index:#x}/{want_word:#x}"
        # The device side saw nothing.
        assert await self.dev_ops.read("DB_KICKS") == kicks0, "the refused kick was counted as a doorbell"
        p = DEV * self.params["NUM_VQS"]                # the pending bit of (device 1, queue 0)
        assert await self.dev_ops.read(regs.addr("DB_PENDING") + 4 * (p // 32)) == 0
        assert self.dev.kicks == [] and not self.firmware.kicks, "the device saw a kick"
        assert self.dev.stats["buffers"] == 0 and not self.device_bus.refusals and not self.dev.status & 0x40
        # header, data and status descriptors: the request still sits in the ring, unserved
        assert self.transport.vq(0).num_free == 8 - 3


@pyuvm.test()
class NotifyDataFixedIoTest(NotifyDataTest):
    """NOTIFY_DATA_FIXED: every kick carries index = queue, next offset = avail idx bits 14:0,
    wrap = bit 15; the doorbell data reaches the device, whose next-offset check accepts it;
    blk writes and reads (more than the ring size, so the avail idx passes the queue size)
    complete and read back what was written."""

    notify_data = NOTIFY_DATA_FIXED

    async def body(self):
        capacity = 64
        drv = await self.probe(capacity=capacity, event_idx=random.random() < 0.5)
        shadow = bytearray(capacity * SECTOR)
        for i in range(24):
            count = random.randint(1, 4)
            sector = random.randrange(capacity - count + 1)
            if i % 2 == 0:
                data = random.randbytes(count * SECTOR)
                await drv.write(sector, data)
                shadow[sector * SECTOR:(sector + count) * SECTOR] = data
            else:
                got = await drv.read(sector, count)
                assert got == bytes(shadow[sector * SECTOR:(sector + count) * SECTOR]), f"read {count}@{sector} differs"
        assert not self.transport.errors, self.transport.errors
        assert not self.device_bus.refusals, dict(self.device_bus.refusals)
        assert self.dev.kicks, "no kick reached the device"
        vq = self.transport.vq(0)
        assert vq.avail_idx_shadow > 8, "the avail idx never passed the queue size"
        for k in self.dev.kicks:                 # what the firmware read from DB_DATA
            assert k.vq == 0 and not k.data & 0x7FFF_8000, f"kick data {k.data:#x}"
        last = self.dev.kicks[-1].data
        idx = (last & 0x7FFF) | (last >> 31 & 1) << 15
        behind = (vq.avail_idx_shadow - idx) & 0xFFFF
        assert behind <= vq.num, f"last kick announced idx {idx}, driver at {vq.avail_idx_shadow}"


@pyuvm.test()
class GetDevicesResponderModesTest(TransportTest):
    """GET_DEVICES against each responder mode of the device model: a full answer, short
    windows (at most 8 numbers per answer) and skipped empty windows (next_offset jumps to the
    next present device). Every mode finds exactly the present devices, in order; the request
    offsets follow the spec's rule (aligned, each next_offset >= offset + answered count), and
    the number of requests is what the mode implies for these device numbers."""

    def make_device_bus(self):
        return DeviceBus(self.params["MSG_SIZE"])

    async def body(self):
        numbers = sorted(random.sample(range(16, 1024), 6))
        cocotb.log.info("GetDevicesResponderModesTest: device numbers %s", numbers)
        for n in numbers:
            self.device_bus.add(n, GenericDevice(0x7E, VERSION_1, b"", [4]))
        bd = await self.start_models(get_devices_window=64)
        modes = [("full", None, False), ("short", 8, False), ("skip", None, True), ("short+skip", 8, True)]
        for name, max_n, skip in modes:
            self.device_bus.get_devices_max = max_n
            self.device_bus.get_devices_skip_empty = skip
            t0 = len(self.env.trace.slots("to_device"))
            found = await bd.get_devices()
            assert found == numbers, f"{name}: found {found}"
            reqs = [s for s in self.env.trace.slots("to_device")[t0:] if s[0] == 0x02 and s[1] == 0x02]
            offsets = [int.from_bytes(s[6:8], "little") for s in reqs]
            assert all(o % 8 == 0 for o in offsets) and offsets == sorted(set(offsets)), f"{name}: {offsets}"
            answered = max_n or 64
            expect = expected_requests(numbers, 64, answered, skip)
            assert offsets == expect, f"{name}: offsets {offsets}, expected {expect}"


def expected_requests(present: list[int], window: int, answered: int, skip: bool) -> list[int]:
    """The request offsets a driver following next_offset makes (spec: next_offset 0 when no
    device lies beyond the answered window; a skipping responder jumps to the aligned window of
    the next present device)."""
    offsets, offset = [], 0
    while True:
        offsets.append(offset)
        n = min(window, answered)
        beyond = [d for d in present if d >= offset + n]
        if not beyond:
            return offsets
        offset = min(beyond) // 8 * 8 if skip else offset + n
