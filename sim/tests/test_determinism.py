"""Every random choice flows from the test's seed: the same seed gives the same run
(messages.jsonl byte for byte), another seed gives another run; the simulator's random initial
values (vmsgsim.hdl: +verilator+rand+reset+2) follow the seed too."""

from __future__ import annotations

import pytest

from vmsgsim import configs, hdl
from vmsgsim.paths import BUILD, SIM

FIXTURE = SIM / "tests" / "fixture"


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


@pytest.mark.sim
def test_same_seed_same_initial_values():
    """A register without reset starts random, from the seed: the same seed gives the same value, another
    seed another value, and the build with a waveform (the rerun of a failing seed) the same value. A run
    without the flow's plusargs would start it at zero every time."""
    cfg = hdl.HdlConfig(top="init_value", label="fixture", rtl=False,
                        extra_sources=("sim/tests/fixture/init_value.sv",))
    # w: the build with a waveform, as `make waves` reruns a failing seed
    waves = hdl.HdlConfig(top=cfg.top, label=cfg.label, rtl=False, extra_sources=cfg.extra_sources, waves=True)
    vals = {}
    for tag, seed, c in (("a", 424242, cfg), ("b", 424242, cfg), ("c", 424243, cfg), ("w", 424242, waves)):
        d = BUILD / "determinism" / f"init_value-{tag}"
        res = hdl.run(c, "init_value_test", "init_value", d, seed=seed, pythonpath=[str(FIXTURE)])
        assert res.passed, res.failures
        vals[tag] = int((d / "init.txt").read_text(), 16)
    assert vals["a"] == vals["b"], f"one seed, two initial values: {vals}"
    assert vals["a"] == vals["w"], f"the rerun with a waveform starts from other initial values: {vals}"
    assert vals["a"] != vals["c"], f"another seed, the same initial value: {vals}"
    assert vals["a"] != 0 and vals["c"] != 0, f"initial values are zero, not random: {vals}"
