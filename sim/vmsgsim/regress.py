"""Regression runner: every test of a test list over many seeds, in parallel.

    python -m vmsgsim.regress [--profile quick|ci|nightly] [--seeds N] [--jobs N]
                              [--tests PATTERN] [--testlist FILE] [--out DIR]
                              [--run-seed N] [--seed-list FILE] [--kept FILE]
                              [--replay-kept | --no-replay-kept] [--record | --no-record]

Profiles: `quick` runs random tests over SEEDS seeds (default 3) and directed
tests once; `ci` (the short profile of `make test`) runs only the random tests,
over two seeds each; `nightly` runs every random test over at least 50 seeds
and directed tests once.

Seeds are fresh on every run: a run seed is drawn at start (or given with
--run-seed, which replays the whole plan), printed, stored in the reports,
and every run's own seed is derived from it. The kept list of seeds that
ever failed (--kept, default sim/seeds/failed.yaml) is rerun by `nightly`
(--replay-kept for the other profiles), and `nightly` appends every new
failing (test, seed) to it (--record / --no-record). --seed-list FILE runs
exactly the (test, seed) pairs of FILE: the kept list's format, a
regress.json report, or lines `<test>-<config> <seed>`.

Each HDL configuration is built once;
each run gets its own folder <out>/<test>-<config>/seed-<seed>/. Reports:
<reports>/regress.xml (JUnit), regress.html, regress.json and a table on the
terminal, with the first error line of each failure and the command that
reruns it with waveforms. Exit status 1 if any run failed.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import hashlib
import html
import json
import os
import re
import secrets
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

KEPT = SIM / "seeds" / "failed.yaml"

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
    origin: str = "fresh"  # fresh (drawn from the run seed), kept (the kept list), list (--seed-list)

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
    origin: str = "fresh"


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


def seeds_for(name: str, config: str, count: int, run_seed: int | None = None) -> list[int]:
    """Distinct seeds per (test, config). With run_seed (every regression run draws a fresh one):
    derived from it, so a run seed replays its whole plan; without: a fixed list (the default
    seed of `make waves` without SEED)."""
    if run_seed is None:
        base = zlib.crc32(f"{name}-{config}".encode()) & 0x7FFFFFFF
        return [(base + 7919 * i) % 2_000_000_000 + 1 for i in range(count)]
    out: list[int] = []
    i = 0
    while len(out) < count:
        h = hashlib.sha256(f"{run_seed}:{name}-{config}:{i}".encode()).digest()
        s = int.from_bytes(h[:4], "little") % 2_000_000_000 + 1
        if s not in out:
            out.append(s)
        i += 1
    return out


def draw_run_seed() -> int:
    return secrets.randbelow(2_000_000_000) + 1


def _selected(name: str, test: str, pattern: str) -> bool:
    return not pattern or fnmatch.fnmatch(name, f"*{pattern}*") or fnmatch.fnmatch(test, pattern)


def _job(t: dict, cfg: str, seed: int, testlist: Path, origin: str = "fresh") -> Job:
    pp = tuple(str((testlist.parent / p).resolve()) for p in t.get("pythonpath", ()))
    return Job(t["name"], t["module"], t.get("testcase", t["name"]), cfg, seed, bool(t.get("random")), pp, origin)


def plan(tests: list[dict], profile: str, seeds: int, pattern: str, testlist: Path,
         run_seed: int | None = None) -> list[Job]:
    rnd, directed = PROFILES[profile]
    n_random = seeds if rnd is None else max(rnd, seeds if profile == "nightly" else rnd)
    jobs = []
    for t in tests:
        for cfg in t.get("configs", ["msg64"]):
            name = f"{t['name']}-{cfg}"
            if not _selected(name, t["name"], pattern):
                continue
            count = n_random if t.get("random") else directed
            if not count:
                continue
            for s in seeds_for(t["name"], cfg, count, run_seed):
                jobs.append(_job(t, cfg, s, testlist))
    return jobs


def read_seed_list(path: Path) -> list[tuple[str, int]]:
    """(<test>-<config>, seed) pairs of a kept list (YAML `failed:` / `runs:` of {test, seed}), a
    regress.json report ({test, config, seed}), or a text file of `<test>-<config> <seed>` lines."""
    text = Path(path).read_text()
    pairs: list[tuple[str, int]] = []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict):
        for e in (data.get("failed") or data.get("runs") or []):
            name = e["test"] if "config" not in e or str(e["test"]).endswith(f"-{e['config']}") \
                else f"{e['test']}-{e['config']}"
            pairs.append((str(name), int(e["seed"])))
        return pairs
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"{path}:{n}: expected `<test>-<config> <seed>`, got {line!r}")
        pairs.append((parts[0], int(parts[1])))
    return pairs


def jobs_for_pairs(tests: list[dict], pairs: list[tuple[str, int]], testlist: Path, origin: str,
                   pattern: str = "", strict: bool = True) -> list[Job]:
    """Jobs for (<test>-<config>, seed) pairs; an unknown name raises ValueError (strict) or is skipped."""
    by_name = {f"{t['name']}-{cfg}": (t, cfg) for t in tests for cfg in t.get("configs", ["msg64"])}
    jobs, unknown = [], []
    for name, seed in pairs:
        if name not in by_name:
            unknown.append(name)
            continue
        t, cfg = by_name[name]
        if _selected(name, t["name"], pattern):
            jobs.append(_job(t, cfg, seed, testlist, origin))
    if unknown and strict:
        raise ValueError(f"not in {testlist}: {', '.join(sorted(set(unknown)))}")
    if unknown:
        print(f"kept list: skipping {len(set(unknown))} test(s) no longer in {testlist.name}: "
              f"{', '.join(sorted(set(unknown)))}")
    return jobs


def record_failures(kept: Path, outcomes: list["Outcome"]) -> list[tuple[str, int]]:
    """Append every failing (test, seed) not yet in the kept list; returns what was added."""
    have = set(read_seed_list(kept)) if kept.exists() else set()
    new = []
    for o in outcomes:
        key = (f"{o.test}-{o.config}", o.seed)
        if not o.passed and key not in have:
            have.add(key)
            new.append((key, o.first_error))
    if not new:
        return []
    kept.parent.mkdir(parents=True, exist_ok=True)
    if not kept.exists() or not kept.read_text().strip():
        kept.write_text("# Every (test, seed) that ever failed a regression run: `make nightly` reruns them all\n"
                        "# (vmsgsim.regress appends new failures; a fixed bug's seed stays as a regression test).\n"
                        "failed:\n")
    today = datetime.date.today().isoformat()
    with kept.open("a") as f:
        for (name, seed), err in new:
            f.write(f"  - {{test: {name}, seed: {seed}, first_failed: {today}, error: {json.dumps(err[:200])}}}\n")
    return [k for k, _ in new]


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
                   "" if passed else first_error(run_dir, failures), str(run_dir), rerun_command(job, testlist),
                   job.origin)


def report(outcomes: list[Outcome], reports: Path, profile: str, wall: float, run_seed: int | None = None) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault((o.test, o.config), []).append(o)

    # JUnit
    suites = ET.Element("testsuites", name=f"regress-{profile}", tests=str(len(outcomes)),
                        failures=str(sum(not o.passed for o in outcomes)), time=f"{wall:.1f}")
    ET.SubElement(suites, "properties").append(ET.Element("property", name="run_seed", value=str(run_seed)))
    for (test, cfg), runs in sorted(groups.items()):
        suite = ET.SubElement(suites, "testsuite", name=f"{test}-{cfg}", tests=str(len(runs)),
                              failures=str(sum(not r.passed for r in runs)))
        for r in runs:
            case = ET.SubElement(suite, "testcase", classname=f"{test}-{cfg}", name=f"seed-{r.seed}",
                                 time=f"{r.seconds:.2f}")
            ET.SubElement(case, "properties").extend([
                ET.Element("property", name="cycles", value=str(r.cycles)),
                ET.Element("property", name="rerun", value=r.rerun),
                ET.Element("property", name="origin", value=r.origin),
            ])
            if not r.passed:
                fail = ET.SubElement(case, "failure", message=r.first_error)
                fail.text = f"{r.first_error}\nrerun: {r.rerun}\nrun folder: {r.run_dir}"
    ET.ElementTree(suites).write(reports / "regress.xml", encoding="utf-8", xml_declaration=True)

    (reports / "regress.json").write_text(json.dumps(
        {"profile": profile, "run_seed": run_seed, "wall_seconds": round(wall, 1),
         "runs": [asdict(o) for o in outcomes]}, indent=1))

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
    print(f"\n{total - len(fails)}/{total} runs passed in {wall:.0f} s (run seed {run_seed}); "
          f"reports in {reports}/regress.{{xml,html,json}}")

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
<p>run seed {esc(run_seed)} (replay the plan: <code>--run-seed {esc(run_seed)}</code>)</p>
<table><tr><th>test</th><th>pass</th><th>fail</th><th>time (s)</th><th>cycles</th><th>failing seeds</th></tr>{body}</table>
<h2>Failures</h2><table><tr><th>test</th><th>seed</th><th>first error</th><th>rerun</th><th>folder</th></tr>{fbody}</table>
""")


