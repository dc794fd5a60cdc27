"""pytest options shared by the simulation launchers."""

from __future__ import annotations

import os


def pytest_addoption(parser):
    parser.addoption("--waves", action="store_true", default=os.environ.get("WAVES", "0") not in ("", "0"),
                     help="record an FST waveform per test (dump.fst in the run folder)")
    parser.addoption("--seed", type=int, default=None, help="random seed for every simulation (default: per test)")
