"""The formal proofs (sim/vmsgsim/formal.py, `make formal`): every proof of the list holds on
rtl/, and the flow finds a planted defect, names the rule it breaks and writes its trace.

The planted defects are made in a copy of rtl/ under build/ (the real rtl/ is never written):
the FIFO's full flag as it was before the proofs found that a push and a pop in one cycle on a
full FIFO cleared it, an AXI4-Lite B beat that drops before bready, a register slice that
loses the order of its beats, a FIFO that counts wrong.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from pathlib import Path

import pytest

from vmsgsim import formal
from vmsgsim.paths import BUILD
from vmsgsim.paths import RTL as REPO_RTL


def _proof(name: str) -> formal.Proof:
    return next(p for p in formal.PROOFS if p.name == name)


@pytest.fixture
def rtl_copy():
    d = BUILD / "formal-tests" / uuid.uuid4().hex[:8]
    shutil.copytree(REPO_RTL, d / "rtl")
    yield d / "rtl"
    shutil.rmtree(d, ignore_errors=True)


def _plant(rtl: Path, rel: str, old: str, new: str) -> None:
    f = rtl / rel
    text = f.read_text()
    assert text.count(old) == 1, f"{rel}: the text to replace is not there once"
    f.write_text(text.replace(old, new))


def test_every_proof_holds():
    results = [formal.prove(dataclasses.replace(p, name=f"t-{p.name}")) for p in formal.PROOFS]
    bad = [formal.describe(r) for r in results if not r.ok]
    assert not bad, "\n".join(bad)
    for r in results:
        assert r.rules, f"{r.proof.name}: no rule proved"
        assert r.steps >= 1


def test_fifo_flag_defect_found(rtl_copy):
    _plant(rtl_copy, "engine/vmsg_eng_fifo.sv",
           "full_q  <= (full_q && !(pop_i[0] && !push_i)) || (push_i && !pop_i[0] && count_q == CW'(DEPTH - 1));",
           "full_q  <= !pop_i[0] && ((count_q == CW'(DEPTH)) || (push_i && count_q == CW'(DEPTH - 1)));")
    p = dataclasses.replace(_proof("fifo-d4"), name="t-planted-fifo")
    res = formal.prove(p, rtl_copy)
    assert res.status == "failed", formal.describe(res)
    assert "a_flags (counterexample)" in res.failing, res.failing
    vcd = formal.FORMAL_DIR / p.name / "a_flags.vcd"
    assert vcd.exists() and "count_q" in vcd.read_text()
    assert "FAILED" in formal.describe(res)


def test_axil_b_drop_found(rtl_copy):
    _plant(rtl_copy, "common/vmsg_axil_regif.sv", "      if (b_hs) begin\n        bvalid_q  <= 1'b0;",
           "      if (bvalid_q) begin\n        bvalid_q  <= 1'b0;")
    p = dataclasses.replace(_proof("axil-regif"), name="t-planted-axil")
    res = formal.prove(p, rtl_copy)
    assert res.status == "failed", formal.describe(res)
    assert "a_bvalid_stable (counterexample)" in res.failing, res.failing


def test_skid_order_defect_found(rtl_copy):
    # the output register takes the input beat even when an older one waits in the skid register
    _plant(rtl_copy, "engine/vmsg_eng_skid.sv", "out_data_q <= skid_valid_q ? skid_data_q : data_i;",
           "out_data_q <= data_i;")
    p = dataclasses.replace(_proof("skid-w5"), name="t-planted-skid")
    res = formal.prove(p, rtl_copy)
    assert res.status == "failed", formal.describe(res)
    assert "a_ref_data (counterexample)" in res.failing, res.failing


def test_open_induction_is_a_failure():
    # the FIFO's flags need an induction of length 2: a limit of 1 leaves the proof open
    p = dataclasses.replace(_proof("fifo-d4"), name="t-open-fifo", max_steps=1)
    res = formal.prove(p)
    assert res.status == "open" and not res.ok, formal.describe(res)
    assert "did not close" in formal.describe(res)


def test_main_exit_status(rtl_copy, capsys):
    assert formal.main(["--only", "rr-arb-n5"]) == 0
    assert "1 of 1 proofs hold" in capsys.readouterr().out
    _plant(rtl_copy, "engine/vmsg_eng_fifo.sv", "wptr_q  <= wptr_q + PW'(push_i);", "wptr_q  <= wptr_q;")
    _plant(rtl_copy, "engine/vmsg_eng_fifo.sv", "count_q <= count_q + CW'(push_i) - CW'(pop_i);",
           "count_q <= count_q + CW'(push_i) - CW'(pop_i) + CW'(push_i && pop_i != '0);")
    assert formal.main(["--only", "fifo-d2", "--rtl", str(rtl_copy)]) == 1
    assert "0 of 1 proofs hold" in capsys.readouterr().out
