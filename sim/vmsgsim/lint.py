"""Lint all RTL with Verilator: `python -m vmsgsim.lint` (used by `make lint`).

Runs `verilator --lint-only -Wall` on every source of vmsgsim.hdl.rtl_sources()
with the waiver file rtl/lint/generated.vlt (MULTIDRIVEN on the generated
register blocks only). Any warning fails: the exit status is non-zero when
Verilator reports anything or fails. The log goes to build/reports/lint.txt.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from .hdl import LINT_WAIVERS, rtl_include_dirs, rtl_sources
from .paths import REPORTS, ROOT
from .tools import setup_verilator

TOP = "vmsg_periph"
_DIAG = re.compile(r"^%(Warning|Error)", re.MULTILINE)


def lint_cmd(top: str = TOP, params: dict[str, object] | None = None) -> list[str]:
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", top]
    for key, val in (params or {}).items():
        cmd.append(f"-G{key}={val}")
    cmd += [f"-I{d}" for d in rtl_include_dirs()]
    cmd.append(str(LINT_WAIVERS))
    cmd += [str(p) for p in rtl_sources()]
    return cmd


def run_lint(top: str = TOP, params: dict[str, object] | None = None) -> tuple[int, str]:
    """Returns (number of diagnostics or -1 on a tool failure, log text)."""
    setup_verilator()
    srcs = rtl_sources()
    if not srcs:
        return -1, "no RTL sources (run `make gen` first)\n"
    proc = subprocess.run(lint_cmd(top, params), cwd=ROOT, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    n = len(_DIAG.findall(log))
    if proc.returncode != 0 and n == 0:
        n = -1
    return n, log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", default=TOP, help="top module (default %(default)s)")
    ap.add_argument("-G", dest="params", action="append", default=[], metavar="NAME=VALUE",
                    help="top-level parameter override (repeatable)")
    args = ap.parse_args(argv)
    params = dict(p.split("=", 1) for p in args.params)
    n, log = run_lint(args.top, params)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "lint.txt").write_text(log)
    if n != 0:
        sys.stdout.write(log)
        what = "tool failure" if n < 0 else f"{n} diagnostic(s)"
        print(f"lint: FAILED, {what} (log: {REPORTS / 'lint.txt'})", file=sys.stderr)
        return 1
    print(f"lint: clean, {len(rtl_sources())} files, top {args.top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
