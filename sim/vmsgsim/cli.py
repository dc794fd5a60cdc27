"""Entry points behind `make sim`, `make test` and `make waves`.

    python -m vmsgsim.cli sim   [--tests PATTERN] [--waves 0|1] [--jobs N]
    python -m vmsgsim.cli test  [--jobs N]
    python -m vmsgsim.cli waves --test NAME[-CONFIG] --seed N [--png 0|1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from .paths import BUILD, ROOT, RUNS
from .tools import setup_verilator


def _pytest(args: list[str]) -> int:
    env = setup_verilator(dict(os.environ))
    cmd = [sys.executable, "-m", "pytest", *args]
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env)


def _jobs(n: int) -> list[str]:
    return ["-n", str(n)] if n > 1 else []


def cmd_sim(a) -> int:
    args = ["tb/sim", "-q", *_jobs(a.jobs), "--junitxml", str(BUILD / "reports" / "sim-junit.xml")]
    if a.tests:
        args += ["-k", a.tests]
    if a.waves:
        args += ["--waves"]
    rc = _pytest(args)
    print(f"\nsimulation runs: {RUNS}/<test>-<config>/ (sim.log, messages.jsonl{', dump.fst' if a.waves else ''})")
    return rc


def cmd_test(a) -> int:
    """Unit tests, simulation tests and flow tests (one pytest run), then the short
    regression profile (random tests over fresh seeds)."""
    args = ["tb/unit", "tb/sim", "sim/tests", "-q", *_jobs(a.jobs),
            "--junitxml", str(BUILD / "reports" / "test-junit.xml")]
    rc = _pytest(args)
    from . import regress

    print("\n+ regression, profile ci", flush=True)
    rc_reg = regress.main(["--profile", "ci", "--jobs", str(a.jobs), "--out", str(BUILD / "regress-ci")])
    print(f"\nmake test: pytest {'passed' if rc == 0 else 'FAILED'}, regression {'passed' if rc_reg == 0 else 'FAILED'}")
    return rc or rc_reg


def cmd_waves(a) -> int:
    if not a.test:
        print("usage: make waves TEST=<test>[-<config>] SEED=<n> [PNG=1]", file=sys.stderr)
        return 2
    from . import regress

    return regress.rerun(a.test, int(a.seed) if a.seed not in (None, "") else None, waves=True, png=bool(a.png))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vmsgsim")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sim")
    s.add_argument("--tests", default="")
    s.add_argument("--waves", type=int, default=0)
    s.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    t = sub.add_parser("test")
    t.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    w = sub.add_parser("waves")
    w.add_argument("--test", default="")
    w.add_argument("--seed", default="")
    w.add_argument("--png", type=int, default=0, help="1: also render the view into <run folder>/waves.png")
    a = ap.parse_args(argv)
    (BUILD / "reports").mkdir(parents=True, exist_ok=True)
    return {"sim": cmd_sim, "test": cmd_test, "waves": cmd_waves}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
