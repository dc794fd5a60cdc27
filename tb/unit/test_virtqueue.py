"""Split virtqueue (driver side, mirroring Linux virtio_ring) and the device-side ring model."""
from __future__ import annotations

import errno
import struct

import pytest

from unit_helpers import MEM_BASE, run
from vmsg.models import (BumpAllocator, ByteMemory, DeviceRingError, DeviceVirtqueue, SplitVirtqueue,
                         VirtioError, VringLayout, vring_need_event, vring_size)
from vmsg.models.memory import read_u16, write_u16

NEXT, WRITE = 1, 2


class Notifier:
    def __init__(self, ok: bool = True) -> None:
        self.count, self.ok = 0, ok

    async def __call__(self, vq) -> bool:
        self.count += 1
        return self.ok


def make(num=8, event_idx=False, callback=lambda vq: None, ok=True):
    mem = ByteMemory(1 << 20, base=MEM_BASE)
    alloc = BumpAllocator(MEM_BASE, 1 << 20)
    notifier = Notifier(ok)
    vq = SplitVirtqueue.create(0, num, mem, alloc, event_idx=event_idx, notify=notifier, callback=callback)
    dev = DeviceVirtqueue(mem, vq.num, vq.desc_addr, vq.avail_addr, vq.used_addr, event_idx)
    return vq, dev, mem, notifier


def desc(mem, vq, i):
    return struct.unpack("<QIHH", mem.read(vq.desc_addr + 16 * i, 16))


# --- layout ---------------------------------------------------------------------------------------
def test_vring_size_and_layout_match_linux():
    assert vring_size(256, 4096) == 10246          # the well-known legacy virtio-pci size
    assert vring_size(8, 4096) == 4096 + 6 + 64
    lay = VringLayout.at(0x1000_0000, 8, 4096)
    assert (lay.desc, lay.avail, lay.used) == (0x1000_0000, 0x1000_0080, 0x1000_1000)
    assert lay.used_event == 0x1000_0080 + 4 + 16 and lay.avail_event == 0x1000_1000 + 4 + 64
    small = VringLayout.at(0, 4, 16)
    assert small.used == 80                         # 64 + 4 + 8 + 2 = 78, aligned to 16


def test_create_rejects_non_power_of_two_and_reduces_on_allocation_failure():
    mem = ByteMemory(1 << 16)
    with pytest.raises(VirtioError) as info:
        SplitVirtqueue.create(0, 12, mem, BumpAllocator(0, 1 << 16), event_idx=False, notify=Notifier())
    assert info.value.errno == errno.ENOMEM
    # only 3 pages: 1024 entries (28 KiB) do not fit, 256 (10246 bytes) do
    vq = SplitVirtqueue.create(0, 1024, mem, BumpAllocator(0, 3 * 4096), event_idx=False, notify=Notifier())
    assert vq.num == 256
    with pytest.raises(VirtioError, match="ENOMEM"):
        SplitVirtqueue.create(0, 1024, mem, BumpAllocator(0, 3 * 4096), may_reduce_num=False,
                              event_idx=False, notify=Notifier())


def test_ring_memory_is_zeroed_at_creation():
    mem = ByteMemory(1 << 16)
    mem.write(0, b"\xff" * (1 << 16))
    SplitVirtqueue.create(0, 8, mem, BumpAllocator(0, 1 << 16), event_idx=True, notify=Notifier(),
                               callback=lambda v: None)
    assert mem.read(0, vring_size(8, 4096)) == bytes(vring_size(8, 4096))


def test_no_callback_sets_no_interrupt_without_event_idx():
    vq, dev, mem, _ = make(callback=None)
    assert read_u16(mem, vq.avail_addr) == 1
    vq2, _, mem2, _ = make(callback=None, event_idx=True)
    assert read_u16(mem2, vq2.avail_addr) == 0      # with EVENT_IDX the flag is not published


