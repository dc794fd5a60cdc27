"""Mutation testing of the RTL: how many planted bugs does the regression find?

    python -m vmsgsim.mutate [--seed N] [--stream main|unseen] [--count N] [--files F ...]
                             [--jobs N] [--shard K/N] [--timeout S] [--cmd 'shell command']
                             [--no-regress] [--list] [--ids ID ...]

A mutant is one small change of one RTL file (the operators are in OPERATORS):
a relational or equality operator, a logical operator, a constant or one bit of
it, a negated condition, a dropped term of a condition, a signal stuck at 0 or
1, or a deleted assignment. Sites are found with a small tokenizer, only in
code (continuous assignments, always blocks, functions); comments, strings,
checking blocks (`ifndef SYNTHESIS`, `ifdef VMSG_ASSERT_ON`), assertions, system tasks ($fatal, $error, ...),
parameter checks, declarations and loop headers are never mutated.

The sample is drawn from --seed (fresh and printed when not given) and the
seed stream (--stream: `main` for the reported score, `unseen` for a
separate sample drawn from another stream), round robin over the folders of
rtl/ so that every folder is represented, and is the same on every machine
for one seed, so `--shard K/N` splits it. Each mutant is linted (verilator
--lint-only -Wall, as `make lint`): a mutant with a diagnostic is stillborn
and is replaced by the next one of the sample. Then the test command runs
on a copy of rtl/ (the real rtl/ is never written), with VMSG_RTL pointing
at the copy and VMSG_BUILD at a build folder of its own; builds of
configurations that the mutated file does not change are reused from
build/sim_build (vmsgsim.hdl, VMSG_BUILD_REUSE). A mutant is killed when the
command fails, survives when it passes, and times out after --timeout.

The default command: the simulation tests of tb/sim, stopping at the first
failure (tests of the used-index engine alone first for a file of
rtl/engine/, and only then; the msg64 configuration before the others, and
for each the register-level tests before the system tests), then the `ci`
regression profile (--no-regress leaves it out).

Mutants listed in sim/mutants/equivalent.yaml (file + the mutant's
description, with a reason) are equivalent: reported, not run, not counted.
Score = killed / (killed + survived); timed out mutants are listed apart.
Reports: build/reports/mutate.{json,html} and a table on the terminal with
the diff of every survivor. Exit status 1 when a mutant survived.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import html
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from .paths import BUILD, GEN, REPORTS, ROOT, RTL, SIM, SIM_BUILD

EQUIVALENT = SIM / "mutants" / "equivalent.yaml"
SKIP_FOLDERS = ("regs", "lint")  # SystemRDL sources and lint waivers, not RTL

# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
  (?P<ws>\s+)
| (?P<comment>//[^\n]*|/\*.*?\*/)
| (?P<string>"(?:\\.|[^"\\])*")
| (?P<directive>`[A-Za-z_]\w*)
| (?P<sysid>\$[A-Za-z_]\w*)
| (?P<cast>\d+'(?=\s*\())
| (?P<number>(?:\d[\d_]*)?\s*'[sS]?[bBoOdDhH]\s*[0-9a-fA-FxXzZ?_]+|'[01xXzZ]|\d[\d_]*(?:\.\d+)?)
| (?P<ident>[A-Za-z_][\w$]*)
| (?P<op>===|!==|==|!=|<=|>=|&&|\|\||<<<|>>>|<<|>>|\+:|-:|::|->|\+\+|--|[-+*/%<>=!~&|^?:])
| (?P<punct>[()\[\]{};,.@#'])
""", re.VERBOSE | re.DOTALL)


@dataclass
class Tok:
    kind: str
    text: str
    start: int
    end: int
    line: int


def tokenize(src: str) -> list[Tok]:
    """Every token of src, whitespace and comments included (they are skipped by the sites)."""
    toks, pos, line = [], 0, 1
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:  # an unknown character: keep it as punctuation
            toks.append(Tok("punct", src[pos], pos, pos + 1, line))
            pos += 1
            continue
        text = m.group()
        toks.append(Tok(m.lastgroup, text, pos, m.end(), line))
        line += text.count("\n")
        pos = m.end()
    return toks


# --------------------------------------------------------------------------------------------
# Mutation sites
# --------------------------------------------------------------------------------------------

OPERATORS = ("relational", "equality", "logical", "constant", "negate", "drop-term", "stuck-at", "delete")
_REL = {"<": ["<=", ">="], "<=": ["<", ">"], ">": [">=", "<="], ">=": [">", "<"]}
_EQ = {"==": ["!="], "!=": ["=="], "===": ["!=="], "!==": ["==="]}
_LOGIC = {"&&": ["||"], "||": ["&&"], "&": ["|"], "|": ["&"], "^": ["|"]}
_DECL = {"logic", "bit", "int", "integer", "reg", "wire", "byte", "shortint", "longint", "automatic",
         "static", "localparam", "parameter", "genvar", "var", "const"}
