"""Real I/O behind the device models: blk RAM disk and rng, completed through a queue backend.

Driver models (BlkDriver / RngDriver) over LoopbackBus, device models over DeviceBus with the
SoftwareQueueBackend (used ring in software, EVENT_USED from its outbox), all in ByteMemory.
Expectations come from the test itself: the disk contents are compared with the device's
storage, rng bytes with random.Random(seed) drawn here, notification counts with
vring_need_event evaluated on a trace taken at each publication.
"""
from __future__ import annotations

import asyncio
import errno
import random
import struct

import pytest

from unit_helpers import Rig, run
from vmsg.models import (PATH_REGS, PATH_STREAM, BlkDevice, BlkDriver, BlkRequest, IoRequest, IoStatusError,
                         NullQueueBackend, RngDevice, RngDriver, RngRequest, SoftwareQueueBackend, VirtioCore,
                         VirtioError, vring_need_event)
from vmsg.models.blk_defs import (SECTOR_SIZE, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP,
                                  VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT)
from vmsg.models.memory import read_u16, write_u16
from vmsg.proto import Message, Status, TransportId
from vmsg.proto.constants import VIRTIO_ID_RNG

DEV = 1
EVENT_AVAIL = TransportId.EVENT_AVAIL
EVENT_USED = TransportId.EVENT_USED


def poll_hook(pump=None, limit: int = 1000):
    """The unit tests' wait hook: poll the predicate, letting `pump` (the device's later work)
    and other tasks run between polls; give up silently (the driver then raises ETIMEDOUT)."""
    async def wait_until(predicate):
        for _ in range(limit):
            if predicate():
                return
            if pump is not None:
                await pump()
            await asyncio.sleep(0)
    return wait_until


class IoRig(Rig):
    """Rig + software backend + one device probed by its driver."""

    def __init__(self, device, driver, msg_size: int = 44, backend=None) -> None:
        super().__init__(msg_size)
        self.backend = backend if backend is not None else SoftwareQueueBackend(self.mem)
        self.dbus.backend = self.backend
        self.dev = device
        self.drv = driver
        self.dbus.add(DEV, device)
        self.core: VirtioCore | None = None

    async def start(self) -> "IoRig":
        t = self.transport(DEV)
        await t.register()
        self.core = VirtioCore(t, self.drv)
        await self.core.register()
        assert self.core.probed, self.core.probe_error
        return self

    @property
    def vq(self):
        return self.drv.vqs[0]

    def count(self, kind: str, msg_id: int) -> int:
        return sum(1 for k, s in self.bus.log if k == kind and s[1] == msg_id)


def blk_rig(capacity=64, queue_size=16, event_idx=True, **kw) -> IoRig:
    return IoRig(BlkDevice(capacity=capacity, queue_size=queue_size, event_idx=event_idx, **kw),
                 BlkDriver(wait_until=poll_hook()))


def sectors(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n * SECTOR_SIZE)


# --- blk: data path ------------------------------------------------------------------------------
@pytest.mark.parametrize("event_idx", [False, True])
def test_write_then_read_back_unchanged_across_segmentations(event_idx):
    r = random.Random(7)
    rig = blk_rig(event_idx=event_idx)

    async def go():
        await rig.start()
        image = bytearray(rig.dev.storage)
        for sector, count, wseg, rseg in [(0, 1, 1, 1), (3, 4, 3, 2), (10, 7, 7, 5), (63, 1, 2, 4), (20, 2, 9, 1)]:
            data = sectors(r, count)
            await rig.drv.write(sector, data, segments=wseg)
            image[sector * SECTOR_SIZE:(sector + count) * SECTOR_SIZE] = data
            assert await rig.drv.read(sector, count, segments=rseg) == data
        # the whole disk, read in one request split over 6 descriptors, is the expected image
        assert await rig.drv.read(0, 64, segments=6) == bytes(image)
        assert rig.dev.storage == image

    run(go())
    assert rig.dev.stats["out"] == 5 and rig.dev.stats["in"] == 6 and rig.dev.stats["malformed"] == 0
    assert rig.dev.stats["write_sectors"] == 15 and rig.dev.stats["read_sectors"] == 15 + 64