def kept_defaults(profile: str) -> tuple[bool, bool]:
    """(rerun the kept list, record new failures in it) when not told: the nightly does both; the
    quick and ci profiles (a developer's or CI's checkout) neither."""
    return profile == "nightly", profile == "nightly"


def run_regression(testlist: Path, profile: str, seeds: int, jobs: int, pattern: str, out: Path,
                   reports: Path, run_seed: int | None = None, seed_list: Path | None = None,
                   kept: Path | None = None, replay_kept: bool | None = None, record: bool | None = None) -> int:
    tests, local = load_testlist(testlist)
    kept = Path(kept or KEPT)
    d_replay, d_record = kept_defaults(profile)
    replay_kept = d_replay if replay_kept is None else replay_kept
    record = d_record if record is None else record
    run_seed = draw_run_seed() if run_seed is None else run_seed
    if seed_list is not None:
        try:
            work = jobs_for_pairs(tests, read_seed_list(seed_list), testlist, "list", pattern)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"--seed-list {seed_list}: {exc}", file=sys.stderr)
            return 2
        print(f"regression: replaying {len(work)} (test, seed) pair(s) of {seed_list}")
    else:
        work = plan(tests, profile, seeds, pattern, testlist, run_seed)
        if replay_kept and kept.exists():
            have = {(j.run_name, j.seed) for j in work}
            again = [j for j in jobs_for_pairs(tests, read_seed_list(kept), testlist, "kept", pattern, strict=False)
                     if (j.run_name, j.seed) not in have]
            print(f"kept list {kept}: {len(again)} seed(s) that failed before, rerun")
            work += again
    if not work:
        print("no test matches", file=sys.stderr)
        return 2
    print(f"regression '{profile}': run seed {run_seed} (replay this plan: --run-seed {run_seed}); "
          f"{len(work)} run(s) of {len({j.run_name for j in work})} test/config pair(s), {jobs} job(s)", flush=True)
    t0 = time.monotonic()
    for label in sorted({j.config for j in work}):  # each configuration once, before the runs
        hdl.build(hdl_config(label, local))
    outcomes = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = [pool.submit(execute, j, local, out, testlist) for j in work]
        for f in as_completed(futs):
            o = f.result()
            outcomes.append(o)
            print(f"  {'pass' if o.passed else 'FAIL'}  {o.test}-{o.config} seed {o.seed}"
                  f"{'' if o.origin == 'fresh' else f' ({o.origin})'}  ({o.seconds:.1f} s)", flush=True)
    outcomes.sort(key=lambda o: (o.test, o.config, o.seed))
    report(outcomes, reports, profile, time.monotonic() - t0, run_seed)
    if record:
        added = record_failures(kept, outcomes)
        if added:
            print(f"kept list {kept}: added {len(added)} failing seed(s): "
                  + ", ".join(f"{n} {s}" for n, s in added))
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
    ap.add_argument("--run-seed", type=int, default=None, help="replay the plan of this run seed (default: fresh)")
    ap.add_argument("--seed-list", type=Path, default=None, help="run exactly the (test, seed) pairs of this file")
    ap.add_argument("--kept", type=Path, default=KEPT, help="the kept list of seeds that ever failed")
    ap.add_argument("--replay-kept", action=argparse.BooleanOptionalAction, default=None,
                    help="also rerun the kept list (default: nightly only)")
    ap.add_argument("--record", action=argparse.BooleanOptionalAction, default=None,
                    help="append new failing seeds to the kept list (default: nightly only)")
    a = ap.parse_args(argv)
    return run_regression(a.testlist, a.profile, a.seeds, a.jobs, a.tests, a.out.resolve(), a.reports.resolve(),
                          a.run_seed, a.seed_list, a.kept, a.replay_kept, a.record)


if __name__ == "__main__":
    sys.exit(main())