_BLOCK_OPEN = {"begin", "case", "casez", "casex", "fork"}
_BLOCK_CLOSE = {"end": "begin", "endcase": "case", "join": "fork"}
_OPERAND_END = {"ident", "number"}
# a signal read in one of these neighbourhoods can be replaced by '0 / '1 without a width change
_STUCK_CTX = ("!", "~", "&&", "||", "&", "|", "^", "(", ")", "?", ":", "==", "!=")


@dataclass
class Mutant:
    file: str          # relative to the repository (rtl/...)
    tree: str          # relative to the RTL tree (engine/...)
    kind: str          # one of OPERATORS
    start: int         # character span of the file replaced by `new`
    end: int
    old: str
    new: str
    line: int
    description: str = ""   # stable: kind, change and the normalized source line (no line number)
    id: str = ""

    @property
    def folder(self) -> str:
        parts = Path(self.tree).parts
        return parts[0] if len(parts) > 1 else "(top)"

    def apply(self, src: str) -> str:
        return src[: self.start] + self.new + src[self.end:]


class _Sites:
    """Walks the significant tokens of one file and collects mutants."""

    def __init__(self, rel: str, tree: str, src: str):
        self.rel, self.tree, self.src = rel, tree, src
        allt = tokenize(src)
        self.t = [x for x in allt if x.kind not in ("ws", "comment")]
        self.out: list[Mutant] = []
        self.excluded = self._excluded()

    # regions that are never mutated, the checking code of simulation: `ifndef SYNTHESIS ...
    # `endif and `ifdef VMSG_ASSERT_ON ... `endif (rtl/common/vmsg_assert.svh), or the `else
    # branch of `ifdef SYNTHESIS / `ifndef VMSG_ASSERT_ON
    def _excluded(self) -> set[int]:
        ex: set[int] = set()
        stack: list[list] = []  # per open `ifdef/`ifndef: [a checking guard, checking-only now]
        t = self.t
        for i, x in enumerate(t):
            if x.kind == "directive":
                name = x.text
                if name in ("`ifndef", "`ifdef") and i + 1 < len(t):
                    macro = t[i + 1].text
                    guard = macro in ("SYNTHESIS", "VMSG_ASSERT_ON")
                    on = name == ("`ifndef" if macro == "SYNTHESIS" else "`ifdef")
                    stack.append([guard, guard and on])
                    ex.add(i + 1)
                elif name == "`else" and stack:
                    stack[-1][1] = stack[-1][0] and not stack[-1][1]
                elif name == "`endif" and stack:
                    stack.pop()
                ex.add(i)
                continue
            if any(s[1] for s in stack):
                ex.add(i)
        return ex

    def add(self, kind: str, a: int, b: int, new: str) -> None:
        """Replace significant tokens a..b (inclusive) by new."""
        start, end = self.t[a].start, self.t[b].end
        old = self.src[start:end]
        if old == new:
            return
        self.out.append(Mutant(self.rel, self.tree, kind, start, end, old, new, self.t[a].line))

    def match(self, i: int, open_: str, close: str) -> int:
        """Index of the token closing the bracket opened at i."""
        depth = 0
        for j in range(i, len(self.t)):
            if self.t[j].text == open_:
                depth += 1
            elif self.t[j].text == close:
                depth -= 1
                if depth == 0:
                    return j
        return len(self.t) - 1

    def statement_end(self, i: int) -> int:
        """Index of the `;` ending the statement that starts at i (brackets balanced)."""
        depth = 0
        for j in range(i, len(self.t)):
            tx = self.t[j].text
            if tx in "([{":
                depth += 1
            elif tx in ")]}":
                depth -= 1
            elif tx == ";" and depth <= 0:
                return j
        return len(self.t) - 1

    def collect(self) -> list[Mutant]:
        t, i = self.t, 0
        while i < len(t):
            if i in self.excluded:
                i += 1
                continue
            tx = t[i].text
            if tx == "assign" and t[i].kind == "ident":
                e = self.statement_end(i)
                eq = next((k for k in range(i + 1, e) if t[k].text == "="), None)
                # `assign unused_x = ...` only sinks signals for lint: nothing reads it
                if eq is not None and not t[i + 1].text.startswith("unused"):
                    self.expr(eq + 1, e - 1)
                    self.add("stuck-at", eq + 1, e - 1, "'0")
                    self.add("stuck-at", eq + 1, e - 1, "'1")
                i = e + 1
            elif tx in ("always", "always_ff", "always_comb", "always_latch") and t[i].kind == "ident":
                j = i + 1
                if j < len(t) and t[j].text == "@":
                    j = self.match(j + 1, "(", ")") + 1 if t[j + 1].text == "(" else j + 2
                i = self.stmt(j) + 1
            elif tx == "function" and t[i].kind == "ident":
                hdr = self.statement_end(i)
                endf = next((k for k in range(hdr, len(t)) if t[k].text == "endfunction"), len(t) - 1)
                j = hdr + 1
                while j < endf:
                    j = self.stmt(j) + 1
                i = endf + 1
            else:
                i += 1
        return self.out

    # one procedural statement starting at i; returns the index of its last token
    def stmt(self, i: int) -> int:
        t = self.t
        if i >= len(t):
            return i
        if i in self.excluded:
            return i
        tx = t[i].text
        if tx == "begin":
            j = i + 1
            if j < len(t) and t[j].text == ":":
                j += 2
            while j < len(t) and t[j].text != "end":
                j = self.stmt(j) + 1
            if j + 1 < len(t) and t[j + 1].text == ":":
                j += 2
            return j
        if tx in ("unique", "priority", "unique0"):
            return self.stmt(i + 1)
        if tx == "if":
            c = self.match(i + 1, "(", ")")
            self.condition(i + 2, c - 1)
            self.add("negate", i + 2, c - 1, f"!({self.text(i + 2, c - 1)})")
            j = self.stmt(c + 1)
            if j + 1 < len(t) and t[j + 1].text == "else":
                j = self.stmt(j + 2)
            return j
        if tx in ("case", "casez", "casex"):
            c = self.match(i + 1, "(", ")")
            j = c + 1
            while j < len(t) and t[j].text != "endcase":
                # a case item: labels up to the ':' at depth 0, then a statement
                depth, k = 0, j
                while k < len(t):
                    if t[k].text in "([{":
                        depth += 1
                    elif t[k].text in ")]}":
                        depth -= 1
                    elif t[k].text == ":" and depth == 0:
                        break
                    k += 1
                for m in range(j, k):
                    if t[m].kind == "number" and t[m].text != "default":
                        self.constant(m)
                j = self.stmt(k + 1) + 1
            return j
        if tx in ("for", "while", "repeat", "foreach"):
            c = self.match(i + 1, "(", ")")
            return self.stmt(c + 1)
        if tx == "forever":
            return self.stmt(i + 1)
        if tx in ("assert", "assume", "cover") or t[i].kind == "sysid" or t[i].kind == "directive":
            e = self.statement_end(i)
            if e + 1 < len(t) and t[e + 1].text == "else":
                e = self.statement_end(e + 2)
            return e
        if tx in _DECL:
            return self.statement_end(i)
        if tx == ";":
            return i
        # an assignment (or a call): lvalue, '=' / '<=' / op-assign at depth 0, expression
        e = self.statement_end(i)
        depth, op = 0, None
        for k in range(i, e):
            if t[k].text in "([{":
                depth += 1
            elif t[k].text in ")]}":
                depth -= 1
            elif depth == 0 and t[k].text in ("=", "<="):
                op = k
                break
        if tx == "return":
            self.expr(i + 1, e - 1)
        elif op is not None:
            self.expr(op + 1, e - 1)
            if not any(k in self.excluded for k in range(i, e + 1)):
                self.add("delete", i, e - 1, "")
        return e

    def text(self, a: int, b: int) -> str:
        return self.src[self.t[a].start:self.t[b].end]

    def condition(self, a: int, b: int) -> None:
        self.expr(a, b)

    def expr(self, a: int, b: int) -> None:
        """Operator, constant, stuck-at and dropped-term sites of the expression a..b."""
        t = self.t
        if a > b:
            return
        self.drop_terms(a, b)
        k = a
        while k <= b:
            x = t[k]
            if k in self.excluded:
                k += 1
                continue
            prev = t[k - 1] if k > a else None
            binary = prev is not None and (prev.kind in _OPERAND_END or prev.text in (")", "]", "}"))
            if x.text == "(":
                close = self.match(k, "(", ")")
                if close <= b:
                    self.drop_terms(k + 1, close - 1)
                    if close + 1 <= b and t[close + 1].text == "?":
                        self.add("negate", k, close, f"!{self.text(k, close)}")
            if x.kind == "op":
                if x.text in _REL and binary:
                    for n in _REL[x.text]:
                        self.add("relational", k, k, n)
                elif x.text in _EQ:
                    for n in _EQ[x.text]:
                        self.add("equality", k, k, n)
                elif x.text in _LOGIC and binary:
                    for n in _LOGIC[x.text]:
                        self.add("logical", k, k, n)
                elif x.text in ("!", "~") and not binary and k + 1 <= b and t[k + 1].text not in ("=",):
                    self.add("logical", k, k, "")
            elif x.kind == "number" and not (k + 1 <= b and t[k + 1].text == "{"):
                self.constant(k)
            elif x.kind == "ident" and self.is_signal(k, a):
                j = k
                while j + 1 <= b and t[j + 1].text == "[":
                    j = self.match(j + 1, "[", "]")
                nxt = t[j + 1].text if j + 1 <= b else ";"
                if j <= b and (prev is None or prev.text in _STUCK_CTX) and nxt in _STUCK_CTX + (";", "]"):
                    self.add("stuck-at", k, j, "'0")
                    self.add("stuck-at", k, j, "'1")
                k = k + 1
                continue
            k += 1

    def is_signal(self, k: int, a: int) -> bool:
        t = self.t
        x = t[k]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", x.text) or x.text in _DECL:
            return False
        if k > 0 and t[k - 1].text in (".", "::", "'"):
            return False
        if k + 1 < len(t) and t[k + 1].text in ("(", "::", ".", "'"):
            return False
        return True

    def drop_terms(self, a: int, b: int) -> None:
        """Drop each term of a top-level `||` (else `&&`) chain of a..b."""
        t = self.t
        depth, ors, ands, ques = 0, [], [], False
        for k in range(a, b + 1):
            tx = t[k].text
            if tx in "([{":
                depth += 1
            elif tx in ")]}":
                depth -= 1
            elif depth == 0:
                if tx == "||":
                    ors.append(k)
                elif tx == "&&":
                    ands.append(k)
                elif tx in ("?", "=", "<=") or tx == ":" or tx == ",":
                    ques = True
        if depth != 0 or ques:
            return
        ops = ors or ands
        if not ops:
            return
        bounds = [a - 1, *ops, b + 1]
        for n in range(len(bounds) - 1):
            lo, hi = bounds[n] + 1, bounds[n + 1] - 1
            if n == 0:
                self.add("drop-term", lo, bounds[1], "")          # term and the operator after it
            else:
                self.add("drop-term", bounds[n], hi, "")          # the operator before it and the term

    def constant(self, k: int) -> None:
        for new in _const_variants(self.t[k].text):
            self.add("constant", k, k, new)


