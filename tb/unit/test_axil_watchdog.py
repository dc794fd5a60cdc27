"""The AXI4-Lite monitor's liveness watchdog (tb/vmsg/bfm/axil.py, stall_step): which
cycles count as a slave that makes no progress."""

from __future__ import annotations

import pytest

from vmsg.bfm.axil import STALL_LIMIT, stall_step

IDLE = dict(awv=0, awr=1, wv=0, wr=1, bv=0, br=1, arv=0, arr=1, rv=0, rr=1, writes_open=0, reads_open=0)


def step(stalled: int, **sig) -> int:
    return stall_step(stalled, **{**IDLE, **sig})


@pytest.mark.parametrize("sig", [
    dict(awv=1, awr=0),                       # AW offered, not accepted
    dict(wv=1, wr=0),                         # W offered, not accepted
    dict(arv=1, arr=0),                       # AR offered, not accepted
    dict(writes_open=1),                      # a complete write without its B beat
    dict(reads_open=1),                       # an accepted read without its R beat
])
def test_waiting_on_the_slave_counts(sig):
    n = 0
    for _ in range(STALL_LIMIT + 1):
        n = step(n, **sig)
    assert n == STALL_LIMIT + 1


@pytest.mark.parametrize("sig", [
    dict(),                                   # nothing open
    dict(bv=1, br=0, writes_open=1),          # the master holds BREADY low
    dict(rv=1, rr=0, reads_open=1),           # the master holds RREADY low
])
def test_waiting_on_the_master_does_not_count(sig):
    assert step(57, **sig) == 0


@pytest.mark.parametrize("sig", [
    dict(awv=1, awr=1, wv=1, wr=0),           # one channel moves while another waits
    dict(bv=1, br=1, writes_open=1, arv=1, arr=0),
    dict(rv=1, rr=1, reads_open=1, awv=1, awr=0),
])
def test_any_handshake_is_progress(sig):
    assert step(STALL_LIMIT, **sig) == 0