def test_used_length_counts_bytes_the_device_wrote():
    rig = blk_rig()

    async def go():
        await rig.start()
        reqs = [BlkRequest.write(0, bytes(range(256)) * 4), BlkRequest.read(0, 2, segments=3),
                BlkRequest.flush(), BlkRequest.get_id(), BlkRequest.read(1000, 1)]
        await rig.drv.submit(reqs, check=False)
        return reqs

    w, rd, fl, gid, bad = run(go())
    assert [q.used_len for q in (w, rd, fl, gid, bad)] == [1, 2 * SECTOR_SIZE + 1, 1, 21, 1]
    assert [q.status for q in (w, rd, fl, gid, bad)] == [0, 0, 0, 0, VIRTIO_BLK_S_IOERR]
    assert rd.result == bytes(range(256)) * 4


def test_flush_and_get_id():
    rig = IoRig(BlkDevice(capacity=8, queue_size=8, serial=b"disk-0001"), BlkDriver(wait_until=poll_hook()))
    long_rig = IoRig(BlkDevice(capacity=8, queue_size=8, serial=b"0123456789abcdefghijKLMN"),
                     BlkDriver(wait_until=poll_hook()))

    async def go():
        await rig.start()
        await rig.drv.flush()
        ident = await rig.drv.get_id()
        await long_rig.start()
        return ident, await long_rig.drv.get_id()

    ident, long_ident = run(go())
    assert ident == b"disk-0001" + bytes(11)
    assert long_ident == b"0123456789abcdefghij"          # cut to 20 bytes, no terminator
    assert rig.dev.stats["flush"] == 1 and rig.dev.stats["get_id"] == 1


def test_get_id_into_a_short_buffer_is_cut_to_it():
    rig = blk_rig(serial=b"ABCDEFGHIJ")

    async def go():
        await rig.start()
        req = BlkRequest(type=VIRTIO_BLK_T_GET_ID, in_len=8)
        await rig.drv.submit([req])
        return req

    req = run(go())
    assert req.result == b"ABCDEFGH" and req.used_len == 9


@pytest.mark.parametrize("make", [
    lambda cap: BlkRequest.read(cap, 1),                 # starts at the end
    lambda cap: BlkRequest.read(cap - 1, 2),             # runs past the end
    lambda cap: BlkRequest.write(cap - 2, bytes(3 * SECTOR_SIZE)),
    lambda cap: BlkRequest.write(0, bytes(SECTOR_SIZE + 3)),  # not whole sectors
    lambda cap: BlkRequest.read(1 << 63, 1),             # sector arithmetic must not wrap
])
def test_out_of_range_is_ioerr_and_changes_nothing(make):
    rig = blk_rig(capacity=32)
    rig.dev.storage[:] = random.Random(3).randbytes(len(rig.dev.storage))
    before = bytes(rig.dev.storage)

    async def go():
        await rig.start()
        req = make(32)
        with pytest.raises(IoStatusError) as info:
            await rig.drv.submit([req])
        return req, info.value

    req, err = run(go())
    assert err.errno == errno.EIO and err.status == VIRTIO_BLK_S_IOERR and isinstance(err, VirtioError)
    assert req.used_len == 1 and rig.dev.stats["ioerr"] == 1
    assert bytes(rig.dev.storage) == before


def test_read_of_zero_sectors_at_the_end_is_ok():
    rig = blk_rig(capacity=32)

    async def go():
        await rig.start()
        req = BlkRequest(type=VIRTIO_BLK_T_IN, sector=32)
        await rig.drv.submit([req])
        return req

    assert run(go()).status == VIRTIO_BLK_S_OK