def _const_variants(text: str) -> list[str]:
    """Mutated values of one literal: 0/1 swapped for '0/'1 and 1-bit values, else the lowest bit
    and the highest bit flipped (sized) or +/- 1 (plain decimals)."""
    s = text.replace(" ", "")
    if s in ("'0", "'1"):
        return ["'1" if s == "'0" else "'0"]
    m = re.fullmatch(r"(\d+)'([sS]?)([bBoOdDhH])([0-9a-fA-F_]+)", s)
    if m:
        width, sgn, base, digits = int(m.group(1)), m.group(2), m.group(3).lower(), m.group(4).replace("_", "")
        radix = {"b": 2, "o": 8, "d": 10, "h": 16}[base]
        try:
            v = int(digits, radix)
        except ValueError:
            return []
        flips = {v ^ 1} | ({v ^ (1 << (width - 1))} if width > 1 else set())
        fmt = {"b": "b", "o": "o", "d": "d", "h": "X"}[base]
        out = []
        for nv in sorted(flips):
            if 0 <= nv < (1 << width):
                body = format(nv, fmt)
                out.append(f"{width}'{sgn}{m.group(3)}{body}")
        return out
    if re.fullmatch(r"\d+", s):
        v = int(s)
        return [str(v + 1)] + ([str(v - 1)] if v > 0 else [])
    return []


