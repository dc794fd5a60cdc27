"""pytest options and the run helper shared by the simulation launchers."""

from __future__ import annotations

import os
import zlib

import pytest

from vmsgsim import hdl
from vmsgsim.paths import RUNS


def pytest_addoption(parser):
    parser.addoption("--waves", action="store_true", default=os.environ.get("WAVES", "0") not in ("", "0"),
                     help="record an FST waveform per test (dump.fst in the run folder)")
    parser.addoption("--seed", type=int, default=None, help="random seed for every simulation (default: per test)")


def default_seed(run_name: str) -> int:
    """A fixed seed per run, so that a rerun is identical."""
    return zlib.crc32(run_name.encode()) & 0x7FFFFFFF


@pytest.fixture
def simrun(request):
    """simrun(config_for_waves, module, testcase, run_name): one simulation in build/sim/<run_name>/,
    with the --waves and --seed options applied; fails the pytest item with the run's failures."""

    def run(config_for_waves, module: str, testcase: str, run_name: str) -> hdl.RunResult:
        seed = request.config.getoption("--seed")
        result = hdl.run(config_for_waves(request.config.getoption("--waves")), module, testcase,
                         test_dir=RUNS / run_name, seed=default_seed(run_name) if seed is None else seed)
        assert result.passed, f"{run_name} failed (log: {result.test_dir / 'sim.log'}):\n" + "\n".join(result.failures)
        return result

    return run