@pytest.mark.parametrize("req_type", [2, 11, 13, 0x80000000])
def test_unsupported_type_is_unsupp(req_type):
    rig = blk_rig()

    async def go():
        await rig.start()
        with pytest.raises(IoStatusError) as info:
            await rig.drv.submit([BlkRequest(type=req_type, sector=0, out_data=bytes(SECTOR_SIZE))])
        return info.value

    err = run(go())
    assert err.status == VIRTIO_BLK_S_UNSUPP and err.errno == errno.EIO
    assert rig.dev.stats["unsupp"] == 1 and rig.dev.storage == bytes(len(rig.dev.storage))


# --- blk: chains built by hand --------------------------------------------------------------------
class RawRequest(IoRequest):
    """A chain laid out by the test: (bytes, device_writes) pieces, each its own descriptor."""

    def __init__(self, pieces):
        super().__init__()
        self.pieces = pieces
        self.addrs: list[int] = []

    def build(self, mem, alloc):
        out, inb = [], []
        for data, writes in self.pieces:
            addr = self._alloc(alloc, max(len(data), 1), 8)
            mem.write(addr, data)
            self.addrs.append(addr)
            (inb if writes else out).append((addr, len(data)))
        return out, inb

    def finish(self, mem, used_len):
        self.used_len = used_len
        self.contents = [mem.read(a, len(d)) for a, (d, _) in zip(self.addrs, self.pieces)]
        self.done = True


def test_header_split_over_descriptors_and_status_sharing_the_last_data_descriptor():
    rig = blk_rig()
    data = random.Random(5).randbytes(2 * SECTOR_SIZE)
    hdr = struct.pack("<IIQ", VIRTIO_BLK_T_OUT, 0, 5)
    rd_hdr = struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 5)

    async def go():
        await rig.start()
        write = RawRequest([(hdr[:10], False), (hdr[10:] + data[:100], False), (data[100:], False),
                            (b"\xee", True)])
        # read: data in 3 descriptors, the last one holding the final data bytes and the status
        read = RawRequest([(rd_hdr, False), (b"\xaa" * 300, True), (b"\xaa" * 500, True),
                           (b"\xaa" * (2 * SECTOR_SIZE - 800 + 1), True)])
        await rig.drv.submit([write, read])
        return write, read

    write, read = run(go())
    assert write.used_len == 1 and write.contents[3] == b"\x00"
    assert rig.dev.storage[5 * SECTOR_SIZE:7 * SECTOR_SIZE] == data
    assert read.used_len == 2 * SECTOR_SIZE + 1
    assert b"".join(read.contents[1:])[:-1] == data and read.contents[3][-1] == VIRTIO_BLK_S_OK


@pytest.mark.parametrize("pieces,reason", [
    ([(struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0), False)], "no_status"),
    ([(struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0), False), (b"", True)], "no_status"),
    ([(b"\x00" * 10, False), (b"\xee", True)], "short_header"),
])
def test_malformed_chain_completes_with_length_zero_and_no_status(pieces, reason):
    rig = blk_rig()

    async def go():
        await rig.start()
        bad = RawRequest(pieces)
        await rig.drv.submit([bad])
        ok = await rig.drv.read(0, 1)                     # the queue keeps working
        return bad, ok

    bad, ok = run(go())
    assert bad.used_len == 0 and ok == bytes(SECTOR_SIZE)
    assert all(c == d for c, (d, _) in zip(bad.contents, pieces))   # nothing written
    assert rig.dev.stats["malformed"] == 1 and rig.dev.stats["malformed_" + reason] == 1