def _norm_line(src: str, line: int) -> str:
    text = src.splitlines()[line - 1] if line - 1 < len(src.splitlines()) else ""
    text = re.sub(r"//.*", "", text)
    return " ".join(text.split())


def mutants_of(rel: str, src: str, tree: str | None = None) -> list[Mutant]:
    """Every mutant of one file, in file order, with stable descriptions and ids.
    rel: the file's name in reports (relative to the repository); tree: inside the RTL tree."""
    ms = _Sites(rel, tree or rel, src).collect()
    seen: dict[str, int] = {}
    uniq: dict[tuple[int, int, str], Mutant] = {}
    for m in sorted(ms, key=lambda m: (m.start, m.end, m.new)):
        uniq.setdefault((m.start, m.end, m.new), m)
    out = list(uniq.values())
    for m in out:
        old = " ".join(m.old.split())
        new = " ".join(m.new.split())
        base = f"{m.kind}: '{old[:60]}' -> '{new[:60]}' in `{_norm_line(src, m.line)[:160]}`"
        n = seen.get(base, 0)
        seen[base] = n + 1
        m.description = base if n == 0 else f"{base} #{n + 1}"
        m.id = hashlib.sha1(f"{m.file}\n{m.description}".encode()).hexdigest()[:10]
    return out


def rtl_files(rtl: Path, files: list[str] | None = None) -> list[Path]:
    if files:
        out = []
        for f in files:
            p = Path(f)
            p = p if p.is_absolute() else (ROOT / p)
            if not p.exists():
                raise SystemExit(f"mutate: no such file {f}")
            out.append(p.resolve())
        return out
    return sorted(p for p in rtl.rglob("*.sv") if not (set(p.relative_to(rtl).parts[:-1]) & set(SKIP_FOLDERS)))


def rel_name(p: Path, rtl: Path) -> str:
    try:
        return str(p.resolve().relative_to(ROOT))
    except ValueError:
        return str(Path(rtl.name) / p.resolve().relative_to(rtl.resolve()))


