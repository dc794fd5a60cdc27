"""Regression runner: every test of a test list over many seeds, in parallel.

    python -m vmsgsim.regress [--profile quick|ci|nightly] [--seeds N] [--jobs N]
                              [--tests PATTERN] [--testlist FILE] [--out DIR]

Profiles: `quick` runs random tests over SEEDS seeds (default 3) and directed
tests once; `ci` (the short profile of `make test`) runs only the random tests,
over two seeds each; `nightly` runs every random test over at least 50 seeds
and directed tests once. Each HDL configuration is built once;
each run gets its own folder <out>/<test>-<config>/seed-<seed>/. Reports:
<reports>/regress.xml (JUnit), regress.html, regress.json and a table on the
terminal, with the first error line of each failure and the command that
reruns it with waveforms. Exit status 1 if any run failed.
"""

from __future__ import annotations

import argparse
import fnmatch
import html
import json
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from . import configs, hdl
from .paths import BUILD, REPORTS, SIM

PROFILES = {
    # name: (seeds for random tests, seeds for directed tests)
    "quick": (None, 1),     # None: --seeds
    "ci": (2, 0),           # make test: the random tests over two fresh seeds (pytest ran the rest)
    "nightly": (50, 1),
}
# The first line that says what went wrong: a logged error, an exception
# message, or a Verilator assertion / $fatal.
_ERR = re.compile(r"(\s(ERROR|CRITICAL)\s|^\s*[A-Za-z_.]*(Error|Exception|Failure): |%Error|%Fatal|Assertion failed)")


@dataclass
class Job:
    test: str
    module: str
    testcase: str
    config: str
    seed: int
    random: bool
    pythonpath: tuple[str, ...] = ()

    @property
    def run_name(self) -> str:
        return f"{self.test}-{self.config}"


@dataclass
class Outcome:
    test: str
    config: str
    seed: int
    passed: bool
    seconds: float
    cycles: int
    first_error: str
    run_dir: str
    rerun: str


def load_testlist(path: Path) -> tuple[list[dict], dict[str, dict]]:
    data = yaml.safe_load(path.read_text()) or {}
    return data.get("tests") or [], data.get("configs") or {}


def hdl_config(label: str, local: dict[str, dict], waves: bool = False) -> hdl.HdlConfig:
    """A configuration from the test list's own `configs:` or from vmsgsim.configs."""
    if label in local:
        spec = local[label]
        return hdl.HdlConfig(
            top=spec["top"], params=tuple(sorted((spec.get("params") or {}).items())), label=label, waves=waves,
            extra_sources=tuple(spec.get("sources", ())), rtl=spec.get("rtl", True),
        )
    return configs.periph(label, waves=waves)


def seeds_for(name: str, config: str, count: int) -> list[int]:
    """Deterministic, distinct seeds per (test, config): the same list every night."""
    base = zlib.crc32(f"{name}-{config}".encode()) & 0x7FFFFFFF
    return [(base + 7919 * i) % 2_000_000_000 + 1 for i in range(count)]


def plan(tests: list[dict], profile: str, seeds: int, pattern: str, testlist: Path) -> list[Job]:
    rnd, directed = PROFILES[profile]
    n_random = seeds if rnd is None else max(rnd, seeds if profile == "nightly" else rnd)
    jobs = []
    for t in tests:
        for cfg in t.get("configs", ["msg64"]):
            name = f"{t['name']}-{cfg}"
            if pattern and not (fnmatch.fnmatch(name, f"*{pattern}*") or fnmatch.fnmatch(t["name"], pattern)):
                continue
            count = n_random if t.get("random") else directed
            if not count:
                continue
            pp = tuple(str((testlist.parent / p).resolve()) for p in t.get("pythonpath", ()))
            for s in seeds_for(t["name"], cfg, count):
                jobs.append(Job(t["name"], t["module"], t.get("testcase", t["name"]), cfg, s, bool(t.get("random")), pp))
    return jobs


def first_error(run_dir: Path, failures: list[str]) -> str:
    log = run_dir / "sim.log"
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            if _ERR.search(line):
                return line.strip()[:300]
    return (failures[0] if failures else "failed (no log)")[:300]