# --- adding ---------------------------------------------------------------------------------------
def test_add_buf_writes_chain_like_linux():
    vq, dev, mem, _ = make()
    run(vq.add_buf([(0xA000, 16), (0xB000, 32)], [(0xC000, 512)], token="t0"))
    assert desc(mem, vq, 0) == (0xA000, 16, NEXT, 1)
    assert desc(mem, vq, 1) == (0xB000, 32, NEXT, 2)
    assert desc(mem, vq, 2) == (0xC000, 512, WRITE, 3)    # next field keeps the free-list link
    assert read_u16(mem, vq.avail_addr + 4) == 0 and read_u16(mem, vq.avail_addr + 2) == 1
    run(vq.add_buf([], [(0xD000, 8)], token="t1"))
    assert desc(mem, vq, 3) == (0xD000, 8, WRITE, 4)
    assert read_u16(mem, vq.avail_addr + 6) == 3 and vq.num_free == 4
    chain = dev.pop()
    assert chain.head == 0 and chain.readable == [(0xA000, 16), (0xB000, 32)] and chain.writable_len == 512


def test_free_list_is_lifo_after_get_buf():
    vq, dev, mem, _ = make(num=4)
    for t in "abcd":
        run(vq.add_buf([(0x100, 1)], [], token=t))
    assert vq.num_free == 0
    for _ in range(4):
        dev.pop()
    dev.complete(2, 0)
    dev.complete(0, 0)
    assert vq.get_buf() == ("c", 0) and vq.get_buf() == ("a", 0) and vq.get_buf() is None
    run(vq.add_buf([(0x200, 1)], [], token="e"))
    assert read_u16(mem, vq.avail_addr + 4 + 2 * 0) == 0     # head 0 reused first (freed last)


def test_full_ring_is_enospc_and_forces_notify_for_out_buffers():
    vq, dev, mem, notifier = make(num=2)
    run(vq.add_buf([(0x100, 1)], [(0x200, 1)], token="a"))
    with pytest.raises(VirtioError) as info:
        run(vq.add_buf([], [(0x300, 1)], token="b"))
    assert info.value.errno == errno.ENOSPC and notifier.count == 0
    with pytest.raises(VirtioError):
        run(vq.add_buf([(0x300, 1)], [], token="c"))
    assert notifier.count == 1


def test_add_buf_argument_checks_and_broken_queue():
    vq, *_ = make()
    with pytest.raises(ValueError):
        run(vq.add_buf([(1, 1)], [], token=None))
    with pytest.raises(ValueError):
        run(vq.add_buf([], [], token="x"))
    vq.broken = True
    with pytest.raises(VirtioError, match="EIO"):
        run(vq.add_buf([(1, 1)], [], token="x"))


# --- kick decisions -------------------------------------------------------------------------------
def test_kick_without_event_idx_follows_no_notify():
    vq, dev, mem, notifier = make()
    run(vq.add_buf([(1, 1)], [], token=1))
    assert run(vq.kick()) and notifier.count == 1
    dev.suppress_kicks(True)
    run(vq.add_buf([(1, 1)], [], token=2))
    assert run(vq.kick()) and notifier.count == 1
    dev.suppress_kicks(False)
    run(vq.add_buf([(1, 1)], [], token=3))
    assert vq.kick_prepare() is True
    assert vq.kick_prepare() is True                 # without EVENT_IDX nothing but the flag counts


def test_kick_with_event_idx_uses_avail_event():
    vq, dev, mem, notifier = make(event_idx=True)
    run(vq.add_buf([(1, 1)], [], token=1))
    assert vq.kick_prepare() is True                  # avail_event 0, idx 0 -> 1
    dev.request_kick_at(3)                            # device wants a kick once idx passes 3
    for t in (2, 3):
        run(vq.add_buf([(1, 1)], [], token=t))
    assert vq.kick_prepare() is False                 # idx 1 -> 3
    run(vq.add_buf([(1, 1)], [], token=4))
    assert vq.kick_prepare() is True                  # idx 3 -> 4 crosses avail_event 3
    assert vq.kick_prepare() is False                 # nothing added since


def test_failed_notify_breaks_the_queue():
    vq, dev, mem, notifier = make(ok=False)
    run(vq.add_buf([(1, 1)], [], token=1))
    assert run(vq.kick()) is False and vq.broken
    assert vq.get_buf() is None