def draw(all_mutants: list[Mutant], seed: int, stream: str) -> list[Mutant]:
    """The whole sample order: round robin over folders; in each folder a random operator
    kind, then a random mutant of that kind (so no operator dominates)."""
    rng = random.Random(f"{stream}:{seed}")
    by_folder: dict[str, dict[str, list[Mutant]]] = {}
    for m in all_mutants:
        by_folder.setdefault(m.folder, {}).setdefault(m.kind, []).append(m)
    for kinds in by_folder.values():
        for lst in kinds.values():
            rng.shuffle(lst)
    order = []
    folders = sorted(by_folder)
    rng.shuffle(folders)
    while any(lst for kinds in by_folder.values() for lst in kinds.values()):
        for f in folders:
            kinds = [k for k in sorted(by_folder[f]) if by_folder[f][k]]
            if kinds:
                order.append(by_folder[f][rng.choice(kinds)].pop())
    return order


def load_equivalent(path: Path) -> dict[tuple[str, str], str]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    out = {}
    for e in data.get("equivalent") or []:
        if not e.get("reason"):
            raise SystemExit(f"mutate: {path}: entry {e} has no reason")
        out[(e["file"], e["mutation"])] = e["reason"]
    return out


# --------------------------------------------------------------------------------------------
# Lint, run
# --------------------------------------------------------------------------------------------

@dataclass
class Result:
    id: str
    file: str
    folder: str
    kind: str
    line: int
    description: str
    diff: str
    status: str            # killed, survived, stillborn, timeout, error, equivalent
    seconds: float = 0.0
    detail: str = ""       # first lint diagnostic, the failing stage, or the equivalence reason
    log: str = ""


def unified_diff(m: Mutant, src: str) -> str:
    new = m.apply(src)
    return "".join(difflib.unified_diff(src.splitlines(True), new.splitlines(True), f"a/{m.file}", f"b/{m.file}", n=2))


