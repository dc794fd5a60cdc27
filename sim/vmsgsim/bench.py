"""Engine benchmark (`make bench`, `python -m vmsgsim.bench`): not a test.

Builds the used-index engine alone (rtl/engine/, NUM_Q 16, 64-bit data unless --data-w or the
scenario says otherwise) and runs each scenario of SCENARIOS as a cocotb run
(tb/vmsg/tests/engine_bench.py): completions offered back to back on the stream port, memory
write/read latency 0, 16 and 64 cycles, one queue and many queues (16 and 64) interleaved
completion by completion, at random or in random runs per queue, EVENT_IDX off and on, and a
32-bit and a 128-bit bus. Prints a table and writes build/reports/bench.json.

Figures per scenario: completions_per_cycle (steady state at the stream port),
idx_writes_per_completion, notifications_sent (NOTIFY_CNT) against notifications_required (the
notification oracle over the values the engine read), latency_cycles (completion accepted to
the B response of the used->idx write that publishes it, at low load), and the parameters.

bench.json also carries, under "synthesis", the Fmax and resources of the latest full
`make synth` run (build/reports/synth.json) as that run measured them, or a note that there is
none (`--synth-only` refreshes just that part).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import xml.etree.ElementTree as ET

from . import hdl
from .paths import REPORTS, RUNS

NUM_Q = 16
RING = 4096
N = 4000

# used rings 4 KiB aligned (elements at 4 mod 8: an element straddles two 64-bit beats), plus
# two many-queue scenarios with used rings at 4 mod 8 (elements 8-byte aligned, "-al8")
SCENARIOS = [
    {"name": f"{nq}q-lat{lat}-{'evidx' if ev else 'flags'}",
     "queues": nq, "latency": lat, "event_idx": ev, "ring_size": RING, "completions": N, "used_offset": 0}
    for nq in (1, 16) for lat in (0, 16, 64) for ev in (False, True)
] + [
    {"name": f"16q-lat{lat}-flags-al8", "queues": 16, "latency": lat, "event_idx": False,
     "ring_size": RING, "completions": N, "used_offset": 4}
    for lat in (0, 64)
] + [
    # a ring of 256: at most 256 completions may be accepted and not yet visible
    {"name": "1q-lat64-flags-ring256", "queues": 1, "latency": 64, "event_idx": False,
     "ring_size": 256, "completions": N, "used_offset": 0},
] + [
    # the queue of each completion drawn at random, or in random runs of 1..32 per queue
    {"name": f"16q-lat64-flags-{order}", "queues": 16, "latency": 64, "event_idx": False,
     "ring_size": RING, "completions": N, "used_offset": 0, "order": order}
    for order in ("random", "bursts")
] + [
    # 64 queues interleaved completion by completion (an engine build with NUM_Q 64)
    {"name": "64q-lat64-flags", "queues": 64, "latency": 64, "event_idx": False,
     "ring_size": RING, "completions": N, "used_offset": 0, "num_q": 64},
] + [
    # a 32-bit and a 128-bit bus (engine builds of their own)
    {"name": f"{nq}q-lat64-flags-w{w}", "queues": nq, "latency": 64, "event_idx": False,
     "ring_size": RING, "completions": N, "used_offset": 0, "data_w": w}
    for w in (32, 128) for nq in (1, 16)
]


def synth_figures(path=None) -> dict:
    """Fmax and resources of the latest full `make synth` run (build/reports/synth.json), as
    measured there: nothing is estimated; when there is no such run, a note says so."""
    path = REPORTS / "synth.json" if path is None else path
    try:
        rep = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"available": False, "source": str(path),
                "note": f"no synthesis report ({path}): run `make synth` for Fmax and resources"}
    if rep.get("quick"):
        return {"available": False, "source": str(path),
                "note": f"{path} is a quick run of {rep.get('top')}, not of the peripheral: run `make synth`"}
    p = rep.get("pnr") or {}
    out = {"available": True, "source": str(path), "top": rep.get("top"), "params": rep.get("params"),
           "date": rep.get("date"), "git": rep.get("git"), "command": rep.get("command"),
           "resources": rep.get("yosys", {}).get("cells", {}),
           "fmax_mhz": p.get("fmax_mhz") if p.get("ok") else None}
    if not p:
        out["note"] = "Yosys only, no place and route in that run: no Fmax"
        return out
    if not p.get("ok"):
        out["note"] = "place and route failed in that run: no Fmax"
        return out
    out.update({"part": p.get("part"), "speed": p.get("speed"), "target_mhz": p.get("target_mhz"),
                "timing_met": p.get("timing_met"), "utilization": p.get("utilization"),
                "worst_paths": [{k: w[k] for k in ("delay_ns", "start_instance", "end_instance", "start", "end")}
                                for w in p.get("worst_paths", [])[:3]]})
    return out


def print_synth(s: dict) -> None:
    if not s["available"] or s["fmax_mhz"] is None:
        print(f"\nsynthesis: {s['note']}")
        return
    fmax = ", ".join(f"{clk} {f} MHz" for clk, f in s["fmax_mhz"].items())
    res = s["resources"]
    print(f"\nsynthesis ({s['source']}, {s.get('date') or 'undated'}): {s['part']} speed {s['speed']}, "
          f"target {s['target_mhz']:g} MHz: Fmax {fmax}; LUT4 {res.get('LUT4', 0)}, FF {res.get('TRELLIS_FF', 0)}")


def config(data_w: int, num_q: int = NUM_Q) -> hdl.HdlConfig:
    params = {"NUM_Q": num_q, "AXI_DATA_W": data_w, "AXI_ADDR_W": 32}
    label = f"bench-w{data_w}" + ("" if num_q == NUM_Q else f"-q{num_q}")
    return hdl.HdlConfig(top="vmsg_used_engine", params=tuple(sorted(params.items())),
                         label=label, rtl_only=("engine",))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-w", type=int, default=64)
    ap.add_argument("--only", default="", help="run scenarios whose name contains this (or one of these, comma separated)")
    ap.add_argument("--completions", type=int, default=N)
    ap.add_argument("--no-speed", action="store_true", help="skip the simulation-speed figures")
    ap.add_argument("--synth-only", action="store_true",
                    help="only copy the synthesis figures into an existing bench.json")
    a = ap.parse_args(argv)
    out = REPORTS / "bench.json"
    synth = synth_figures()
    if a.synth_only:
        data = json.loads(out.read_text()) if out.exists() else {}
        data["synthesis"] = synth
        REPORTS.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=1))
        print_synth(synth)
        print(f"\nwritten: {out}")
        return 0
    results = []
    for sc in SCENARIOS:
        if a.only and not any(part in sc["name"] for part in a.only.split(",")):
            continue
        data_w = sc.get("data_w", a.data_w)
        sc = {**sc, "completions": a.completions, "data_w": data_w, "num_q": sc.get("num_q", NUM_Q)}
        cfg = config(data_w, sc["num_q"])
        t0 = time.time()
        run_dir = RUNS / f"bench-{sc['name']}-w{data_w}"
        r = hdl.run(cfg, "vmsg.tests.engine_bench", "bench_scenario", run_dir, seed=1,
                    extra_env={"VMSG_BENCH": json.dumps(sc)})
        res_file = run_dir / "bench_result.json"
        if not r.passed or not res_file.exists():
            print(f"{sc['name']}: FAILED ({run_dir / 'sim.log'}): {r.failures}", file=sys.stderr)
            results.append({**sc, "failed": True})
            continue
        res = json.loads(res_file.read_text())
        res["wall_s"] = round(time.time() - t0, 1)
        results.append(res)
        print(f"{res['name']:<22} {res['completions_per_cycle']:>7.3f} cpl/clk  "
              f"{res['idx_writes_per_completion']:>8.4f} idx/cpl  "
              f"notif {res['notifications_sent']:>5}/{res['notifications_required']:<5} "
              f"lat {res['latency_cycles']:>6.1f}  ({res['wall_s']} s)", flush=True)
    speed = [] if a.no_speed else sim_speed()
    REPORTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"engine": {"NUM_Q": NUM_Q, "AXI_DATA_W": a.data_w,
                                          "note": "defaults; a scenario's num_q / data_w override them"},
                               "scenarios": results,
                               "simulation_speed": speed, "synthesis": synth}, indent=1))
    print()
    hdr = f"{'scenario':<22} {'queues':>6} {'bus':>4} {'lat':>4} {'evidx':>5} {'cpl/clk':>8} {'idx/cpl':>8} {'sent':>6} {'req':>6} {'lat(clk)':>8}"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        if r.get("failed"):
            print(f"{r['name']:<22} FAILED")
            continue
        print(f"{r['name']:<22} {r['queues']:>6} {r['data_w']:>4} {r['latency']:>4} {str(r['event_idx']):>5} "
              f"{r['completions_per_cycle']:>8.3f} {r['idx_writes_per_completion']:>8.4f} "
              f"{r['notifications_sent']:>6} {r['notifications_required']:>6} {r['latency_cycles']:>8.1f}")
    if speed:
        print("\nsimulation speed (vmsg_periph, default parameters):")
    width = max((len(row["name"]) for row in speed), default=0)
    for row in (r for r in speed if not r.get("failed")):
        print(f"  {row['name']:<{width}} {row['cycles_per_s']:>12,.0f} cycles/s  ({row['cycles']:,} cycles in {row['wall_s']:.1f} s)")
    print_synth(synth)
    print(f"\nwritten: {out}")
    return 1 if any(r.get("failed") for r in results + speed) else 0


# (label, test module, test): the bare model is the reference for the testbench runs
SPEED_TESTS = [
    ("bare model (clock only)", "vmsg.tests.simspeed", "bench_bare_clock"),
    ("testbench: BlkIoTest", "vmsg.tests.io", "BlkIoTest"),
    ("testbench: RandomSystemTest", "vmsg.tests.system", "RandomSystemTest"),
]


def sim_speed() -> list[dict]:
    """Simulated cycles per second of a test's own real time (as cocotb measures it: no build,
    no process start-up): the bare Verilated model (clock in C++, no Python activity) against
    full testbench runs (pyuvm, models, checkers)."""
    from . import configs

    cfg = configs.periph("msg64")
    rows = []
    for name, module, test in SPEED_TESTS:
        d = RUNS / f"bench-speed-{test}"
        r = hdl.run(cfg, module, test, d, seed=1)
        tc = ET.parse(r.results_xml).getroot().find(".//testcase") if r.passed else None
        wall = float(tc.get("time") or 0) if tc is not None else 0.0
        if not wall:
            print(f"simulation speed, {test}: FAILED ({d / 'sim.log'})", file=sys.stderr)
            rows.append({"name": name, "failed": True})
            continue
        cycles = int(r.sim_time_ns // hdl.CLK_NS)
        rows.append({"name": name, "cycles": cycles, "wall_s": wall, "cycles_per_s": cycles / wall})
    return rows


if __name__ == "__main__":
    sys.exit(main())