@pytest.mark.parametrize("event,new,old,want", [
    (5, 6, 5, True), (5, 6, 6, False), (7, 10, 6, True), (5, 10, 6, False), (10, 8, 5, False),
    (0xFFFF, 0, 0xFFFE, True), (0xFFFF, 0xFFFF, 0xFFFE, False), (3, 3, 3, False), (2, 3, 0, True),
])
def test_vring_need_event(event, new, old, want):
    assert vring_need_event(event, new, old) is want


def test_vring_need_event_matches_definition_exhaustively_for_small_window():
    for old in range(0xFFF0, 0x10010):
        for step in range(0, 6):
            new = (old + step) & 0xFFFF
            for event in range(old - 2, old + 8):
                crossed = any(((old + k) & 0xFFFF) == (event + 1) & 0xFFFF for k in range(1, step + 1))
                assert vring_need_event(event & 0xFFFF, new, old & 0xFFFF) == crossed


# --- reaping and callbacks ------------------------------------------------------------------------
def test_get_buf_sets_used_event_while_callbacks_enabled():
    vq, dev, mem, _ = make(event_idx=True)
    for t in range(3):
        run(vq.add_buf([(1, 1)], [], token=t))
    for _ in range(3):
        c = dev.pop()
        dev.write_used(c.head, 7)
    dev.publish()
    assert vq.get_buf() == (0, 7) and read_u16(mem, vq.layout.used_event) == 1
    vq.disable_cb()
    assert read_u16(mem, vq.layout.used_event) == 0          # the kernel's disable "hack"
    assert vq.get_buf() == (1, 7) and read_u16(mem, vq.layout.used_event) == 0
    assert vq.enable_cb() is False                           # one still pending
    assert read_u16(mem, vq.layout.used_event) == 2
    assert vq.get_buf() == (2, 7) and read_u16(mem, vq.layout.used_event) == 3
    assert vq.enable_cb() is True


def test_disable_enable_cb_without_event_idx_write_avail_flags():
    vq, dev, mem, _ = make()
    vq.disable_cb()
    assert read_u16(mem, vq.avail_addr) == 1
    assert vq.enable_cb() is True
    assert read_u16(mem, vq.avail_addr) == 0


def test_enable_cb_delayed_asks_for_three_quarters():
    vq, dev, mem, _ = make(num=16, event_idx=True)
    for t in range(8):
        run(vq.add_buf([(1, 1)], [], token=t))
    vq.disable_cb()
    assert vq.enable_cb_delayed() is True
    assert read_u16(mem, vq.layout.used_event) == 6           # 0 + 8 * 3 // 4
    for _ in range(7):
        c = dev.pop()
        dev.write_used(c.head, 0)
    dev.publish()
    assert vq.enable_cb_delayed() is False                    # 7 used > 6


def test_interrupt_runs_callback_only_with_new_used():
    seen = []
    vq, dev, mem, _ = make(event_idx=True, callback=seen.append)
    assert vq.interrupt() is False and seen == []
    run(vq.add_buf([(1, 1)], [], token="x"))
    dev.complete(dev.pop().head, 1)
    assert vq.interrupt() is True and seen == [vq] and vq.event_triggered
    vq.disable_cb()                                           # event already triggered: no write
    assert read_u16(mem, vq.layout.used_event) == 0 and vq.get_buf() == ("x", 1)


def test_bad_used_id_breaks_the_queue():
    vq, dev, mem, _ = make()
    run(vq.add_buf([(1, 1)], [], token="x"))
    dev.pop()
    dev.complete(9, 0)                                         # id beyond the ring
    assert vq.get_buf() is None and vq.broken and "out of range" in vq.errors[0]
    vq2, dev2, *_ = make()
    run(vq2.add_buf([(1, 1)], [], token="x"))
    dev2.complete(3, 0)                                        # not a head in use
    assert vq2.get_buf() is None and "not a head" in vq2.errors[0]