class Flow:
    def __init__(self, rtl: Path, work: Path, cmd: str | None, regress: bool, timeout: float, top: str | None,
                 lint: bool = True):
        self.rtl, self.work, self.cmd, self.regress, self.timeout = rtl.resolve(), work.resolve(), cmd, regress, timeout
        self.top, self.lint_enabled = top, lint
        self.repo_rtl = self.rtl == RTL.resolve()
        self.slots: list[int] = []
        self.lock = threading.Lock()

    # ---- lint
    def lint_cmd(self, replace: Path, by: Path) -> list[str]:
        from .hdl import LINT_WAIVERS, rtl_include_dirs, rtl_sources

        if self.repo_rtl:
            srcs = [str(by) if Path(p).resolve() == replace.resolve() else str(p) for p in rtl_sources()]
            incs = [f"-I{d}" for d in rtl_include_dirs()]
            return ["verilator", "--lint-only", "-Wall", "--top-module", self.top or "vmsg_periph",
                    *incs, str(LINT_WAIVERS), *srcs]
        files = sorted(self.rtl.rglob("*.sv"), key=lambda p: (not p.name.endswith("_pkg.sv"), str(p)))
        srcs = [str(by) if p.resolve() == replace.resolve() else str(p) for p in files]
        incs = [f"-I{d}" for d in sorted({h.parent for h in self.rtl.rglob("*.svh")})]
        return ["verilator", "--lint-only", "-Wall", *(["--top-module", self.top] if self.top else []), *incs, *srcs]

    def lint(self, m: Mutant, src: str) -> str:
        """'' when clean, else the first diagnostic."""
        if not self.lint_enabled:
            return ""
        from .tools import setup_verilator

        d = self.work / "lint" / m.id
        d.mkdir(parents=True, exist_ok=True)
        orig = self.rtl / m.tree
        f = d / orig.name
        f.write_text(m.apply(src))
        env = setup_verilator(dict(os.environ))
        p = subprocess.run(self.lint_cmd(orig, f), cwd=ROOT, capture_output=True, text=True, env=env)
        shutil.rmtree(d, ignore_errors=True)
        log = p.stdout + p.stderr
        diag = [ln for ln in log.splitlines() if ln.startswith(("%Warning", "%Error"))]
        if diag or p.returncode:
            return (diag[0] if diag else log.strip().splitlines()[-1] if log.strip() else "lint failed")[:300]
        return ""

    # ---- per-worker trees
    def slot_dir(self, slot: int) -> Path:
        return self.work / f"w{slot}"

    def prepare(self, jobs: int) -> None:
        for s in range(jobs):
            d = self.slot_dir(s)
            shutil.rmtree(d / "rtl", ignore_errors=True)
            shutil.copytree(self.rtl, d / "rtl")
            b = d / "build"
            b.mkdir(parents=True, exist_ok=True)
            g = b / "gen"
            if not g.exists() and GEN.exists():
                g.symlink_to(GEN.resolve(), target_is_directory=True)
            self.slots.append(s)

    def env(self, slot: int, mfile: Path | None) -> dict[str, str]:
        d = self.slot_dir(slot)
        env = dict(os.environ)
        env.update(VMSG_RTL=str(d / "rtl"), VMSG_BUILD=str(d / "build"), VMSG_BUILD_REUSE=str(SIM_BUILD.resolve()),
                   PYTHONDONTWRITEBYTECODE="1")
        if mfile is not None:
            env["VMSG_MUTANT_FILE"] = str(mfile)
        env.pop("MAKEFLAGS", None)
        return env

    def stages(self, m: Mutant | None) -> list[str]:
        """The default command for a mutant of m.file (None: every stage, for the baseline)."""
        py = sys.executable
        pt = f"{py} -m pytest -x -q -p no:cacheprovider -o addopts=''"
        engine = m is None or "/engine/" in f"/{m.file}"
        st = []
        if engine:
            st += [f"{pt} tb/sim/test_engine.py -k q4_w64", f"{pt} tb/sim/test_engine.py -k 'not q4_w64'"]
        # Per configuration group, the register-level tests (direct accesses, seconds each) before
        # the pyuvm system tests: a mutant of the ports or the mailbox is mostly killed there.
        for k in ("msg64", "not msg64"):
            st += [f"{pt} tb/sim/test_periph_regs.py -k '{k}'", f"{pt} tb/sim/test_periph.py -k '{k}'"]
        if self.regress:
            st.append(f"{py} -m vmsgsim.regress --profile ci --jobs 1 --no-record")
        return st

    def run_cmd(self, slot: int, m: Mutant | None, logf: Path, timeout: float | None = None) -> tuple[str, str]:
        """('killed' | 'survived' | 'timeout', detail); timeout: seconds (default --timeout)."""
        timeout = self.timeout if timeout is None else timeout
        cmds = [self.cmd] if self.cmd else self.stages(m)
        mfile = self.slot_dir(slot) / "rtl" / m.tree if m else None
        env = self.env(slot, mfile)
        if m is None:  # the baseline: builds of the unmutated RTL go where mutants reuse them
            env.pop("VMSG_BUILD", None)
            env.pop("VMSG_BUILD_REUSE", None)
        deadline = time.monotonic() + timeout
        logf.parent.mkdir(parents=True, exist_ok=True)
        with logf.open("w") as log:
            for n, c in enumerate(cmds):
                log.write(f"+ {c}\n")
                log.flush()
                left = deadline - time.monotonic()
                p = subprocess.Popen(["bash", "-c", c], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
                try:
                    rc = p.wait(timeout=max(left, 1))
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                    return "timeout", f"stage {n + 1}/{len(cmds)} still running after {timeout:.0f} s"
                if rc != 0:
                    log.flush()
                    killer = next((ln.strip() for ln in logf.read_text(errors="replace").splitlines()
                                   if ln.startswith("FAILED ") or ln.lstrip().startswith("FAIL ")), "")
                    if killer:
                        c = f"{c}  [{killer[:200]}]"
                    if not self.cmd and rc != 1 and " pytest " in c:
                        # pytest: 1 = a test failed; 2..5 = interrupted, internal or usage error, nothing ran
                        return "error", f"stage {n + 1}/{len(cmds)}: pytest exit {rc} (not a test failure): {c}"
                    return "killed", f"stage {n + 1}/{len(cmds)} failed (exit {rc}): {c}"
        return "survived", f"{len(cmds)} stage(s) passed"

    def run_one(self, m: Mutant, src: str) -> Result:
        with self.lock:
            slot = self.slots.pop()
        t0 = time.monotonic()
        target = self.slot_dir(slot) / "rtl" / m.tree
        logf = self.work / "logs" / f"{m.id}.log"
        try:
            target.write_text(m.apply(src))
            status, detail = self.run_cmd(slot, m, logf)
        finally:
            target.write_text(src)
            # builds of the mutant are of no further use
            sb = self.slot_dir(slot) / "build" / "sim_build"
            if sb.exists():
                for d in sb.iterdir():
                    if d.is_dir():
                        shutil.rmtree(d, ignore_errors=True)
            with self.lock:
                self.slots.append(slot)
        return Result(m.id, m.file, m.folder, m.kind, m.line, m.description, unified_diff(m, src), status,
                      round(time.monotonic() - t0, 1), detail, str(logf))


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------

def summarize(results: list[Result]) -> dict:
    def count(rs, s):
        return sum(r.status == s for r in rs)

    folders = sorted({r.folder for r in results})
    per = {}
    for f in folders + ["total"]:
        rs = results if f == "total" else [r for r in results if r.folder == f]
        k, s = count(rs, "killed"), count(rs, "survived")
        per[f] = {"killed": k, "survived": s, "timeout": count(rs, "timeout"), "error": count(rs, "error"),
                  "stillborn": count(rs, "stillborn"),
                  "equivalent": count(rs, "equivalent"),
                  "score": round(100.0 * k / (k + s), 1) if k + s else None}
    return per


def report(results: list[Result], meta: dict, reports: Path, final: bool = True) -> None:
    """The JSON and HTML reports (rewritten after every mutant, `complete` false until the end) and,
    when final, the terminal table."""
    reports.mkdir(parents=True, exist_ok=True)
    summ = summarize(results)
    (reports / "mutate.json").write_text(json.dumps({**meta, "complete": final, "summary": summ,
                                                     "mutants": [asdict(r) for r in results]}, indent=1))
    cols = ("killed", "survived", "timeout", "error", "stillborn", "equivalent")
    tot = summ["total"]
    sc = "n/a" if tot["score"] is None else f"{tot['score']:.1f}%"
    _html(results, meta, reports, summ, cols, sc if final else f"{sc} (in progress)")
    if not final:
        return
    w = max(len(f) for f in summ) + 2
    print(f"\n{'folder':<{w}}" + "".join(f"{c:>11}" for c in cols) + "      score")
    for f, row in summ.items():
        sc = "-" if row["score"] is None else f"{row['score']:.1f}%"
        print(f"{f:<{w}}" + "".join(f"{row[c]:>11}" for c in cols) + f"{sc:>11}")
    for r in results:
        if r.status in ("survived", "timeout", "error"):
            print(f"\n{r.status.upper()} {r.id} {r.file}:{r.line}  {r.description}\n  {r.detail}\n  log: {r.log}")
            print("  " + r.diff.replace("\n", "\n  ").rstrip())
    print(f"\nmutation score {sc}: {tot['killed']} killed of {tot['killed'] + tot['survived']} decided mutant(s) "
          f"(seed {meta['seed']}, stream {meta['stream']}, shard {meta['shard']}); "
          f"reports in {reports}/mutate.{{json,html}}")


def _html(results: list[Result], meta: dict, reports: Path, summ: dict, cols: tuple, sc: str) -> None:
    def esc(x) -> str:
        return html.escape(str(x))

    rows = "".join(f"<tr><td>{esc(f)}</td>" + "".join(f"<td>{row[c]}</td>" for c in cols)
                   + f"<td>{'-' if row['score'] is None else row['score']}</td></tr>" for f, row in summ.items())
    items = "".join(
        f"<tr class={esc(r.status)}><td>{esc(r.id)}</td><td>{esc(r.status)}</td><td>{esc(r.file)}:{r.line}</td>"
        f"<td>{esc(r.kind)}</td><td>{esc(r.description)}<br><small>{esc(r.detail)}</small>"
        + (f"<pre>{esc(r.diff)}</pre>" if r.status in ("survived", "timeout") else "") + f"</td><td>{r.seconds}</td></tr>"
        for r in results)
    (reports / "mutate.html").write_text(f"""<!doctype html><meta charset=utf-8><title>mutation testing</title>
<style>body{{font-family:sans-serif}}td,th{{padding:2px 8px;border-bottom:1px solid #ddd;vertical-align:top}}
.survived{{background:#fdd}}.killed{{background:#efe}}.timeout{{background:#ffd}}.stillborn,.equivalent{{color:#777}}</style>
<h1>Mutation testing: score {esc(sc)}</h1>
<p>seed {esc(meta['seed'])}, stream {esc(meta['stream'])}, shard {esc(meta['shard'])}, command: <code>{esc(meta['command'])}</code></p>
<table><tr><th>folder</th>{''.join(f'<th>{c}</th>' for c in cols)}<th>score %</th></tr>{rows}</table>
<h2>Mutants</h2><table><tr><th>id</th><th>status</th><th>where</th><th>operator</th><th>mutation</th><th>s</th></tr>{items}</table>
""")


# --------------------------------------------------------------------------------------------

def parse_shard(s: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)/(\d+)", s)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise argparse.ArgumentTypeError("--shard K/N with 1 <= K <= N")
    return int(m.group(1)), int(m.group(2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=None, help="sample seed (default: fresh, printed)")
    ap.add_argument("--stream", choices=("main", "unseen"), default="main")
    ap.add_argument("--count", type=int, default=60, help="mutants to run (after lint), over all shards")
    ap.add_argument("--files", nargs="*", default=None, help="mutate only these files")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--shard", type=parse_shard, default=(1, 1))
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per mutant")
    ap.add_argument("--baseline-timeout", type=float, default=4 * 3600.0,
                    help="seconds for the baseline (the whole command on the unmutated RTL, builds included)")
    ap.add_argument("--cmd", default=None, help="test command (bash); exit 0 = the mutant survived")
    ap.add_argument("--no-regress", action="store_true", help="default command without the ci regression")
    ap.add_argument("--no-lint", action="store_true", help="do not lint (a design that Verilator cannot lint)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="do not first check that the command passes on the unmutated RTL")
    ap.add_argument("--rtl", type=Path, default=RTL, help="the RTL tree (default rtl/)")
    ap.add_argument("--top", default=None, help="top module for lint (default vmsg_periph for rtl/)")
    ap.add_argument("--equivalent", type=Path, default=EQUIVALENT)
    ap.add_argument("--work", type=Path, default=BUILD / "mutate")
    ap.add_argument("--reports", type=Path, default=REPORTS)
    ap.add_argument("--list", action="store_true", help="print the sample (id, file, description) and stop")
    ap.add_argument("--ids", nargs="*", default=None, help="run exactly these mutants (ids from a report)")
    a = ap.parse_args(argv)

    seed = a.seed if a.seed is not None else secrets.randbelow(2**31 - 1) + 1
    k, n = a.shard
    rtl = a.rtl if a.rtl.is_absolute() else (Path.cwd() / a.rtl)
    files = rtl_files(rtl.resolve(), a.files)
    sources = {rel_name(p, rtl): p.read_text() for p in files}
    trees = {rel_name(p, rtl): str(p.resolve().relative_to(rtl.resolve())) for p in files}
    everything = [m for rel, src in sources.items() for m in mutants_of(rel, src, trees[rel])]
    if a.ids:
        unknown = set(a.ids) - {m.id for m in everything}
        if unknown:
            raise SystemExit(f"mutate: no mutant with id {', '.join(sorted(unknown))} in {len(files)} file(s)")
        everything = [m for m in everything if m.id in set(a.ids)]
        a.count = len(everything)
    order = draw(everything, seed, a.stream)
    mine = [m for i, m in enumerate(order) if i % n == k - 1]
    want = a.count // n + (1 if k - 1 < a.count % n else 0)
    folders = sorted({m.folder for m in everything})
    print(f"mutate: seed {seed} (replay: --seed {seed} --stream {a.stream}), shard {k}/{n}, "
          f"{len(everything)} possible mutants in {len(files)} file(s) of {len(folders)} folder(s) "
          f"({', '.join(folders)}); running {want}", flush=True)
    if a.list:
        for m in mine[:want]:
            print(f"{m.id}  {m.file}:{m.line}  {m.description}")
        return 0

    equivalent = load_equivalent(a.equivalent)
    work = a.work.resolve()
    flow = Flow(rtl, work, a.cmd, not a.no_regress, a.timeout, a.top, lint=not a.no_lint)
    flow.prepare(max(1, a.jobs))
    t0 = time.monotonic()
    command = a.cmd or " && ".join(flow.stages(None)) + "  (engine stages only for rtl/engine/)"
    if not a.no_baseline:
        print("mutate: baseline, the command on the unmutated RTL ...", flush=True)
        status, detail = flow.run_cmd(0, None, work / "logs" / "baseline.log", timeout=a.baseline_timeout)
        if status != "survived":
            print(f"mutate: the command fails on the unmutated RTL ({status}: {detail}); log {work}/logs/baseline.log",
                  file=sys.stderr)
            return 2

    results: list[Result] = []
    chosen: list[Mutant] = []
    for m in mine:
        if len(chosen) >= want:
            break
        src = sources[m.file]
        reason = equivalent.get((m.file, m.description))
        if reason:
            results.append(Result(m.id, m.file, m.folder, m.kind, m.line, m.description, unified_diff(m, src),
                                  "equivalent", 0.0, reason))
            continue
        diag = flow.lint(m, src)
        if diag:
            results.append(Result(m.id, m.file, m.folder, m.kind, m.line, m.description, unified_diff(m, src),
                                  "stillborn", 0.0, diag))
            print(f"  stillborn  {m.id} {m.file}:{m.line}  {m.description}", flush=True)
            continue
        chosen.append(m)
    print(f"mutate: {len(chosen)} mutant(s) to run, {sum(r.status == 'stillborn' for r in results)} stillborn, "
          f"{sum(r.status == 'equivalent' for r in results)} equivalent; {a.jobs} job(s)", flush=True)

    meta = {"seed": seed, "stream": a.stream, "shard": f"{k}/{n}", "count": a.count,
            "files": [str(f) for f in sources], "command": command, "timeout": a.timeout}
    lock = threading.Lock()

    def one(m: Mutant) -> Result:
        r = flow.run_one(m, sources[m.file])
        print(f"  {r.status:<9}  {m.id} {m.file}:{m.line}  {m.description}  ({r.seconds:.0f} s)", flush=True)
        with lock:
            results.append(r)
            report(results, {**meta, "wall_seconds": round(time.monotonic() - t0, 1)}, a.reports.resolve(),
                   final=False)
        return r

    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        list(pool.map(one, chosen))
    results.sort(key=lambda r: (r.status != "survived", r.file, r.line, r.id))
    meta["wall_seconds"] = round(time.monotonic() - t0, 1)
    report(results, meta, a.reports.resolve())
    return 1 if any(r.status in ("survived", "error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
