"""The mutation flow (vmsgsim.mutate): its mutator on small SystemVerilog snippets, its sampling on
the real RTL, and the whole flow on a fixture design (sim/tests/fixture/mut/) with a tiny test
command, so that it runs in seconds."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vmsgsim import mutate
from vmsgsim.paths import ROOT, RTL

FIX = ROOT / "sim" / "tests" / "fixture" / "mut"


def sites(src: str) -> list[mutate.Mutant]:
    return mutate.mutants_of("rtl/x/t.sv", src, "x/t.sv")


def changes(src: str) -> set[tuple[str, str, str]]:
    return {(m.kind, m.old, m.new) for m in sites(src)}


def wrap(body: str) -> str:
    return f"module t (input logic clk_i, input logic a, input logic b, input logic c, output logic y);\n{body}\nendmodule\n"


# ---- the mutator ------------------------------------------------------------------------------

def test_each_operator():
    src = wrap("""
  logic [3:0] q, d;
  assign y = (a < b) && (d == 4'h3) && !c;
  always_ff @(posedge clk_i) begin
    if (a && b && c) q <= d & 4'h1;
    else q <= '0;
  end""")
    got = changes(src)
    for want in [
        ("relational", "<", "<="), ("relational", "<", ">="),
        ("equality", "==", "!="),
        ("logical", "&&", "||"), ("logical", "&", "|"), ("logical", "!", ""),
        ("constant", "4'h3", "4'h2"), ("constant", "4'h3", "4'hB"), ("constant", "'0", "'1"),
        ("negate", "a && b && c", "!(a && b && c)"),
        ("drop-term", "a &&", ""), ("drop-term", "&& b", ""), ("drop-term", "&& c", ""),
        ("stuck-at", "c", "'0"), ("stuck-at", "c", "'1"),
        ("stuck-at", "(a < b) && (d == 4'h3) && !c", "'0"),
        ("delete", "q <= d & 4'h1", ""), ("delete", "q <= '0", ""),
    ]:
        assert want in got, f"missing {want}"
    assert {m.kind for m in sites(src)} <= set(mutate.OPERATORS)
    # every mutant changes exactly its span, and the result differs from the original
    for m in sites(src):
        new = m.apply(src)
        assert new != src and new[: m.start] == src[: m.start]


def test_nonblocking_assignment_is_not_a_relational_operator():
    src = wrap("""
  logic [3:0] q;
  always_ff @(posedge clk_i) if (q <= 4'd3) q <= q + 4'd1;""")
    rel = [m for m in sites(src) if m.kind == "relational"]
    assert rel and all(src[m.start - 2:m.start] == "q " and src[m.end:m.end + 5] == " 4'd3" for m in rel)
    assert len(rel) == 2  # '<=' -> '<' and '>' in the condition only


def test_comments_strings_assertions_and_parameter_checks_are_never_mutated():
    src = """// a < b && c == 1'b1
module t #(parameter int W = 4) (input logic clk_i, input logic a, input logic b, output logic y);
  if (W < 2 || W > 8) begin : g_bad_params
    $fatal(1, "t: W %0d must be 2..8 (a && b)", W);
  end
  /* assign y = a && b; */
  assign y = a | b;  // a == b
  always_ff @(posedge clk_i) begin
    assert (a || !b) else $error("t: a < b && c");
    $display("x && y < %0d", 1'b1);
    for (int i = 0; i < 4; i++) if (a) y2 <= b;
  end
`ifndef SYNTHESIS
  assign dbg = a && b;
  a_x: assert property (@(posedge clk_i) a |-> b) else $error("t: a");
`else
  assign syn_only = a && b;
`endif
`ifdef SYNTHESIS
  assign syn_only2 = a || b;
`else
  assign sim_only = a ^ b;
`endif
`ifdef VMSG_ASSERT_ON
  assign dbg2 = a && b;
  `VMSG_ASSERT(a_y, a -> b, ("t: a"))
`endif
`ifndef VMSG_ASSERT_ON
  assign syn_only3 = a || b;
`else
  assign sim_only2 = a ^ b;
`endif
endmodule
"""
    ms = sites(src)
    lines = {m.line for m in ms}
    assert lines, "no site at all"
    text = src.splitlines()
    for m in ms:
        line = text[m.line - 1]
        assert "//" not in src[m.start:m.end] and '"' not in src[m.start:m.end]
        assert not any(k in line for k in ("$fatal", "$error", "$display", "assert", "ASSERT", "dbg", "sim_only",
                                           "W < 2")), line
        col = m.start - src.rfind("\n", 0, m.start) - 1
        assert "//" not in line or line.index("//") > col, line  # not inside a comment of its line
    # the for header is not mutated, its body is
    assert not [m for m in ms if m.old in ("0", "4", "i") and "for" in text[m.line - 1] and m.kind == "constant"]
    assert [m for m in ms if m.kind == "delete" and m.old == "y2 <= b"]
    # the code that synthesis sees is mutated, in both directions of `ifdef / `else
    assert [m for m in ms if "syn_only =" in text[m.line - 1]]
    assert [m for m in ms if "syn_only2 =" in text[m.line - 1]]
    assert [m for m in ms if "syn_only3 =" in text[m.line - 1]]
    assert [m for m in ms if m.old == "|" and "assign y" in text[m.line - 1]]


def test_unused_sinks_and_declarations_are_not_mutated():
    src = wrap("""
  logic unused_x;
  assign unused_x = ^{a, b};
  localparam int N = 3 + 1;
  logic [N-1:0] v = '0;
  assign y = a;""")
    assert {m.line for m in sites(src)} == {src.splitlines().index("  assign y = a;") + 1}


def test_descriptions_are_stable_and_ids_unique():
    src = wrap("  assign y = a && b;\n  assign z = a && b;")
    shifted = "// a new first line\n\n" + src
    a, b = sites(src), sites(shifted)
    assert [(m.description, m.id) for m in a] == [(m.description, m.id) for m in b]
    assert len({m.id for m in a}) == len(a), "two mutants share an id"
    assert all(str(m.line) not in m.description.split("`")[0] for m in a)
    other = mutate.mutants_of("rtl/x/u.sv", src, "x/u.sv")
    assert not {m.id for m in a} & {m.id for m in other}


def test_constant_variants():
    assert mutate._const_variants("1'b0") == ["1'b1"]
    assert mutate._const_variants("8'd0") == ["8'd1", "8'd128"]
    assert mutate._const_variants("'1") == ["'0"]
    assert mutate._const_variants("5") == ["6", "4"]
    assert mutate._const_variants("0") == ["1"]


# ---- sampling on the real RTL ------------------------------------------------------------------

def _sim_only_lines(path: Path) -> set[int]:
    """Lines inside `ifndef SYNTHESIS ... `endif, found by a plain line scan (independent of the tokenizer)."""
    out, inside = set(), False
    for n, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if s.startswith("`ifndef SYNTHESIS"):
            inside = True
        elif s.startswith("`endif") and inside:
            inside = False
        if inside:
            out.add(n)
    return out


def real_mutants() -> list[mutate.Mutant]:
    files = mutate.rtl_files(RTL)
    return [m for p in files for m in mutate.mutants_of(mutate.rel_name(p, RTL), p.read_text(),
                                                        str(p.relative_to(RTL)))]


def test_every_rtl_folder_has_mutants_and_skipped_code_is_skipped():
    ms = real_mutants()
    folders = {m.folder for m in ms}
    want = {p.name for p in RTL.iterdir() if p.is_dir() and list(p.glob("*.sv"))} | {"(top)"}
    assert folders == want
    assert not [m for m in ms if m.file.startswith(("rtl/regs", "rtl/lint", "build/"))]
    for path in mutate.rtl_files(RTL):
        rel = mutate.rel_name(path, RTL)
        bad = _sim_only_lines(path)
        text = path.read_text().splitlines()
        for m in (m for m in ms if m.file == rel):
            assert m.line not in bad, f"{rel}:{m.line} is simulation-only code"
            assert "$fatal" not in text[m.line - 1] and "assert" not in text[m.line - 1]


def test_sample_reproducible_stratified_and_seed_streams_differ():
    ms = real_mutants()
    a = mutate.draw(list(ms), 5, "main")
    assert [m.id for m in a] == [m.id for m in mutate.draw(list(ms), 5, "main")]
    assert [m.id for m in a[:60]] != [m.id for m in mutate.draw(list(ms), 6, "main")[:60]]
    unseen = mutate.draw(list(ms), 5, "unseen")
    assert len({m.id for m in a[:60]} & {m.id for m in unseen[:60]}) < 10
    assert sorted(m.id for m in a) == sorted(m.id for m in ms)  # a permutation of all mutants
    folders = {m.folder for m in ms}
    assert {m.folder for m in a[:len(folders)]} == folders  # round robin: every folder early


def _listed(*args: str) -> list[str]:
    r = subprocess.run([sys.executable, "-m", "vmsgsim.mutate", "--list", *args], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return [ln.split()[0] for ln in r.stdout.splitlines() if re.match(r"[0-9a-f]{10}\s", ln)]


def test_shards_split_the_sample():
    whole = _listed("--seed", "11", "--count", "9")
    parts = [_listed("--seed", "11", "--count", "9", "--shard", f"{k}/3") for k in (1, 2, 3)]
    assert len(whole) == 9 and sum(map(len, parts)) == 9
    assert sorted(sum(parts, [])) == sorted(whole)
    one = _listed("--seed", "11", "--count", "4", "--files", "rtl/doorbell/vmsg_doorbell.sv")
    assert len(one) == 4


def test_ids_select_exact_mutants():
    ms = real_mutants()
    pick = [ms[3].id, ms[-2].id]
    assert sorted(_listed("--ids", *pick)) == sorted(pick)
    r = subprocess.run([sys.executable, "-m", "vmsgsim.mutate", "--list", "--ids", "0000000000"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "0000000000" in r.stderr


def test_fresh_seed_is_printed():
    r1 = subprocess.run([sys.executable, "-m", "vmsgsim.mutate", "--list", "--count", "1"], cwd=ROOT,
                        capture_output=True, text=True)
    r2 = subprocess.run([sys.executable, "-m", "vmsgsim.mutate", "--list", "--count", "1"], cwd=ROOT,
                        capture_output=True, text=True)
    s1 = re.search(r"seed (\d+)", r1.stdout).group(1)
    s2 = re.search(r"seed (\d+)", r2.stdout).group(1)
    assert s1 != s2
    assert _listed("--seed", s1, "--count", "1") == [ln.split()[0] for ln in r1.stdout.splitlines()[1:]]


def test_equivalent_file_entries_are_current():
    """Every kept equivalent mutant names an existing file, a mutant of it that the flow still
    generates, and a reason."""
    data = yaml.safe_load(mutate.EQUIVALENT.read_text()) or {}
    by_file: dict[str, set[str]] = {}
    for m in real_mutants():
        by_file.setdefault(m.file, set()).add(m.description)
    for e in data.get("equivalent") or []:
        assert e.get("reason"), e
        assert e["mutation"] in by_file.get(e["file"], set()), f"stale entry: {e['file']}: {e['mutation']}"


# ---- the whole flow on the fixture -------------------------------------------------------------

KEEP = "sel = a_i & b_i"
CMD = f'grep -q "{KEEP}" "$VMSG_RTL/alu/mut_alu.sv"'


def _tree_hash() -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(FIX.rglob("*.sv")))).hexdigest()


def _flow(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    r = subprocess.run([sys.executable, "-m", "vmsgsim.mutate", "--rtl", str(FIX), "--top", "mut_top",
                        "--work", str(tmp / "work"), "--reports", str(tmp / "rep"), *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    rep = tmp / "rep" / "mutate.json"
    return r, (json.loads(rep.read_text()) if rep.exists() else {})


def test_flow_on_fixture(tmp_path):
    before = _tree_hash()
    everything = [m for p in mutate.rtl_files(FIX)
                  for m in mutate.mutants_of(mutate.rel_name(p, FIX), p.read_text(), str(p.relative_to(FIX)))]
    eq = next(m for m in everything if m.kind == "constant" and m.folder == "(top)")
    eqf = tmp_path / "eq.yaml"
    eqf.write_text(yaml.safe_dump({"equivalent": [{"file": eq.file, "mutation": eq.description,
                                                   "reason": "a test entry"}]}))
    r, rep = _flow(tmp_path, "--cmd", CMD, "--count", str(len(everything)), "--seed", "3", "--jobs", "2",
                   "--equivalent", str(eqf))
    assert rep, r.stdout + r.stderr
    assert _tree_hash() == before, "the flow modified the RTL it mutates"
    assert "seed 3" in r.stdout
    got = {x["id"]: x for x in rep["mutants"]}
    assert set(got) == {m.id for m in everything}
    srcs = {m.file: (ROOT / m.file).read_text() for m in everything}
    for m in everything:
        x = got[m.id]
        if m.id == eq.id:
            assert x["status"] == "equivalent" and x["detail"] == "a test entry"
        elif x["status"] != "stillborn":
            # ground truth: the command kills exactly the mutants that break the line it greps for
            alu = m.apply(srcs[m.file]) if m.file.endswith("mut_alu.sv") else (FIX / "alu" / "mut_alu.sv").read_text()
            expect = "survived" if KEEP in alu else "killed"
            assert x["status"] == expect, (m.description, x)
    stillborn = [x for x in got.values() if x["status"] == "stillborn"]
    assert stillborn and all(x["detail"].startswith("%") for x in stillborn)  # e.g. a latch after a deletion
    assert {x["folder"] for x in got.values()} == {"alu", "(top)"}
    summ = rep["summary"]["total"]
    k, s = summ["killed"], summ["survived"]
    assert k and s and summ["score"] == round(100 * k / (k + s), 1)
    assert r.returncode == 1  # survivors
    survivor = next(x for x in got.values() if x["status"] == "survived")
    assert survivor["diff"].startswith("--- a/") and survivor["id"] in r.stdout
    html = (tmp_path / "rep" / "mutate.html").read_text()
    assert survivor["id"] in html and "score" in html


def test_flow_timeout_and_failing_baseline(tmp_path):
    r, rep = _flow(tmp_path / "t", "--cmd", 'test -n "$VMSG_MUTANT_FILE" && sleep 30', "--timeout", "2",
                   "--count", "1", "--seed", "1", "--no-baseline")
    assert [x["status"] for x in rep["mutants"] if x["status"] != "stillborn"] == ["timeout"], r.stdout + r.stderr
    assert rep["mutants"][-1]["seconds"] < 20
    r2, rep2 = _flow(tmp_path / "b", "--cmd", "false", "--count", "1", "--seed", "1")
    assert r2.returncode == 2 and "unmutated" in r2.stderr and not rep2
    # the baseline has a timeout of its own (it builds every configuration): --timeout bounds mutants only
    r3, rep3 = _flow(tmp_path / "c", "--cmd", "sleep 3", "--timeout", "1", "--baseline-timeout", "60",
                     "--count", "1", "--seed", "1")
    assert "unmutated" not in r3.stderr, r3.stdout + r3.stderr
    assert [x["status"] for x in rep3["mutants"] if x["status"] != "stillborn"] == ["timeout"], r3.stdout + r3.stderr
    r4, _ = _flow(tmp_path / "d", "--cmd", "sleep 3", "--baseline-timeout", "1", "--count", "1", "--seed", "1")
    assert r4.returncode == 2 and "unmutated" in r4.stderr and "timeout" in r4.stderr


@pytest.mark.parametrize("bad", ["0/2", "3/2", "x"])
def test_bad_shard_is_refused(bad):
    r = subprocess.run([sys.executable, "-m", "vmsgsim.mutate", "--list", "--shard", bad], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--shard" in r.stderr
