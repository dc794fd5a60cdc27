"""The synthesis flow (sim/vmsgsim/synth.py) and what `make bench` copies from it.

Fast: a hand-written SDF timed by the flow's own timing pass; Yosys alone on one small block;
a real Yosys + nextpnr run of a tiny two-level design (sim/tests/fixture/synth_pair.sv) whose
paths are grouped by instance and checked against nextpnr's own critical path; the copy of the
figures into bench.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vmsgsim import bench, synth
from vmsgsim.paths import BUILD, REPORTS, ROOT

FIXTURE = ROOT / "sim" / "tests" / "fixture"

# two flip-flops, a LUT between them, one untimed input: the path q0 -> lut -> q1 takes
# 400 (clock to Q) + 100 + 250 (LUT A->Z) + 60 + 30 (setup) = 840 ps; the input's path is not timed
SDF = r"""(DELAYFILE
  (SDFVERSION "3.0")
  (TIMESCALE 1ps)
  (CELL
    (CELLTYPE "top")
    (INSTANCE )
    (DELAY
      (ABSOLUTE
        (INTERCONNECT u_a.q0_TRELLIS_FF_Q/Q u_a.lut\$CCU2_COMB0/A (90:95:100) (90:95:100))
        (INTERCONNECT u_a.lut\$CCU2_COMB0/F q1_TRELLIS_FF_Q/DI (50:55:60) (40:45:50))
        (INTERCONNECT in_i\[0\]/O u_a.lut\$CCU2_COMB0/B (900:950:1000) (900:950:1000))
        (INTERCONNECT clk_buf/O q1_TRELLIS_FF_Q/CLK (0:0:0) (0:0:0))
      )
    )
  )
  (CELL
    (CELLTYPE "TRELLIS_FF")
    (INSTANCE u_a.q0_TRELLIS_FF_Q)
    (DELAY
      (ABSOLUTE
        (IOPATH CLK Q (300:350:400) (300:350:400))
      )
    )
    (TIMINGCHECK
      (SETUPHOLD (posedge DI) (posedge CLK) (10:20:30) (0:0:0))
    )
  )
  (CELL
    (CELLTYPE "TRELLIS_COMB")
    (INSTANCE u_a.lut\$CCU2_COMB0)
    (DELAY
      (ABSOLUTE
        (IOPATH A F (200:225:250) (200:225:250))
        (IOPATH B F (100:110:120) (100:110:120))
      )
    )
  )
  (CELL
    (CELLTYPE "TRELLIS_FF")
    (INSTANCE q1_TRELLIS_FF_Q)
    (DELAY
      (ABSOLUTE
        (IOPATH CLK Q (300:350:400) (300:350:400))
      )
    )
    (TIMINGCHECK
      (SETUPHOLD (posedge DI) (posedge CLK) (10:20:30) (0:0:0))
      (SETUPHOLD (negedge DI) (posedge CLK) (5:10:15) (0:0:0))
    )
  )
)
"""


def test_sdf_timing_of_a_known_path(tmp_path):
    sdf = tmp_path / "t.sdf"
    sdf.write_text(SDF)
    paths = synth.time_paths(synth.parse_sdf(sdf))
    # q0's own input is driven by nothing clocked: only q1 is a timed endpoint
    assert [(p["start"], p["end"], p["end_port"]) for p in paths] == [("u_a.q0_TRELLIS_FF_Q", "q1_TRELLIS_FF_Q", "DI")]
    assert paths[0]["delay_ns"] == pytest.approx(0.840, abs=1e-6)
    assert paths[0]["cells"] == ["u_a.q0_TRELLIS_FF_Q", "u_a.lut$CCU2_COMB0", "q1_TRELLIS_FF_Q"]


def run_synth(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vmsgsim.synth", *args], cwd=ROOT, capture_output=True, text=True)


def test_yosys_only_on_one_block():
    """The Yosys path of --quick on a small block: a netlist and its resources, no place and route."""
    out = BUILD / "synth" / "test-doorbell"
    r = run_synth("--quick", "--block", "vmsg_doorbell", "-G", "NUM_DEVS=2", "-G", "NUM_VQS=2", "--no-pnr",
                  "--out", str(out), "--report-stem", "test-synth-doorbell")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    rep = json.loads((REPORTS / "test-synth-doorbell.json").read_text())
    assert rep["top"] == "vmsg_doorbell" and rep["pnr"] is None
    assert rep["params"] == {"NUM_DEVS": "2", "NUM_VQS": "2"}
    cells = rep["yosys"]["cells"]
    assert cells.get("TRELLIS_FF", 0) > 0 and cells.get("LUT4", 0) > 0
    top = [row for row in rep["resources_by_instance"] if row["instance"] == ""]
    assert top and top[0]["cells"]["FF"] == cells["TRELLIS_FF"]
    assert (out / "netlist.json").exists()


@pytest.fixture(scope="module")
def pair_report():
    # one run folder per pytest-xdist worker: workers may each run this fixture at once
    tag = os.environ.get("PYTEST_XDIST_WORKER", "main")
    out = BUILD / "synth" / f"test-pair-{tag}"
    r = run_synth("--top", "synth_pair", "--files", str(FIXTURE / "seed_sum.sv"), str(FIXTURE / "synth_pair.sv"),
                  "--out", str(out), "--report-stem", f"test-synth-pair-{tag}")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return json.loads((REPORTS / f"test-synth-pair-{tag}.json").read_text())


def test_pnr_of_a_tiny_design_reports_fmax(pair_report):
    p = pair_report["pnr"]
    assert p["ok"] and p["part"] == "LFE5U-45F" and p["speed"] == 8 and p["target_mhz"] == 200
    assert set(p["fmax_mhz"]) == {"clk_i"}
    (crit,) = p["critical_paths"]
    # nextpnr's Fmax is the inverse of its critical path
    assert 1000.0 / crit["delay_ns"] == pytest.approx(p["fmax_mhz"]["clk_i"], rel=2e-3)
    # the flow's own timing of the routed delays finds the same worst path
    assert abs(p["sdf_vs_nextpnr_ns"]) <= 0.002
    assert p["worst_paths"][0]["start"] == crit["start"] and p["worst_paths"][0]["end"] == crit["end"]


def test_paths_grouped_by_instance(pair_report):
    p = pair_report["pnr"]
    groups = {g["instance"]: g for g in p["paths_by_end_instance"]}
    assert set(groups) == {"", "u_lo", "u_hi"}
    assert groups["u_lo"]["module"] == groups["u_hi"]["module"] == "seed_sum"
    assert groups[""]["module"] == "synth_pair"
    # the product register (18 bits) ends the longest paths, which start in a sum register
    # of u_lo or u_hi; each sum (9 bits) is fed by the top's input registers
    assert p["paths_by_end_instance"][0]["instance"] == ""
    assert groups[""]["endpoints"] == 18
    assert groups[""]["worst"]["start_instance"] in ("u_lo (seed_sum)", "u_hi (seed_sum)")
    for inst in ("u_lo", "u_hi"):
        assert groups[inst]["endpoints"] == 9
        assert groups[inst]["worst"]["start_instance"] == "synth_pair (synth_pair)"
        assert groups[inst]["worst_ns"] < groups[""]["worst_ns"]
    assert p["endpoints_timed"] == 36
    assert p["endpoints_failing"] == sum(g["failing"] for g in groups.values())


def test_resources_by_instance(pair_report):
    rows = {r["instance"]: r for r in pair_report["pnr"]["resources_by_instance"]}
    # flip-flops by the design: 4 x 8 input registers and the 18-bit product at the top,
    # a 9-bit sum in each instance (the top counts its instances too)
    assert rows["u_lo"]["cells"]["FF"] == rows["u_hi"]["cells"]["FF"] == 9
    assert rows[""]["cells"]["FF"] == 32 + 18 + 9 + 9 == pair_report["yosys"]["cells"]["TRELLIS_FF"]


def test_bench_copies_synthesis_figures(tmp_path, pair_report):
    missing = bench.synth_figures(tmp_path / "none.json")
    assert missing["available"] is False and "make synth" in missing["note"]
    assert "fmax_mhz" not in missing and "resources" not in missing
    src = tmp_path / "synth.json"
    # a quick run (one block, here the fixture) is not the peripheral's figure
    src.write_text(json.dumps(pair_report))
    quick = bench.synth_figures(src)
    assert quick["available"] is False and "quick run" in quick["note"] and "fmax_mhz" not in quick
    pair_report = {**pair_report, "quick": False}
    src.write_text(json.dumps(pair_report))
    got = bench.synth_figures(src)
    p = pair_report["pnr"]
    assert got["available"] is True
    assert got["fmax_mhz"] == p["fmax_mhz"] and got["target_mhz"] == p["target_mhz"]
    assert got["resources"]["TRELLIS_FF"] == pair_report["yosys"]["cells"]["TRELLIS_FF"]
    assert got["utilization"] == p["utilization"]
    assert [w["delay_ns"] for w in got["worst_paths"]] == [w["delay_ns"] for w in p["worst_paths"][:3]]
    # a run that did not place and route has no Fmax to copy
    src.write_text(json.dumps({**pair_report, "pnr": None}))
    got = bench.synth_figures(src)
    assert got["available"] is True and got["fmax_mhz"] is None and "no place and route" in got["note"]