def test_detach_unused_buf_rolls_back_avail():
    vq, dev, mem, _ = make()
    run(vq.add_buf([(1, 1)], [(2, 2)], token="a"))
    run(vq.add_buf([(1, 1)], [], token="b"))
    assert vq.detach_unused_buf() == "a" and vq.detach_unused_buf() == "b"
    assert vq.detach_unused_buf() is None and vq.num_free == 8
    assert read_u16(mem, vq.avail_addr + 2) == 0


# --- wrap past 65535 with EVENT_IDX, driver and device models together --------------------------------
async def _traffic(vq, dev, mem, event_idx: bool, total: int) -> dict:
    """Driver adds batches of 1..7 two-descriptor buffers and kicks; the device completes each
    batch in two publications; the driver reaps in its callback loop (get_buf until empty, then
    enable_cb) when notified, except every third round where it defers the work to the end of
    the round (so with EVENT_IDX the second publication must not notify)."""
    stats = dict(completed=0, events=0, expected=0, rounds=0, token=0, published=0)
    while stats["completed"] < total:
        batch = 1 + stats["rounds"] % 7
        for _ in range(batch):
            await vq.add_buf([(0x1000 + stats["token"], 4)], [(0x2000, 8)], token=stats["token"])
            stats["token"] += 1
        await vq.kick()
        if event_idx:
            dev.request_kick_at(dev.avail_idx())          # the device asks for every kick
        chains = [dev.pop() for _ in range(batch)]
        half = batch // 2
        for group in (chains[:half], chains[half:]):
            if not group:
                continue
            old = dev.published_idx
            for c in group:
                dev.write_used(c.head, 8)
            used_event = read_u16(mem, vq.layout.used_event)
            flags = read_u16(mem, vq.avail_addr)
            want = (vring_need_event(used_event, (old + len(group)) & 0xFFFF, old) if event_idx
                    else not flags & 1)
            got = dev.publish()
            assert got == want
            stats["expected"] += want
            stats["published"] += 1
            stats["events"] += got
            if got and stats["rounds"] % 3:
                while True:
                    while (item := vq.get_buf()) is not None:
                        assert item[1] == 8
                        stats["completed"] += 1
                    if vq.enable_cb():
                        break
        while vq.get_buf() is not None:                   # not notified: reaped by polling
            stats["completed"] += 1
        stats["rounds"] += 1
    return stats


@pytest.mark.parametrize("event_idx", [True, False])
def test_traffic_wraps_indices_and_notifications_match_need_event(event_idx):
    vq, dev, mem, notifier = make(num=16, event_idx=event_idx)
    st = run(_traffic(vq, dev, mem, event_idx, 70000))
    token, completed = st["token"], st["completed"]
    assert token > 65536 and completed == token
    assert vq.avail_idx_shadow == token & 0xFFFF
    assert read_u16(mem, vq.avail_addr + 2) == token & 0xFFFF
    assert read_u16(mem, vq.used_addr + 2) == completed & 0xFFFF
    assert vq.last_used_idx == completed & 0xFFFF and vq.num_free == 16
    assert st["events"] == st["expected"] == dev.notifications
    if event_idx:      # deferred rounds: used_event lags, the second publication is suppressed
        assert 0 < st["events"] < st["published"]
    else:              # callbacks stay enabled: every publication notifies
        assert st["events"] == st["published"]
    assert notifier.count == st["rounds"]               # every round's kick was wanted


def test_device_ring_rejects_bad_chains():
    mem = ByteMemory(1 << 12)
    dev = DeviceVirtqueue(mem, 4, 0, 0x100, 0x200, False)
    write_u16(mem, 0x100 + 4, 7)
    write_u16(mem, 0x102, 1)
    with pytest.raises(DeviceRingError, match="head"):
        dev.pop()
    # a loop: 0 -> 1 -> 0
    mem.write(0, struct.pack("<QIHH", 0, 1, NEXT, 1) + struct.pack("<QIHH", 0, 1, NEXT, 0))
    with pytest.raises(DeviceRingError, match="loops"):
        dev.read_chain(0)
    mem.write(0, struct.pack("<QIHH", 0, 1, NEXT, 9))
    with pytest.raises(DeviceRingError, match="next"):
        dev.read_chain(0)