def test_readable_descriptor_after_a_writable_one_is_malformed():
    """add_buf always puts readable first: the test flips the flags in ring memory (what the
    device reads) after adding, so the chain reads writable, readable, writable."""
    rig = blk_rig()

    async def go():
        await rig.start()
        req = RawRequest([(struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0), False), (b"\xee" * 512, True),
                          (b"\xee", True)])
        out, inb = req.build(rig.mem, rig.alloc)
        await rig.vq.add_buf(out, inb, req)
        first = rig.vq.layout.desc_entry(0)
        second = rig.vq.layout.desc_entry(1)
        write_u16(rig.mem, first + 12, read_u16(rig.mem, first + 12) | 2)       # header: device-writable
        write_u16(rig.mem, second + 12, read_u16(rig.mem, second + 12) & ~2)    # data: readable
        assert await rig.vq.kick()
        return req

    req = run(go())
    assert req.done and req.used_len == 0
    assert req.contents[1] == b"\xee" * 512 and req.contents[2] == b"\xee"
    assert rig.dev.stats["malformed_order"] == 1 and rig.dev.stats["in"] == 0


def test_driver_reports_a_missing_status_as_eio():
    rig = blk_rig()

    async def go():
        await rig.start()
        req = BlkRequest.read(0, 1)
        # the device serves it, then the test makes it look as if the status was never written
        orig = rig.dev.process_chain
        rig.dev.process_chain = lambda mem, vq, chain: (orig(mem, vq, chain), mem.write(
            chain.descriptors[-1].addr, b"\xff"))[0]
        with pytest.raises(IoStatusError) as info:
            await rig.drv.submit([req])
        return info.value

    assert run(go()).status is None


