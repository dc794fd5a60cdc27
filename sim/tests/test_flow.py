"""The flow itself: generated files, lint, synthesis front end."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from vmsgsim import gen
from vmsgsim.paths import GEN_DOCS, GEN_INCLUDE, GEN_RTL, ROOT


def test_generated_outputs_exist_and_match_rdl(tmp_path):
    """The C header's register offsets (checked by a C compiler) and the register
    block agree with the register model read from the same RDL."""
    from vmsg.regmap import load

    gen.main([])
    for name in gen.MAPS:
        assert (GEN_DOCS / name / "index.html").exists()
        sv = (GEN_RTL / f"{name}.sv").read_text()
        regs = load(name)
        top = {r: a for r, a in regs.registers().items() if "." not in r}  # inside external blocks: docs only
        checks = []
        for reg, addr in top.items():
            assert re.search(rf"\b{re.escape(reg)}\b", sv), f"{reg} missing from {name}.sv"
            checks.append(f'    if (offsetof({name}_t, {reg}) != {addr:#x}) {{ printf("{reg}\\n"); bad++; }}')
        src = tmp_path / f"{name}.c"
        src.write_text(
            f'#include <stddef.h>\n#include <stdio.h>\n#include "{name}.h"\n'
            "int main(void) {\n    int bad = 0;\n" + "\n".join(checks) + "\n    return bad;\n}\n"
        )
        exe = tmp_path / name
        subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", f"-I{GEN_INCLUDE}", str(src), "-o", str(exe)], check=True)
        r = subprocess.run([str(exe)], capture_output=True, text=True)
        assert r.returncode == 0, f"{name}.h offsets differ from the RDL for: {r.stdout}"


def test_no_generated_file_committed():
    """Generated files are built, never committed (so they cannot go stale)."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert not [p for p in tracked if p.startswith("build/")]
    for name in gen.MAPS:
        assert not [p for p in tracked if p.endswith(f"{name}.sv") or p.endswith(f"{name}.h")]


def test_lint_clean():
    r = subprocess.run([sys.executable, "-m", "vmsgsim.lint"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_yosys_slang_accepts_rtl():
    r = subprocess.run([sys.executable, "-m", "vmsgsim.synth", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
