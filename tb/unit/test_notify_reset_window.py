"""The engine monitor's notification rules around a queue reset (no simulator).

docs/engine.md, Disable and reset: a decision read answered once the reset has begun is
discarded (no decision, no counter, no event). The wires show when the reset write was
requested and when it was acknowledged, not the cycle in between where RESETTING rises, so:
- a decision whose R came before the request is certain (required or suppressed);
- one whose R came between the request and the acknowledgement is possible: an event may
  answer it, its absence is no miss, and the counters may or may not include it;
- one whose R came after the acknowledgement was not made: it requires nothing, and an event
  that only it could answer is spurious."""
from __future__ import annotations

import pytest

from vmsg.bfm import axi_monitor as am
from vmsg.bfm.axi_monitor import EngineAxiMonitor

USED, AVAIL, SIZE = 0x1000, 0x2000, 8


class _Sig:
    value = 0


class _Log:
    def error(self, *args):
        pass


@pytest.fixture
def mon(monkeypatch):
    """A monitor without its sampling task: the tests call its R and event handlers."""
    m = EngineAxiMonitor.__new__(EngineAxiMonitor)
    m.queues, m.closed, m.errors, m.ar_pending = {}, [], [], am.deque()
    m.stats = {"reads": 0, "r_err": 0}
    m.db, m.log, m.on_decision = 8, _Log(), None
    m.s = {n: _Sig() for n in ("awvalid", "arvalid", "awaddr", "araddr")}
    monkeypatch.setattr(am, "get_sim_time", lambda unit="ns": 0.0)
    return m


def decide(m, wq, new, flags, t_vis, r_ns):
    """One decision read of queue wq (without EVENT_IDX: flags bit 0 suppresses), answered at r_ns."""
    m.ar_pending.append((AVAIL, t_vis, wq, (new, t_vis)))
    m._on_r(flags << (8 * (AVAIL % m.db)), am.OKAY, r_ns)


def test_before_request_is_certain(mon):
    wq = mon.watch(0, USED, AVAIL, SIZE, False)
    decide(mon, wq, 1, 0, 100, 110)
    decide(mon, wq, 2, 1, 200, 210)
    mon.close(0, reset_ns=300)
    assert (wq.required, wq.maybe_vis, wq.maybe_sup) == (1, [], 0)


def test_in_window_is_possible(mon):
    wq = mon.watch(0, USED, AVAIL, SIZE, False)
    decide(mon, wq, 1, 0, 100, 110)
    decide(mon, wq, 2, 0, 200, 305)   # R after the request, before the ack
    decide(mon, wq, 3, 1, 250, 306)
    mon.close(0, reset_ns=300)
    assert wq.req_vis == [100] and wq.maybe_vis == [200] and wq.maybe_sup == 1
    # one event answers the certain requirement, a second one may answer the possible one
    assert mon.on_event(0, 400, period=wq) is wq
    assert mon.on_event(0, 401, period=wq) is wq
    assert wq.unanswered == 0 and not mon.errors
    # nothing is left for a third
    assert mon.on_event(0, 402, period=wq) is None
    assert wq.spurious == 1 and mon.errors


def test_possible_requirement_missing_is_no_miss(mon):
    wq = mon.watch(0, USED, AVAIL, SIZE, False)
    decide(mon, wq, 1, 0, 100, 110)
    mon.on_event(0, 150)
    decide(mon, wq, 2, 0, 200, 305)
    mon.close(0, reset_ns=300)
    assert wq.unanswered == 0 and wq.required == 1


def test_certain_requirement_missing_is_a_miss(mon):
    wq = mon.watch(0, USED, AVAIL, SIZE, False)
    decide(mon, wq, 1, 0, 100, 110)
    decide(mon, wq, 2, 0, 200, 210)
    mon.on_event(0, 150)
    mon.close(0, reset_ns=300)
    assert wq.unanswered == 1


def test_after_ack_is_discarded(mon):
    wq = mon.watch(0, USED, AVAIL, SIZE, False)
    decide(mon, wq, 1, 0, 100, 110)
    mon.close(0, reset_ns=300)
    decide(mon, wq, 2, 0, 200, 400)   # answered after the reset's ack
    assert (wq.required, wq.maybe_vis, wq.discarded, len(wq.oracle.decisions)) == (1, [], 1, 1)
    assert mon.on_event(0, 500, period=wq) is wq
    assert mon.on_event(0, 501, period=wq) is None and wq.spurious == 1


def test_without_reset_time_nothing_moves(mon):
    """A close without the request time (a peripheral reset) keeps every decision as made."""
    wq = mon.watch(0, USED, AVAIL, SIZE, False)
    decide(mon, wq, 1, 0, 100, 305)
    mon.close(0)
    assert wq.required == 1 and wq.maybe_vis == []