# --- many in flight, ring wrap, kicks ------------------------------------------------------------
@pytest.mark.parametrize("event_idx", [False, True])
def test_many_requests_in_flight_with_one_kick(event_idx):
    r = random.Random(11)
    rig = blk_rig(queue_size=64, event_idx=event_idx)
    blocks = [sectors(r, 1 + i % 3) for i in range(10)]

    async def go():
        await rig.start()
        kicks0, events0, pubs0 = rig.count("req", EVENT_AVAIL), rig.count("event", EVENT_USED), rig.backend.publishes
        writes = [BlkRequest.write(4 * i, b, segments=2) for i, b in enumerate(blocks)]   # 4 descriptors each
        await rig.drv.submit(writes)
        counts = (rig.count("req", EVENT_AVAIL) - kicks0, rig.count("event", EVENT_USED) - events0,
                  rig.backend.publishes - pubs0)
        reads = [BlkRequest.read(4 * i, len(b) // SECTOR_SIZE) for i, b in enumerate(blocks)]
        await rig.drv.submit(reads)
        return counts, [q.result for q in reads]

    (kicks, events, pubs), got = run(go())
    assert kicks == 1 and events == 1 and pubs == 1       # one doorbell, one publication, one event
    assert len(rig.dev.kicks) == 2 and rig.dev.stats["buffers"] == 20
    assert got == blocks


@pytest.mark.parametrize("event_idx", [False, True])
def test_more_requests_than_the_ring_holds(event_idx):
    """Queue of 8: a 3-descriptor write fits twice; 50 requests go round the ring many times,
    through the ENOSPC path (kick, wait for room, retry)."""
    r = random.Random(13)
    rig = blk_rig(capacity=128, queue_size=8, event_idx=event_idx)
    blocks = {2 * i: sectors(r, 2) for i in range(50)}

    async def go():
        await rig.start()
        await rig.drv.submit([BlkRequest.write(s, b) for s, b in blocks.items()])
        reads = [BlkRequest.read(s, 2, segments=4) for s in blocks]   # 6 descriptors: one at a time
        await rig.drv.submit(reads)
        return [q.result for q in reads]

    assert run(go()) == list(blocks.values())
    assert rig.vq.last_used_idx == rig.backend.queue(DEV, 0).used_idx == 100
    assert rig.dev.rings[0].last_avail_idx == 100 and rig.vq.num_free == 8
    assert rig.count("req", EVENT_AVAIL) >= 50            # at least one kick per ring's worth


def test_rng_indices_wrap_past_16_bits():
    rig = IoRig(RngDevice(queue_size=8, event_idx=True, seed=99), RngDriver(wait_until=poll_hook()), msg_size=64)
    batches, per = 8200, 8                                # 65600 buffers: the u16 indices wrap once

    async def go():
        await rig.start()
        stream = bytearray()
        for _ in range(batches):
            stream += b"".join(await rig.drv.read_many([1] * per))
        return bytes(stream)

    stream = run(go())
    expect = random.Random(99)
    assert stream == bytes(expect.getrandbits(8) for _ in range(batches * per))
    total = batches * per
    assert rig.vq.last_used_idx == total & 0xFFFF == read_u16(rig.mem, rig.vq.used_addr + 2)
    assert rig.dev.rings[0].last_avail_idx == total & 0xFFFF
    assert rig.count("req", EVENT_AVAIL) == batches and rig.count("event", EVENT_USED) == batches
    assert rig.backend.queue(DEV, 0).notifications == batches and rig.drv.completed == total


# --- notifications -------------------------------------------------------------------------------
class TracingBackend(SoftwareQueueBackend):
    """Records, per publication, what vring_need_event needs: used_event (or avail flags),
    old and new index."""

    def __init__(self, mem):
        super().__init__(mem)
        self.trace: list[tuple[int, int, int, int]] = []

    async def complete_many(self, dev, vq, completions, path=PATH_STREAM):
        q = self.queues[(dev, vq)]
        old = q.signalled_idx
        await super().complete_many(dev, vq, completions, path)
        self.trace.append((q.used_event(), q.avail_flags(), old, q.published_idx))


@pytest.mark.parametrize("event_idx", [False, True])
@pytest.mark.parametrize("batch", [False, True])
def test_notification_count_matches_vring_need_event(event_idx, batch):
    rig = IoRig(BlkDevice(capacity=64, queue_size=16, event_idx=event_idx), BlkDriver(wait_until=poll_hook()))
    rig.backend = rig.dbus.backend = TracingBackend(rig.mem)
    rig.dev.batch_completions = batch
    sizes = [1, 4, 2, 5, 1, 3, 4]                         # requests per kick

    async def go():
        await rig.start()
        for n in sizes:
            await rig.drv.submit([BlkRequest.read(i, 1) for i in range(n)])

    run(go())
    trace = rig.backend.trace
    assert len(trace) == (len(sizes) if batch else sum(sizes))
    if event_idx:
        expected = sum(vring_need_event(ue, new, old) for ue, _, old, new in trace)
    else:
        expected = sum(new != old and not flags & 1 for _, flags, old, new in trace)
    events = rig.count("event", EVENT_USED)
    assert events == expected == rig.backend.queue(DEV, 0).notifications
    # Linux behaviour on top: with EVENT_IDX (used_event = last reaped) one event per kick; without
    # it every publication interrupts, and the ones after the first of a kick find nothing (IRQ_NONE)
    if event_idx or batch:
        assert events == len(sizes)
    else:
        assert events == sum(sizes)
        assert rig.bus.event_results.count(-errno.EIO) == sum(sizes) - len(sizes)


def test_no_interrupt_flag_suppresses_events_and_polling_still_completes():
    """Without EVENT_IDX: a driver with callbacks off (VRING_AVAIL_F_NO_INTERRUPT) gets no
    EVENT_USED; the wait hook polls the used ring itself."""
    rig = blk_rig(event_idx=False)

    async def reap():
        rig.drv.vq_done(rig.vq)          # the driver polls instead of taking an interrupt
        rig.vq.disable_cb()

    rig.drv.wait_until = poll_hook(pump=reap)

    async def go():
        await rig.start()
        rig.vq.disable_cb()
        before = rig.count("event", EVENT_USED)
        data = await rig.drv.read(0, 2)
        return before, data

    before, data = run(go())
    assert data == bytes(2 * SECTOR_SIZE)
    assert rig.count("event", EVENT_USED) == before and rig.backend.queue(DEV, 0).notifications == 0


def test_kick_suppression_of_the_device_is_respected():
    """Without EVENT_IDX the device sets VRING_USED_F_NO_NOTIFY: the driver must not send
    EVENT_AVAIL (virtqueue_kick); the device finds the buffer when it polls."""
    rig = blk_rig(event_idx=False)
    polls = []

    async def device_polls():
        polls.append(1)
        for msg in await rig.dbus.kick(DEV, 0, 0):          # the device looks at its ring anyway
            await rig.bus.send_to_driver(msg)

    rig.drv.wait_until = poll_hook(pump=device_polls)

    async def go():
        await rig.start()
        rig.dev.rings[0].suppress_kicks(True)
        kicks0 = rig.count("req", EVENT_AVAIL)
        await rig.drv.write(1, b"\x5a" * SECTOR_SIZE)
        return rig.count("req", EVENT_AVAIL) - kicks0

    assert run(go()) == 0
    assert polls and rig.dev.storage[SECTOR_SIZE:2 * SECTOR_SIZE] == b"\x5a" * SECTOR_SIZE


def test_event_idx_device_asks_for_the_next_kick():
    rig = blk_rig(event_idx=True)

    async def go():
        await rig.start()
        for i in range(3):
            await rig.drv.submit([BlkRequest.read(i, 1), BlkRequest.flush()])

    run(go())
    avail_event = read_u16(rig.mem, rig.vq.layout.avail_event)
    assert avail_event == rig.dev.rings[0].last_avail_idx == 6
    assert rig.count("req", EVENT_AVAIL) == 3             # each batch crossed avail_event


# --- rng -----------------------------------------------------------------------------------------
def test_rng_bytes_follow_the_seeded_stream_across_buffers_and_segments():
    rig = IoRig(RngDevice(queue_size=8, seed=1234), RngDriver(wait_until=poll_hook()))

    async def go():
        await rig.start()
        a = await rig.drv.read(16)
        b = await rig.drv.read_many([5, 300, 1, 64])
        seg = RngRequest(in_len=40, in_segments=3)
        await rig.drv.submit([seg])
        return a + b"".join(b) + seg.result, seg

    got, seg = run(go())
    r = random.Random(1234)
    assert got == bytes(r.getrandbits(8) for _ in range(16 + 5 + 300 + 1 + 64 + 40))
    assert seg.used_len == 40 and rig.dev.produced == len(got)


def test_two_rng_devices_have_their_own_streams_via_the_bus_driver():
    rig = Rig(44)
    rig.dbus.backend = SoftwareQueueBackend(rig.mem)
    rig.dbus.add(1, RngDevice(seed=1))
    rig.dbus.add(2, RngDevice(seed=2))
    hook = poll_hook()

    async def go():
        bd = rig.bus_driver(drivers={VIRTIO_ID_RNG: lambda: RngDriver(wait_until=hook)})
        assert await bd.scan() == [1, 2]
        return [await bd.devices[n].driver.read(32) for n in (1, 2)]

    one, two = run(go())
    for seed, got in [(1, one), (2, two)]:
        r = random.Random(seed)
        assert got == bytes(r.getrandbits(8) for _ in range(32))


# --- backends and completion paths ---------------------------------------------------------------
class StreamOnlyBackend(NullQueueBackend):
    """A backend with only the protocol's complete (no batching form)."""
    complete_many = None


@pytest.mark.parametrize("backend_cls,batch,calls", [
    (NullQueueBackend, True, ["complete_many"]),
    (NullQueueBackend, False, ["complete"] * 3),
    (StreamOnlyBackend, True, ["complete"] * 3),
])
def test_completions_carry_the_device_path_to_the_backend(backend_cls, batch, calls):
    """With a backend that completes nothing the driver times out; the backend saw the heads
    and lengths in ring order, with the device type's path."""
    for device, path, n in [(BlkDevice(queue_size=16), PATH_STREAM, 1 + 512), (RngDevice(queue_size=8), PATH_REGS, 7)]:
        device.batch_completions = batch
        backend = backend_cls()
        rig = IoRig(device, BlkDriver(wait_until=poll_hook(limit=3)) if path == PATH_STREAM
                    else RngDriver(wait_until=poll_hook(limit=3)), backend=backend)

        async def go():
            await rig.start()
            reqs = ([BlkRequest.read(i, 1) for i in range(3)] if path == PATH_STREAM
                    else [RngRequest(in_len=7) for _ in range(3)])
            with pytest.raises(VirtioError) as info:
                await rig.drv.submit(reqs)
            return info.value

        err = run(go())
        assert err.errno == errno.ETIMEDOUT
        got = [c for c in backend.calls if c[0].startswith("complete")]
        assert [c[0] for c in got] == calls
        heads = [c[3] for c in got] if got[0][0] == "complete" else [h for h, _ in got[0][3]]
        lengths = [c[4] for c in got] if got[0][0] == "complete" else [ln for _, ln in got[0][3]]
        assert {c[-1] for c in got} == {path} and lengths == [n] * 3
        assert heads == [read_u16(rig.mem, rig.vq.layout.avail_ring(i)) for i in range(3)]
        assert all(rig.vq.desc_state[h] is not None for h in heads)   # still outstanding: nothing used


def test_deferred_completions_arrive_through_the_wait_hook():
    """Like the engine: complete() only hands the completion over; it becomes visible later.
    The wait hook advances the 'hardware' and delivers the EVENT_USED it decides."""
    class Deferred(SoftwareQueueBackend):
        def __init__(self, mem):
            super().__init__(mem)
            self.queued = []

        async def complete(self, dev, vq, head, length, path=PATH_STREAM):
            self.queued.append((dev, vq, head, length))

        complete_many = None

    rig = blk_rig()
    backend = Deferred(rig.mem)
    rig.backend = rig.dbus.backend = backend
    seen_undone = []

    async def advance():
        if backend.queued:
            dev, vq, head, length = backend.queued.pop(0)
            await SoftwareQueueBackend.complete_many(backend, dev, vq, [(head, length)])
            for msg in rig.dbus.take_events():
                await rig.bus.send_to_driver(msg)

    async def hook(predicate):
        seen_undone.append(predicate())
        await poll_hook(pump=advance)(predicate)

    rig.drv.wait_until = hook
    data = random.Random(2).randbytes(3 * SECTOR_SIZE)

    async def go():
        await rig.start()
        await rig.drv.submit([BlkRequest.write(0, data[:SECTOR_SIZE]), BlkRequest.write(1, data[SECTOR_SIZE:])])
        return await rig.drv.read(0, 3)

    assert run(go()) == data
    assert seen_undone and not any(seen_undone)          # the hook really had to wait
    assert rig.bus.event_results and all(r == 0 for r in rig.bus.event_results[-3:])


def test_wait_without_hook_times_out():
    rig = IoRig(BlkDevice(queue_size=8), BlkDriver(), backend=NullQueueBackend())

    async def go():
        await rig.start()
        with pytest.raises(VirtioError) as info:
            await rig.drv.read(0, 1)
        return info.value

    assert run(go()).errno == errno.ETIMEDOUT


def test_raw_callback_disables_the_io_helpers():
    rig = IoRig(BlkDevice(queue_size=8), BlkDriver(callback=lambda vq: None, ))

    async def go():
        await rig.start()
        with pytest.raises(VirtioError) as info:
            await rig.drv.read(0, 1)
        return info.value

    assert run(go()).errno == errno.EINVAL


# --- resets and broken rings ---------------------------------------------------------------------
def test_device_reset_drops_the_queues_and_io_resumes_after_reprobe():
    rig = blk_rig()
    data = random.Random(9).randbytes(SECTOR_SIZE)

    async def go():
        await rig.start()
        assert set(rig.dev.rings) == {0} and (DEV, 0) in rig.backend.queues
        await rig.drv.write(7, data)
        ring_before = rig.dev.rings[0]
        await rig.core.remove()                           # reset + RESET_VQUEUE
        dropped = (dict(rig.dev.rings), dict(rig.backend.queues))
        assert await rig.dbus.kick(DEV, 0, 0) == []       # after remove: ACKNOWLEDGE only, no driver
        await rig.core.register()                         # probe again: new ring
        assert rig.dev.rings[0] is not ring_before and rig.dev.rings[0].last_avail_idx == 0
        return dropped, await rig.drv.read(7, 1)

    (rings, queues), got = run(go())
    assert rings == {} and queues == {}
    assert rig.dbus.drops["kick_without_driver"] == 1
    assert got == data                                    # the disk survives a reset
    assert ("device_reset", DEV) in rig.backend.calls and ("reset_queue", DEV, 0) in rig.backend.calls


def test_reset_vqueue_alone_drops_the_ring():
    rig = blk_rig()

    async def go():
        await rig.start()
        await rig.core.transport._vq_reset(rig.vq)
        return dict(rig.dev.rings)

    assert run(go()) == {} and (DEV, 0) not in rig.backend.queues


def test_reset_discards_undelivered_events():
    rig = blk_rig()

    async def go():
        await rig.start()
        await rig.backend.complete(DEV, 0, 0, 1)          # a completion whose event is not sent yet
        pending = list(rig.backend.events)
        await rig.core.transport.reset()
        return pending

    assert run(go()) == [(DEV, 0)] and rig.dbus.take_events() == []


def test_driver_remove_aborts_requests_in_flight():
    rig = IoRig(BlkDevice(queue_size=8), BlkDriver(), backend=NullQueueBackend())

    async def remove_instead_of_waiting(predicate):
        await rig.core.remove()

    rig.drv.wait_until = remove_instead_of_waiting

    async def go():
        await rig.start()
        req = BlkRequest.read(0, 1)
        with pytest.raises(VirtioError) as info:
            await rig.drv.submit([req])
        return req, info.value

    req, err = run(go())
    assert req.aborted and err.errno == errno.EIO and not isinstance(err, IoStatusError)
    assert rig.drv.inflight == [] and not rig.alloc.live.keys() & set(req._allocs)


def test_bad_avail_head_sets_needs_reset_and_stops_io():
    rig = blk_rig(event_idx=False)
    configs = []

    async def go():
        await rig.start()
        rig.core.transport.config_changed = lambda: configs.append(1)
        ring = rig.vq.layout
        write_u16(rig.mem, ring.avail_ring(0), 200)       # head beyond the queue size
        write_u16(rig.mem, ring.avail_idx, 1)
        msgs = await rig.dbus.kick(DEV, 0, 0)
        again = await rig.dbus.kick(DEV, 0, 0)
        return msgs, again

    msgs, again = run(go())
    assert len(msgs) == 1 and Message.decode(msgs[0]).msg_id == TransportId.EVENT_CONFIG
    assert Message.decode(msgs[0]).payload.status & Status.DEVICE_NEEDS_RESET
    assert again == [] and rig.dev.stats["bad_ring"] == 1 and rig.dev.stats["kick_needs_reset"] == 1
    assert rig.dev.ring_errors and "200" in rig.dev.ring_errors[0]


def test_buffer_outside_memory_completes_with_length_zero():
    rig = blk_rig()

    class Wild(IoRequest):
        def build(self, mem, alloc):
            hdr = self._alloc(alloc, 16, 8)
            mem.write(hdr, struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0))
            return [(hdr, 16)], [(0x10, 512), (hdr, 1)]   # data at an address no memory backs

        def finish(self, mem, used_len):
            self.used_len, self.done = used_len, True

    async def go():
        await rig.start()
        req = Wild()
        await rig.drv.submit([req])
        return req

    assert run(go()).used_len == 0 and rig.dev.stats["dma_error"] == 1