def rerun_command(job: Job, testlist: Path) -> str:
    extra = "" if testlist.resolve() == (SIM / "testlist.yaml").resolve() else f" TESTLIST={testlist}"
    return f"make waves TEST={job.run_name} SEED={job.seed}{extra}"


def execute(job: Job, local: dict, out: Path, testlist: Path) -> Outcome:
    run_dir = out / job.run_name / f"seed-{job.seed}"
    t0 = time.monotonic()
    try:
        res = hdl.run(hdl_config(job.config, local), job.module, job.testcase, run_dir, seed=job.seed,
                      pythonpath=job.pythonpath)
        passed, failures, sim_ns = res.passed, res.failures, res.sim_time_ns
    except Exception as exc:  # a crash of the flow is a failed run, not a crashed regression
        passed, failures, sim_ns = False, [f"{type(exc).__name__}: {exc}"], 0.0
    return Outcome(job.test, job.config, job.seed, passed, round(time.monotonic() - t0, 2), int(sim_ns // hdl.CLK_NS),
                   "" if passed else first_error(run_dir, failures), str(run_dir), rerun_command(job, testlist))


def report(outcomes: list[Outcome], reports: Path, profile: str, wall: float) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault((o.test, o.config), []).append(o)

    # JUnit
    suites = ET.Element("testsuites", name=f"regress-{profile}", tests=str(len(outcomes)),
                        failures=str(sum(not o.passed for o in outcomes)), time=f"{wall:.1f}")
    for (test, cfg), runs in sorted(groups.items()):
        suite = ET.SubElement(suites, "testsuite", name=f"{test}-{cfg}", tests=str(len(runs)),
                              failures=str(sum(not r.passed for r in runs)))
        for r in runs:
            case = ET.SubElement(suite, "testcase", classname=f"{test}-{cfg}", name=f"seed-{r.seed}",
                                 time=f"{r.seconds:.2f}")
            ET.SubElement(case, "properties").extend([
                ET.Element("property", name="cycles", value=str(r.cycles)),
                ET.Element("property", name="rerun", value=r.rerun),
            ])
            if not r.passed:
                fail = ET.SubElement(case, "failure", message=r.first_error)
                fail.text = f"{r.first_error}\nrerun: {r.rerun}\nrun folder: {r.run_dir}"
    ET.ElementTree(suites).write(reports / "regress.xml", encoding="utf-8", xml_declaration=True)

    (reports / "regress.json").write_text(json.dumps(
        {"profile": profile, "wall_seconds": round(wall, 1), "runs": [asdict(o) for o in outcomes]}, indent=1))

    # terminal + HTML
    rows = []
    for (test, cfg), runs in sorted(groups.items()):
        bad = [r for r in runs if not r.passed]
        rows.append((f"{test}-{cfg}", len(runs) - len(bad), len(bad), sum(r.seconds for r in runs),
                     sum(r.cycles for r in runs), ", ".join(str(r.seed) for r in bad)))
    w = max([len(r[0]) for r in rows] + [4])
    print(f"\n{'test':<{w}}  pass  fail  time(s)      cycles  failing seeds")
    for name, ok, bad, secs, cyc, seeds in rows:
        print(f"{name:<{w}}  {ok:>4}  {bad:>4}  {secs:>7.1f}  {cyc:>10}  {seeds}")
    fails = [o for o in outcomes if not o.passed]
    for o in fails:
        print(f"\nFAIL {o.test}-{o.config} seed {o.seed}: {o.first_error}\n  rerun: {o.rerun}\n  folder: {o.run_dir}")
    total = len(outcomes)
    print(f"\n{total - len(fails)}/{total} runs passed in {wall:.0f} s; reports in {reports}/regress.{{xml,html,json}}")

    def esc(x) -> str:
        return html.escape(str(x))

    body = "".join(
        f"<tr class={'bad' if bad else 'ok'}><td>{esc(n)}</td><td>{ok}</td><td>{bad}</td><td>{s:.1f}</td><td>{c}</td><td>{esc(sd)}</td></tr>"
        for n, ok, bad, s, c, sd in rows)
    fbody = "".join(
        f"<tr><td>{esc(o.test)}-{esc(o.config)}</td><td>{o.seed}</td><td><code>{esc(o.first_error)}</code></td>"
        f"<td><code>{esc(o.rerun)}</code></td><td>{esc(o.run_dir)}</td></tr>" for o in fails)
    (reports / "regress.html").write_text(f"""<!doctype html><meta charset=utf-8><title>regression {esc(profile)}</title>
<style>body{{font-family:sans-serif}}td,th{{padding:2px 8px;border-bottom:1px solid #ddd}}.bad{{background:#fdd}}.ok{{background:#efe}}</style>
<h1>Regression ({esc(profile)}): {total - len(fails)}/{total} passed, {wall:.0f} s</h1>
<table><tr><th>test</th><th>pass</th><th>fail</th><th>time (s)</th><th>cycles</th><th>failing seeds</th></tr>{body}</table>
<h2>Failures</h2><table><tr><th>test</th><th>seed</th><th>first error</th><th>rerun</th><th>folder</th></tr>{fbody}</table>
""")


def run_regression(testlist: Path, profile: str, seeds: int, jobs: int, pattern: str, out: Path,
                   reports: Path) -> int:
    tests, local = load_testlist(testlist)
    work = plan(tests, profile, seeds, pattern, testlist)
    if not work:
        print("no test matches", file=sys.stderr)
        return 2
    print(f"regression '{profile}': {len(work)} run(s) of {len({j.run_name for j in work})} test/config pair(s), {jobs} job(s)")
    t0 = time.monotonic()
    for label in sorted({j.config for j in work}):  # each configuration once, before the runs
        hdl.build(hdl_config(label, local))
    outcomes = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = [pool.submit(execute, j, local, out, testlist) for j in work]
        for f in as_completed(futs):
            o = f.result()
            outcomes.append(o)
            print(f"  {'pass' if o.passed else 'FAIL'}  {o.test}-{o.config} seed {o.seed}  ({o.seconds:.1f} s)", flush=True)
    outcomes.sort(key=lambda o: (o.test, o.config, o.seed))
    report(outcomes, reports, profile, time.monotonic() - t0)
    return 0 if all(o.passed for o in outcomes) else 1


def rerun(run_name: str, seed: int | None, waves: bool = True, testlist: Path | None = None,
          png: bool = False) -> int:
    """Rerun one test on one configuration and seed, with an FST waveform, its GTKWave
    view (vmsgsim.waves) and, with png, a picture of the view."""
    testlist = Path(testlist or os.environ.get("TESTLIST") or SIM / "testlist.yaml")
    tests, local = load_testlist(testlist)
    for t in tests:
        for cfg in t.get("configs", ["msg64"]):
            if run_name in (f"{t['name']}-{cfg}", t["name"]):
                if seed is None:
                    seed = seeds_for(t["name"], cfg, 1)[0]
                job = Job(t["name"], t["module"], t.get("testcase", t["name"]), cfg, seed, bool(t.get("random")),
                          tuple(str((testlist.parent / p).resolve()) for p in t.get("pythonpath", ())))
                run_dir = BUILD / "waves" / f"{job.run_name}-seed-{seed}"
                res = hdl.run(hdl_config(cfg, local, waves=waves), job.module, job.testcase, run_dir, seed=seed,
                              pythonpath=job.pythonpath)
                print(f"{'PASS' if res.passed else 'FAIL'} {job.run_name} seed {seed}")
                for f in res.failures:
                    print(f"  {f}")
                print(f"run folder: {run_dir}\nlog: {run_dir / 'sim.log'}")
                rc_view = 0
                if waves:
                    from . import waves as waves_view

                    rc_view = waves_view.for_run(run_dir, cfg, hdl_config(cfg, local).top, not res.passed, png)
                return 0 if res.passed and not rc_view else 1
    print(f"unknown test {run_name!r} in {testlist}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tests", default="", help="glob on <test>-<config> names")
    ap.add_argument("--testlist", type=Path, default=Path(os.environ.get("TESTLIST") or SIM / "testlist.yaml"))
    ap.add_argument("--out", type=Path, default=BUILD / "regress")
    ap.add_argument("--reports", type=Path, default=REPORTS)
    a = ap.parse_args(argv)
    return run_regression(a.testlist, a.profile, a.seeds, a.jobs, a.tests, a.out.resolve(), a.reports.resolve())


if __name__ == "__main__":
    sys.exit(main())
