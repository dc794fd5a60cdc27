"""The ctypes wrapper of Linux's virtio_ring.c (tb/vmsg/linux/ring.py) against a pure-Python
device side that reads and writes the split ring in the same plain buffer. The library is
built from the kernel source package by the flow (`make setup` installs it, `make unit` /
`make test` build it); this test builds it too when it is missing, and never skips."""
from __future__ import annotations

import random
import struct

import pytest

from vmsg.linux.ring import (DMA_FROM_DEVICE, ENOSPC, DmaDomain, LinuxRing, LinuxVdev, LinuxVirtqueue,
                             plain_buffer)
from vmsg.proto.constants import Feature

NEXT, WRITE, INDIRECT = 1, 2, 4
MEM = 1 << 24
COHERENT = (0x10_0000, 0x80_0000)
BOUNCE = (0x80_0000, 0x90_0000)
HEAP = 0x90_0000
F = lambda *bits: sum(1 << b for b in bits)  # noqa: E731
BASE_FEATURES = F(Feature.VERSION_1, Feature.ACCESS_PLATFORM)


def need_event(event: int, new: int, old: int) -> bool:
    return ((new - event - 1) & 0xFFFF) < ((new - old) & 0xFFFF)


class PyDevice:
    """Device side of one split ring, written from the virtio spec (2.7): it takes every
    available chain (indirect tables included), writes a pattern into the writable buffers,
    publishes used elements and decides notifications (EVENT_IDX or NO_INTERRUPT)."""

    def __init__(self, buf: bytearray, vq: LinuxVirtqueue, event_idx: bool) -> None:
        self.buf, self.num, self.event_idx = buf, vq.num, event_idx
        self.desc, self.avail, self.used = vq.desc_addr, vq.avail_addr, vq.used_addr
        self.last_avail = 0
        self.used_idx = 0
        self.last_decision = 0
        self.read_data: list[bytes] = []

    def u16(self, a: int) -> int:
        return struct.unpack_from("<H", self.buf, a)[0]

    def _chain(self, table: int, i: int, limit: int):
        seen = 0
        while True:
            addr, ln, flags, nxt = struct.unpack_from("<QIHH", self.buf, table + 16 * i)
            yield addr, ln, flags
            seen += 1
            assert seen <= limit, "descriptor loop"
            if not flags & NEXT:
                return
            i = nxt

    def step(self, limit: int | None = None) -> int:
        """Complete up to `limit` available chains; returns how many."""
        done = 0
        while self.last_avail != self.u16(self.avail + 2) and (limit is None or done < limit):
            head = self.u16(self.avail + 4 + 2 * (self.last_avail % self.num))
            assert head < self.num, f"avail ring names descriptor {head} of {self.num}"
            out, written = b"", 0
            for addr, ln, flags in self._chain(self.desc, head, self.num):
                if flags & INDIRECT:
                    assert BOUNCE[0] <= addr < BOUNCE[1], "indirect table outside the bounce area"
                    descs = list(self._chain(addr, 0, ln // 16))
                else:
                    descs = [(addr, ln, flags)]
                for a, n, fl in descs:
                    assert 0 < a and a + n <= len(self.buf), f"buffer {a:#x}+{n} is not a bus address"
                    if fl & WRITE:
                        self.buf[a:a + n] = bytes((head + k) & 0xFF for k in range(n))
                        written += n
                    else:
                        out += bytes(self.buf[a:a + n])
            self.read_data.append(out)
            struct.pack_into("<II", self.buf, self.used + 4 + 8 * (self.used_idx % self.num), head, written)
            self.used_idx = (self.used_idx + 1) & 0xFFFF
            self.last_avail = (self.last_avail + 1) & 0xFFFF
            done += 1
        struct.pack_into("<H", self.buf, self.used + 2, self.used_idx)
        if self.event_idx:  # avail_event: kick me when you pass what I have seen
            struct.pack_into("<H", self.buf, self.used + 4 + 8 * self.num, self.last_avail)
        return done

    def must_notify(self) -> bool:
        new, old = self.used_idx, self.last_decision
        self.last_decision = new
        if self.event_idx:
            return need_event(self.u16(self.avail + 4 + 2 * self.num), new, old)
        return not self.u16(self.avail) & 1


class Rig:
    def __init__(self, num: int, features: int = BASE_FEATURES, callback=None) -> None:
        self.ring = LinuxRing.get()
        self.buf = plain_buffer(MEM)
        self.dma = DmaDomain(self.ring, self.buf, COHERENT, BOUNCE)
        self.vdev = LinuxVdev(self.ring, self.dma)
        self.vdev.transport_features(features)
        self.kicks = 0
        self.got: list[tuple[int, int]] = []
        self.vq = LinuxVirtqueue(self.vdev, 0, num, name="test", notify=self._notify,
                                 callback=callback or self._done)
        self.dev = PyDevice(self.buf, self.vq, bool(features >> Feature.RING_EVENT_IDX & 1))
        self.heap = HEAP

    def _notify(self, vq) -> bool:
        self.kicks += 1
        return True

    def _done(self, vq) -> None:
        # virtio_blk's virtblk_done loop
        while True:
            vq.disable_cb()
            while (b := vq.get_buf()) is not None:
                self.got.append(b)
            if vq.enable_cb():
                return

    def alloc(self, n: int) -> int:
        bus = self.heap
        self.heap += (n + 63) // 64 * 64
        return bus

    def add(self, token: int, out: list[bytes], in_lens: list[int]) -> int:
        outs = []
        for data in out:
            bus = self.alloc(len(data))
            self.buf[bus:bus + len(data)] = data
            outs.append([(self.dma.cpu(bus), len(data))])
        ins = [[(self.dma.cpu(self.alloc(n)), n)] for n in in_lens]
        return self.vq.add_sgs(outs, ins, token)

    def service(self) -> bool:
        """The device completes what is available; a required notification runs
        vring_interrupt. Returns whether it did."""
        self.dev.step()
        if self.dev.must_notify():
            assert self.vq.interrupt(), "vring_interrupt found nothing after a completion"
            return True
        return False

    def close(self) -> None:
        self.vq.delete()
        self.vdev.close()
        assert not self.dma.coherent.used, "the ring's coherent memory was not freed"
        assert self.dma.outstanding() == 0 and not self.dma.errors, self.dma.errors
        self.dma.close()


def test_library_is_linux_and_negotiates_like_linux():
    from vmsgsim import linux

    info = linux.info()
    assert info["version"].startswith("6.12."), info
    rig = Rig(8, BASE_FEATURES | F(Feature.ORDER_PLATFORM, Feature.RING_EVENT_IDX, Feature.RING_RESET, 50))
    # vring_transport_features keeps the ring's transport bits, clears the transport bits it
    # does not know (RING_RESET in 6.12) and leaves device bits (50) alone.
    assert rig.vdev.features == BASE_FEATURES | F(Feature.ORDER_PLATFORM, Feature.RING_EVENT_IDX, 50)
    rig.close()


@pytest.mark.parametrize("num", [1, 2, 256, 32768])
@pytest.mark.parametrize("event_idx", [False, True])
def test_ring_sizes_round_trip(num, event_idx):
    features = BASE_FEATURES | (F(Feature.RING_EVENT_IDX) if event_idx else 0)
    rig = Rig(num, features)
    vq = rig.vq
    assert vq.num == num and vq.desc_addr % 4096 == 0 and COHERENT[0] <= vq.desc_addr < COHERENT[1]
    assert vq.avail_addr == vq.desc_addr + 16 * num and vq.used_addr % 4096 == 0
    rng = random.Random(num)
    pending = {}
    token = 1
    for _ in range(min(3 * num, 600)):
        # a chain longer than the ring is a driver bug (WARN): one buffer on a ring of 1
        out = [rng.randbytes(rng.randint(1, 64))] if num > 1 else []
        in_lens = [rng.randint(1, 32)]
        ret = rig.add(token, out, in_lens)
        if ret == -ENOSPC:
            assert vq.num_free < len(out) + 1
            assert vq.kick()
            rig.service()
            continue
        assert ret == 0
        pending[token] = (out[0] if out else b"", in_lens[0])
        token += 1
        if rng.random() < 0.3:
            assert vq.kick()
            rig.service()
    assert vq.kick()
    while rig.dev.last_avail != rig.dev.u16(vq.avail_addr + 2) or len(rig.got) < len(pending):
        if not rig.service():
            vq.interrupt()  # the driver would poll; IRQ_NONE is fine here
    assert sorted(t for t, _ in rig.got) == sorted(pending), "a completed buffer was lost or duplicated"
    assert all(n == pending[t][1] for t, n in rig.got), "used length differs from what the device wrote"
    assert rig.dev.read_data == [pending[t][0] for t in sorted(pending)], "the device read other bytes"
    assert vq.num_free == num and rig.kicks >= 1
    rig.close()


def test_idx_wrap_past_65535():
    rig = Rig(4, BASE_FEATURES | F(Feature.RING_EVENT_IDX))
    vq = rig.vq
    total = 0
    buf_bus = rig.alloc(64)
    while total < 65536 + 300:
        for k in range(4):
            assert vq.add_sgs([], [[(rig.dma.cpu(buf_bus + 16 * k), 16)]], total + k + 1) == 0
        vq.kick()
        rig.dev.step()
        if rig.dev.must_notify():
            vq.interrupt()
        total += 4
        while vq.num_free < 4:  # poll what the callback did not take
            assert (b := vq.get_buf()) is not None
            rig.got.append(b)
    assert [t for t, _ in rig.got] == list(range(1, total + 1))
    assert rig.dev.used_idx == total & 0xFFFF and rig.dev.u16(vq.used_addr + 2) == total & 0xFFFF
    rig.close()


def test_event_idx_delayed_callbacks():
    """virtqueue_enable_cb_delayed sets used_event about 3/4 into the outstanding buffers: the
    device's notifications follow vring_need_event, and none is lost."""
    got = []

    def done(vq):
        vq.disable_cb()
        while (b := vq.get_buf()) is not None:
            got.append(b)

    rig = Rig(64, BASE_FEATURES | F(Feature.RING_EVENT_IDX), callback=done)
    vq = rig.vq
    for t in range(1, 41):
        assert rig.add(t, [], [8]) == 0
    vq.kick()
    vq.disable_cb()
    assert vq.enable_cb_delayed()  # nothing used yet: callbacks armed (false would mean: poll)
    used_event = rig.dev.u16(vq.avail_addr + 4 + 2 * 64)
    assert used_event == (40 * 3 // 4) & 0xFFFF, used_event
    notes = 0
    for _ in range(40):
        rig.dev.step(limit=1)
        if rig.dev.must_notify():
            notes += 1
            assert vq.interrupt()
    assert notes == 1 and len(got) == 31  # notified once, at used_event + 1
    while (b := vq.get_buf()) is not None:
        got.append(b)
    assert sorted(t for t, _ in got) == list(range(1, 41))
    rig.close()


def test_indirect_tables_bounce_inside_the_memory():
    rig = Rig(16, BASE_FEATURES | F(Feature.RING_INDIRECT_DESC))
    vq = rig.vq
    assert rig.add(7, [b"hdr-hdr-hdr-hdr!", b"payload"], [5, 1]) == 0
    assert rig.dma.stats.bounces == 1 and len(rig.dma.bounced) == 1, "indirect table not bounced"
    assert vq.num_free == 15  # one descriptor for the whole chain
    vq.kick()
    assert rig.service()
    assert rig.got == [(7, 6)] and rig.dev.read_data == [b"hdr-hdr-hdr-hdr!payload"]
    assert not rig.dma.bounced and not rig.dma.mapped, "mappings left after the buffer was used"
    rig.close()


def test_irq_none_and_detach_unused_at_removal():
    rig = Rig(8)
    vq = rig.vq
    assert not vq.interrupt() and vq.irq.none == 1  # nothing used: IRQ_NONE
    for t in range(1, 5):
        assert rig.add(t, [b"x"], [4]) == 0
    assert rig.add(5, [b"x"], [4]) == -ENOSPC and vq.num_free == 0
    vq.kick()
    rig.dev.step(limit=2)
    assert rig.dev.must_notify() and vq.interrupt()
    assert [t for t, _ in rig.got] == [1, 2]
    # Removal: the device is reset, the driver takes back what was never used.
    left = []
    while (t := vq.detach_unused_buf()) is not None:
        left.append(t)
    assert sorted(left) == [3, 4] and vq.num_free == 8
    assert rig.dma.outstanding() == 0
    rig.close()


def test_callback_exception_is_raised_by_the_c_call():
    def bad(vq):
        raise KeyError("from the callback")

    rig = Rig(4, callback=bad)
    assert rig.add(1, [], [4]) == 0
    rig.vq.kick()
    rig.dev.step()
    with pytest.raises(KeyError, match="from the callback"):
        rig.vq.interrupt()
    assert rig.vq.get_buf() == (1, 4)
    rig.close()


def test_dma_error_surfaces_as_enomem():
    """A mapping the hooks refuse (bounce area full) makes virtqueue_add_sgs fail cleanly."""
    rig = Rig(8, BASE_FEATURES | F(Feature.RING_INDIRECT_DESC))
    rig.dma.bounce = type(rig.dma.bounce)(BOUNCE[0], BOUNCE[0] + 16)  # room for one descriptor
    ret = rig.add(1, [b"a", b"b"], [1])
    assert ret != 0 and rig.dma.errors, "the refused mapping went unnoticed"
    rig.dma.errors.clear()
    assert rig.vq.num_free == 8 and rig.dma.outstanding() == 0  # nothing leaked
    rig.close()


def test_from_device_bounce_copies_back():
    ring = LinuxRing.get()
    buf = plain_buffer(1 << 20)
    dma = DmaDomain(ring, buf, (0x1000, 0x8000), (0x8000, 0x9000))
    import ctypes

    host = ctypes.create_string_buffer(8)
    bus = dma._map(ctypes.addressof(host), 8, DMA_FROM_DEVICE)
    assert 0x8000 <= bus < 0x9000
    buf[bus:bus + 8] = b"ABCDEFGH"
    dma._unmap(bus, 8, DMA_FROM_DEVICE)
    assert host.raw == b"ABCDEFGH" and dma.outstanding() == 0
    dma.close()


def test_missing_kernel_source_is_a_clear_error(monkeypatch):
    from vmsgsim import linux

    monkeypatch.setenv("LINUX_SRC", "/nonexistent/linux")
    with pytest.raises(linux.LinuxBuildError, match="no drivers/virtio/virtio_ring.c"):
        linux._source_id()
    monkeypatch.delenv("LINUX_SRC")
    monkeypatch.setenv("LINUX_TARBALL", "/nonexistent/linux.tar.xz")
    with pytest.raises(linux.LinuxBuildError, match="no such file"):
        linux._source_id()


def test_irq_none_verdict_and_lost_count():
    from vmsg.linux.checks import irq_none_problem, lost_buffers

    assert irq_none_problem(True, 5, 0) is None            # IRQ_HANDLED: always fine
    assert irq_none_problem(False, 3, 3) is None           # a required event whose entries were taken
    assert "did not require" in irq_none_problem(False, 4, 3)  # a spurious one: fails the test
    assert "no engine queue" in irq_none_problem(False, 1, None)
    assert lost_buffers(5, 5) == 0 and lost_buffers(2, 65534) == 4 and lost_buffers(0, 65536) == 0
