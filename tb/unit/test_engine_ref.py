"""Reference models of the used-index engine (vmsg.ref): used ring and notification oracle."""
from __future__ import annotations

import struct

import pytest

from vmsg.ref import NotifyOracle, UsedRingModel, vring_need_event


def test_need_event_matches_linux_examples():
    # driver asks for an interrupt once entry 5 is used (used_event 5): idx 5 -> 6 notifies
    assert vring_need_event(5, 6, 5)
    assert not vring_need_event(5, 5, 4)
    # a batch that jumps over used_event notifies
    assert vring_need_event(5, 9, 2)
    # used_event behind old: already notified for it
    assert not vring_need_event(1, 9, 2)
    # u16 wrap
    assert vring_need_event(0xFFFF, 1, 0xFFFE)
    assert not vring_need_event(0xFFFF, 0xFFFF, 0xFFFE)
    # new == old: nothing published, never notify
    assert not vring_need_event(7, 7, 7)


@pytest.mark.parametrize("ue_off", range(-3, 4))
def test_need_event_boundary(ue_off):
    old, new = 0xFFF0, 0x0004  # a batch of 20 across the wrap
    ue = (old + ue_off) & 0xFFFF
    expect = ((new - ue - 1) & 0xFFFF) < ((new - old) & 0xFFFF)
    assert vring_need_event(ue, new, old) == expect
    # equivalently: used_event in [old, new) (modulo 2^16)
    assert expect == (((ue - old) & 0xFFFF) < ((new - old) & 0xFFFF))


def test_oracle_flags_and_event_idx():
    o = NotifyOracle(event_idx=False)
    assert o.decide(3, 0) and not o.decide(5, 1) and o.decide(6, 0xFFFE)
    assert (o.required, o.suppressed) == (2, 1)
    e = NotifyOracle(event_idx=True)
    assert e.decide(1, 0)           # first element, used_event 0
    assert not e.decide(4, 0)       # old = 1, used_event 0 already passed
    assert e.decide(8, 6)           # 6 in [4, 8)
    assert e.old == 8
    e.reset()
    assert e.old == 0 and e.required == 0


def test_used_ring_layout_and_publish():
    m = UsedRingModel(0x1000, 4)
    assert m.idx_addr == 0x1002 and m.elem_addr(0) == 0x1004 and m.elem_addr(5) == 0x100C
    mem = bytearray(0x2000)
    for i in range(6):
        m.complete(0x100 + i, i)
    for i in range(6):
        mem[m.elem_addr(i):m.elem_addr(i) + 8] = struct.pack("<II", 0x100 + i, i)
    assert m.check_publish(3) == []
    assert m.check_publish(3) != []  # publishes nothing new
    assert m.check_publish(7) != []  # beyond the accepted
    assert m.check_publish(6) == []
    rd = lambda a, n: bytes(mem[a:a + n])  # noqa: E731
    assert m.compare_memory(rd, 2, 6) == []
    mem[m.elem_addr(5)] ^= 1
    assert m.compare_memory(rd, 2, 6)
    struct.pack_into("<H", mem, m.idx_addr, 6)
    assert m.compare_idx(rd) == []


def test_used_ring_wrap_and_limits():
    m = UsedRingModel(0, 1)
    for i in range(70000):
        m.complete(i, 0)
    m.published = 65535
    assert m.check_publish(0) == []  # 65536 wraps to 0
    assert m.published == 65536
    with pytest.raises(ValueError):
        UsedRingModel(0, 3)
    with pytest.raises(ValueError):
        UsedRingModel(2, 4)
    big = UsedRingModel(0x10000, 32768)
    for i in range(5):
        big.complete(i, i)
    assert big.check_publish(5) == []
    small = UsedRingModel(0, 2)
    for i in range(4):
        small.complete(i, i)
    assert small.check_publish(4) != []  # moved by more than the ring size
