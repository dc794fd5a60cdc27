"""Every random choice flows from the test's seed: the same seed gives the same run
(messages.jsonl byte for byte), another seed gives another run."""

from __future__ import annotations

import pytest

from vmsgsim import configs, hdl
from vmsgsim.paths import BUILD


@pytest.mark.sim
def test_same_seed_same_trace():
    cfg = configs.periph("msg64")
    runs = {}
    for tag, seed in (("a", 424242), ("b", 424242), ("c", 424243)):
        d = BUILD / "determinism" / f"RandomSystemTest-{tag}"
        res = hdl.run(cfg, "vmsg.tests.system", "RandomSystemTest", d, seed=seed)
        assert res.passed, res.failures
        runs[tag] = (d / "messages.jsonl").read_bytes()
    assert runs["a"], "the trace is empty"
    assert runs["a"] == runs["b"], "two runs with one seed produced different traces"
    assert runs["a"] != runs["c"], "another seed produced the same trace: the seed does not reach the test"
