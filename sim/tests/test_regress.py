"""The regression runner on a fixture that fails for some seeds only.

The fixture (sim/tests/fixture/) is a deliberately wrong adder whose random
test fails when both operands drawn from the seed are odd. The regression
must fail, its reports must name exactly the failing seeds, and the printed
command must reproduce a failure (and a pass) and leave an FST waveform.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vmsgsim.paths import BUILD, ROOT

FIXTURE = ROOT / "sim" / "tests" / "fixture" / "testlist.yaml"
SEEDS = 16


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("regress")
    out, rep = tmp / "out", tmp / "reports"
    r = subprocess.run([sys.executable, "-m", "vmsgsim.regress", "--testlist", str(FIXTURE), "--seeds", str(SEEDS),
                        "--jobs", "2", "--out", str(out), "--reports", str(rep)],
                       cwd=ROOT, capture_output=True, text=True)
    assert (rep / "regress.json").exists(), f"regression crashed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r, out, rep


def _failed_runs(out: Path) -> set[int]:
    """Seeds whose own results.xml records a failure (ground truth, not the report)."""
    bad = set()
    for xml in out.glob("seed_sum-fixture/seed-*/results.xml"):
        seed = int(xml.parent.name.split("-")[1])
        if next(ET.parse(xml).getroot().iter("failure"), None) is not None:
            bad.add(seed)
    return bad


def test_regression_fails_and_names_failing_seeds(regression):
    r, out, rep = regression
    assert r.returncode == 1, r.stdout + r.stderr
    truth = _failed_runs(out)
    assert 0 < len(truth) < SEEDS, f"the fixture should fail for some seeds and pass for others:\n{r.stdout}"
    report = json.loads((rep / "regress.json").read_text())
    assert len(report["runs"]) == SEEDS
    assert {x["seed"] for x in report["runs"] if not x["passed"]} == truth
    junit = ET.parse(rep / "regress.xml").getroot()
    assert {int(c.get("name").split("-")[1]) for c in junit.iter("testcase") if c.find("failure") is not None} == truth
    html = (rep / "regress.html").read_text()
    for seed in truth:
        assert str(seed) in html and f"SEED={seed}" in r.stdout
    for x in report["runs"]:
        if not x["passed"]:
            assert x["first_error"].startswith("AssertionError: ERROR sum of"), x["first_error"]


def _rerun(cmd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MAKEFLAGS="")
    return subprocess.run(shlex.split(cmd), cwd=ROOT, capture_output=True, text=True, env=env)


def test_printed_command_reproduces_with_waves(regression):
    r, out, rep = regression
    report = json.loads((rep / "regress.json").read_text())
    failing = next(x for x in report["runs"] if not x["passed"])
    passing = next(x for x in report["runs"] if x["passed"])
    res = _rerun(failing["rerun"])
    assert res.returncode != 0, res.stdout + res.stderr
    assert "FAIL seed_sum-fixture seed" in res.stdout
    fst = BUILD / "waves" / f"seed_sum-fixture-seed-{failing['seed']}" / "dump.fst"
    assert fst.exists() and fst.stat().st_size > 0
    # The same error as in the regression: the run is reproduced, not merely failed.
    log = (fst.parent / "sim.log").read_text()
    assert failing["first_error"] in log
    ok = _rerun(passing["rerun"])
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_relative_output_folders(tmp_path):
    """--out / --reports given relative to the caller's folder: each run's results land in
    <out>/<test>/seed-<n>/ (not nested under the run folder) and are read back."""
    r = subprocess.run([sys.executable, "-m", "vmsgsim.regress", "--testlist", str(FIXTURE), "--seeds", "3",
                        "--jobs", "2", "--out", "out", "--reports", "rep"],
                       cwd=tmp_path, capture_output=True, text=True)
    report = json.loads((tmp_path / "rep" / "regress.json").read_text())
    truth = _failed_runs(tmp_path / "out")
    assert len(list((tmp_path / "out").glob("seed_sum-fixture/seed-*/results.xml"))) == 3, r.stdout + r.stderr
    assert {x["seed"] for x in report["runs"] if not x["passed"]} == truth
    assert r.returncode == (1 if truth else 0)
