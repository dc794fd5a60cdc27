"""The benchmark's completion orders (tb/vmsg/tests/engine_bench.queue_order)."""

import pytest

from vmsg.tests.engine_bench import queue_order


def test_round_robin_interleaves_completion_by_completion():
    assert queue_order("rr", 4, 10, seed=1) == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


def test_random_orders_are_seeded_and_in_range():
    a = queue_order("random", 16, 2000, seed=7)
    assert a == queue_order("random", 16, 2000, seed=7) and a != queue_order("random", 16, 2000, seed=8)
    assert len(a) == 2000 and set(a) == set(range(16))


def test_bursts_are_runs_of_bounded_length():
    a = queue_order("bursts", 16, 4000, seed=3, burst_max=32)
    assert len(a) == 4000 and set(a) <= set(range(16))
    runs, start = [], 0
    for i in range(1, len(a) + 1):
        if i == len(a) or a[i] != a[start]:
            runs.append(i - start)
            start = i
    assert max(runs) <= 32 and min(runs) == 1 and sum(runs) == 4000 and len(runs) > 4000 // 32


def test_unknown_order_is_refused():
    with pytest.raises(ValueError, match="unknown completion order"):
        queue_order("zigzag", 2, 4, seed=1)
