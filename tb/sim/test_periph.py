"""Runs every pyuvm test of sim/testlist.yaml on each of its configurations.

One pytest item per (test, configuration); each simulation runs in its own
folder build/sim/<test>-<config>/ (sim.log, results.xml, messages.jsonl,
coverage.yml, and dump.fst with --waves). The seed is fixed per test so that
a rerun is identical; --seed overrides it.
"""

from __future__ import annotations

import zlib

import pytest
import yaml

from vmsgsim import configs, hdl
from vmsgsim.paths import RUNS, SIM

TESTLIST = yaml.safe_load((SIM / "testlist.yaml").read_text())["tests"] or []

CASES = [
    pytest.param(t, cfg, id=f"{t['name']}-{cfg}", marks=[pytest.mark.sim])
    for t in TESTLIST
    for cfg in t.get("configs", ["msg64"])
]


def default_seed(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@pytest.mark.parametrize("test,cfg", CASES)
def test_sim(test, cfg, request):
    waves = request.config.getoption("--waves")
    seed = request.config.getoption("--seed")
    run_name = f"{test['name']}-{cfg}"
    result = hdl.run(
        configs.periph(cfg, waves=waves),
        test_module=test["module"],
        testcase=test.get("testcase", test["name"]),
        test_dir=RUNS / run_name,
        seed=default_seed(run_name) if seed is None else seed,
    )
    assert result.passed, f"{run_name} failed (log: {result.test_dir / 'sim.log'}):\n" + "\n".join(result.failures)
