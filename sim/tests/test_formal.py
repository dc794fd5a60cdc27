"""The formal proofs (sim/vmsgsim/formal.py, `make formal`): every proof of the list holds on
rtl/, and the flow finds a planted defect, names the rule it breaks and writes its trace.

The planted defects are made in a copy of rtl/ under build/ (the real rtl/ is never written):
the FIFO's full flag as it was before the proofs found that a push and a pop in one cycle on a
full FIFO cleared it, an AXI4-Lite B beat that drops before bready, a register slice that
loses the order of its beats, a mailbox that takes an event while its head is busy, a FIFO
that counts wrong, a completion ingress that always serves the stream first, a burst that grows past MAX_BEATS.
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


# (proof, file, text, planted text, the rule that must fail)
PLANTED = [
    # the FIFO's full flag as it was: a push and a pop in one cycle on a full FIFO cleared it
    ("fifo-d4", "engine/vmsg_eng_fifo.sv",
     "full_q  <= (full_q && !(pop_i[0] && !push_i)) || (push_i && !pop_i[0] && count_q == CW'(DEPTH - 1));",
     "full_q  <= !pop_i[0] && ((count_q == CW'(DEPTH)) || (push_i && count_q == CW'(DEPTH - 1)));", "a_flags"),
    # a B beat that drops before bready
    ("axil-regif", "common/vmsg_axil_regif.sv", "      if (b_hs) begin\n        bvalid_q  <= 1'b0;",
     "      if (bvalid_q) begin\n        bvalid_q  <= 1'b0;", "a_bvalid_stable"),
    # the output register takes the input beat even when an older one waits in the skid register
    ("skid-w5", "engine/vmsg_eng_skid.sv", "out_data_q <= skid_valid_q ? skid_data_q : data_i;",
     "out_data_q <= data_i;", "a_ref_data"),
    # the mailbox's slot FIFO forgets its pops in the count
    ("mbox-slots", "mailbox/vmsg_mbox_slots.sv", "assign count_next_o = count_q + CNT_W'(push_i) - CNT_W'(pop_i);",
     "assign count_next_o = count_q + CNT_W'(push_i);", "a_ptrs_match_count"),
    # the engine's completion ingress always lets the stream go first (no round robin)
    ("eng-ingress-q3", "engine/vmsg_eng_ingress.sv", "assign h_pop[1] = h_can[1] && (!h_can[0] || !last_fw_q);",
     "assign h_pop[1] = h_can[1] && !h_can[0];", "a_rr_fw"),
    # the burst builder extends the open burst past MAX_BEATS
    ("eng-burst-q3", "engine/vmsg_eng_burst.sv",
     "assign extend = o_valid_q && p_cont_i && (p_add_i <= 2'(o_room_q) || o_room_q >= 9'd3);",
     "assign extend = o_valid_q && p_cont_i;", "a_open_beats"),
]


@pytest.mark.parametrize("proof,rel,old,new,rule", PLANTED, ids=[x[0] for x in PLANTED])
def test_planted_defect_found(rtl_copy, proof, rel, old, new, rule):
    _plant(rtl_copy, rel, old, new)
    p = dataclasses.replace(_proof(proof), name=f"t-planted-{proof}")
    res = formal.prove(p, rtl_copy)
    assert res.status == "failed", formal.describe(res)
    assert f"{rule} (counterexample)" in res.failing, res.failing
    vcd = formal.FORMAL_DIR / p.name / f"{rule}.vcd"
    assert vcd.exists() and "$enddefinitions" in vcd.read_text()
    assert "FAILED" in formal.describe(res)


def test_mbox_event_take_defect_found(rtl_copy):
    # an event is taken from the engine while the head is still busy
    _plant(rtl_copy, "mailbox/vmsg_mbox_rd.sv", "assign evt_take    = head_free && (head_sel_d == HEAD_EVT);",
           "assign evt_take    = (head_sel_d == HEAD_EVT);")
    p = dataclasses.replace(_proof("mbox-to-drv"), name="t-planted-mbox")
    res = formal.prove(p, rtl_copy, diagnose=False)  # (naming every rule of the mailbox takes minutes)
    assert res.status == "failed", formal.describe(res)
    assert formal.prove_rule(p, "u_rd.a_evt_ready_valid", rtl_copy) == "failed"
    assert (formal.FORMAL_DIR / p.name / "u_rd.a_evt_ready_valid.vcd").exists()


def test_mbox_pop_of_empty_found(rtl_copy):
    # the reader pops the slot FIFO on every POP, also with no FIFO message at the head: that
    # breaks the slot FIFO's input rule, an obligation of the mailbox (not an assumption of its
    # proof)
    _plant(rtl_copy, "mailbox/vmsg_mbox_rd.sv", "assign pop_fifo  = pop && (head_sel_q == HEAD_FIFO);",
           "assign pop_fifo  = rx_ctrl_req && rx_ctrl_pop;")
    p = dataclasses.replace(_proof("mbox-to-drv"), name="t-planted-mbox-pop")
    assert formal.prove(p, rtl_copy, diagnose=False).status == "failed"
    assert formal.prove_rule(p, "u_slots.a_no_pop_empty", rtl_copy) == "failed"


def test_unknown_rule_is_an_error():
    # a rule name that selects nothing must not pass as proved
    with pytest.raises(ValueError, match="no rule 'a_evt_ready_valid'"):
        formal.prove_rule(_proof("mbox-to-drv"), "a_evt_ready_valid")


def test_contradictory_input_rules_are_an_error(rtl_copy):
    # an input rule that no run out of reset can obey: every assertion would hold for nothing
    _plant(rtl_copy, "engine/vmsg_eng_rr_arb.sv", "`VMSG_SVA_EN(clk_i, rst_ni)",
           "`VMSG_SVA_EN(clk_i, rst_ni)\n  `VMSG_ASSUME(a_never, 1'b0, (\"never\"))")
    p = dataclasses.replace(_proof("rr-arb-n5"), name="t-vacuous-arb")
    res = formal.prove(p, rtl_copy)
    assert res.status == "error" and "vacuous" in res.detail, formal.describe(res)


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
