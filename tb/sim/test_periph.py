"""Runs every pyuvm test of sim/testlist.yaml on each of its configurations.

One pytest item per (test, configuration); each simulation runs in its own
folder build/sim/<test>-<config>/ (sim.log, results.xml, messages.jsonl,
coverage.yml, and dump.fst with --waves). The seed is fixed per test so that
a rerun is identical; --seed overrides it.
"""

from __future__ import annotations

import pytest
import yaml

from vmsgsim import configs
from vmsgsim.paths import SIM

TESTLIST = yaml.safe_load((SIM / "testlist.yaml").read_text())["tests"] or []

CASES = [
    pytest.param(t, cfg, id=f"{t['name']}-{cfg}", marks=[pytest.mark.sim])
    for t in TESTLIST
    for cfg in t.get("configs", ["msg64"])
]


@pytest.mark.parametrize("test,cfg", CASES)
def test_sim(test, cfg, simrun):
    simrun(lambda waves: configs.periph(cfg, waves=waves), test["module"], test.get("testcase", test["name"]),
           f"{test['name']}-{cfg}")
