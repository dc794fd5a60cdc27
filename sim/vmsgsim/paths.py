"""Where things are. Every generated or run artefact lives under BUILD."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RTL = ROOT / "rtl"
RDL = RTL / "regs"
TB = ROOT / "tb"
SIM = ROOT / "sim"
BUILD = Path(os.environ.get("VMSG_BUILD", ROOT / "build"))
GEN = BUILD / "gen"
GEN_RTL = GEN / "rtl"
GEN_INCLUDE = GEN / "include"
GEN_DOCS = GEN / "docs"
REPORTS = BUILD / "reports"
SIM_BUILD = BUILD / "sim_build"
RUNS = BUILD / "sim"
