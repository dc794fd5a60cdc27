"""Build HDL configurations once and run cocotb tests on them.

A configuration is a toplevel plus HDL parameters plus build options. Each
is built once into build/sim_build/<label>/ (a file lock makes parallel
pytest workers and regression jobs share one build), and each run gets its
own folder.

Two environment variables serve `make mutate` (vmsgsim.mutate), which builds
mutated copies of the RTL without touching rtl/:
  VMSG_RTL          the folder of RTL sources (default rtl/)
  VMSG_BUILD_REUSE  a folder of existing builds (e.g. build/sim_build) used
                    read-only when one has the same fingerprint, so a
                    configuration that the mutated file does not change is
                    never rebuilt
The fingerprint hashes sources by their path inside their tree, not by their
absolute path, so identical trees in different folders share a build.

Initial values: every build is Verilated with `--x-assign unique --x-initial
unique`, and every run passes `+verilator+rand+reset+2` (every variable
without an initial value, and every X assignment, starts random rather than
zero) with `+verilator+seed+<n>`, n derived from the test's seed
(verilator_seed), so a flop that the design forgets to reset, or a value read
before it is written, shows up, and one seed still replays exactly, initial
values included.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import zlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from .paths import GEN_RTL, ROOT, SIM_BUILD, TB
from .paths import RTL as _REPO_RTL
from .tools import setup_verilator

# Order matters for packages: generated register packages, then the project
# package, then modules (order-free).
RTL_DIRS = ("common", "mailbox", "doorbell", "engine")
CLK_NS = 10  # the testbench clock period (CLK_PERIOD_NS in tb/vmsg/tests/base.py)
RTL = Path(os.environ.get("VMSG_RTL") or _REPO_RTL).resolve()
LINT_WAIVERS = _REPO_RTL / "lint" / "generated.vlt"


def _tree_name(src: Path) -> str:
    """A source's name inside its tree (rtl/..., gen/..., or relative to the repository)."""
    for root, tag in ((RTL, "rtl"), (GEN_RTL, "gen"), (_REPO_RTL, "rtl"), (ROOT, "")):
        try:
            return f"{tag}/{src.resolve().relative_to(root.resolve())}".lstrip("/")
        except ValueError:
            continue
    return str(src)


def rtl_sources(only: tuple[str, ...] = ()) -> list[Path]:
    """Every synthesizable source of the peripheral, packages first.

    `only`: restrict to these folders of rtl/ (their packages first), without the generated
    register blocks and the top level; e.g. ("engine",) builds the used-index engine alone.
    """
    if only:
        files = [p for d in only for p in sorted((RTL / d).glob("*.sv"))]
        return [p for p in files if p.name.endswith("_pkg.sv")] + [p for p in files if not p.name.endswith("_pkg.sv")]
    gen = sorted(GEN_RTL.glob("*_pkg.sv")) + sorted(p for p in GEN_RTL.glob("*.sv") if not p.name.endswith("_pkg.sv"))
    pkgs = sorted(RTL.glob("*_pkg.sv"))
    mods = [p for d in RTL_DIRS for p in sorted((RTL / d).glob("*.sv")) if not p.name.endswith("_pkg.sv")]
    top = sorted(p for p in RTL.glob("*.sv") if not p.name.endswith("_pkg.sv"))
    return gen + pkgs + mods + top


def rtl_include_dirs() -> list[Path]:
    """Folders that `include searches: the assertion macros, rtl/common/vmsg_assert.svh."""
    return [RTL / "common"]


def rtl_headers() -> list[Path]:
    """Every header of the RTL (part of a build's fingerprint)."""
    return sorted(p for d in rtl_include_dirs() for p in d.glob("*.svh"))


@dataclass(frozen=True)
class HdlConfig:
    """One HDL build: toplevel, parameters, options."""

    top: str
    params: tuple[tuple[str, object], ...] = ()
    label: str = "default"
    waves: bool = False
    # Code coverage (line, toggle, assertions): `make cov` sets VMSG_COVERAGE=1 for every build.
    coverage: bool = field(default_factory=lambda: os.environ.get("VMSG_COVERAGE", "0") == "1")
    extra_sources: tuple[str, ...] = ()  # testbench-only HDL (tb/ wrappers), relative to ROOT
    defines: tuple[tuple[str, object], ...] = ()
    rtl: bool = True  # include the peripheral's RTL (False: extra_sources only)
    rtl_only: tuple[str, ...] = ()  # with rtl: only these rtl/ folders (see rtl_sources)

    @property
    def name(self) -> str:
        flags = ("-waves" if self.waves else "") + ("-cov" if self.coverage else "")
        return f"{self.top}-{self.label}{flags}"

    @property
    def build_dir(self) -> Path:
        return SIM_BUILD / self.name

    def sources(self) -> list[Path]:
        return (rtl_sources(self.rtl_only) if self.rtl else []) + [ROOT / s for s in self.extra_sources]

    def build_args(self) -> list[str]:
        args = [
            "--timing",
            "--assert",
            "-Wno-fatal",
            "-Werror-USERFATAL",  # a parameter check's $fatal stops the build, as it stops lint
            "-Wno-lint",
            "-Wno-style",
            "--x-assign", "unique",
            "--x-initial", "unique",
            "-O3",
            "--output-split", "20000",
        ]
        if self.waves:
            args += ["--trace-fst", "--trace-structs"]
        if self.coverage:
            args += ["--coverage-line", "--coverage-toggle", "--coverage-user"]
        return args

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([self.top, self.params, self.defines, self.build_args()], default=str).encode())
        for src in self.sources() + (rtl_headers() if self.rtl else []) + [LINT_WAIVERS]:
            if src.exists():
                h.update(_tree_name(src).encode())
                h.update(src.read_bytes())
        return h.hexdigest()


def _reusable(cfg: HdlConfig, fp: str) -> Path | None:
    """A read-only build of VMSG_BUILD_REUSE with this fingerprint, if any."""
    base = os.environ.get("VMSG_BUILD_REUSE")
    if not base:
        return None
    d = Path(base) / cfg.name
    if d.resolve() == cfg.build_dir.resolve():
        return None
    stamp = d / "vmsg.fingerprint"
    try:
        if stamp.read_text() == fp and (d / cfg.top).exists():
            return d
    except OSError:
        pass
    return None


def build(cfg: HdlConfig, verbose: bool = False) -> Path:
    """Build cfg unless an identical build exists; returns the build folder
    (cfg.build_dir, or an identical build of VMSG_BUILD_REUSE)."""
    from cocotb_tools.runner import VerilatorControlFile, get_runner

    setup_verilator()
    cfg.build_dir.parent.mkdir(parents=True, exist_ok=True)
    stamp = cfg.build_dir / "vmsg.fingerprint"
    with FileLock(str(cfg.build_dir) + ".lock"):
        fp = cfg.fingerprint()
        if stamp.exists() and stamp.read_text() == fp and (cfg.build_dir / cfg.top).exists():
            return cfg.build_dir
        reuse = _reusable(cfg, fp)
        if reuse is not None:
            return reuse
        runner = get_runner("verilator")
        sources: list = [str(p) for p in cfg.sources()]
        if LINT_WAIVERS.exists() and cfg.rtl:
            sources.insert(0, VerilatorControlFile(str(LINT_WAIVERS)))
        runner.build(
            sources=sources,
            hdl_toplevel=cfg.top,
            includes=[str(d) for d in rtl_include_dirs()] if cfg.rtl else [],
            parameters=dict(cfg.params),
            defines=dict(cfg.defines),
            build_args=cfg.build_args(),
            build_dir=cfg.build_dir,
            waves=cfg.waves,
            always=True,
            verbose=verbose,
            log_file=cfg.build_dir / "build.log",
        )
        stamp.write_text(fp)
    return cfg.build_dir


def verilator_seed(seed: int) -> int:
    """Verilator's runtime seed (initial values) for a test seed: 1..2**31-1, never 0 (for 0
    Verilator draws a seed of its own, and the run would not replay)."""
    return zlib.crc32(f"verilator-init:{int(seed)}".encode()) % 0x7FFFFFFF + 1


def init_plusargs(seed: int) -> list[str]:
    """The plusargs that randomise initial values from the test's seed (see the module doc)."""
    return ["+verilator+rand+reset+2", f"+verilator+seed+{verilator_seed(seed)}"]


@dataclass
class RunResult:
    passed: bool
    test_dir: Path
    results_xml: Path
    failures: list[str] = field(default_factory=list)
    sim_time_ns: float = 0.0


def run(
    cfg: HdlConfig,
    test_module: str,
    testcase: str | None,
    test_dir: Path,
    seed: int | None = None,
    extra_env: dict[str, str] | None = None,
    plusargs: list[str] | None = None,
    pythonpath: list[str] | tuple[str, ...] = (),
) -> RunResult:
    """Run cocotb tests of test_module (one testcase or all) in test_dir.

    pythonpath: folders to import test modules from. cocotb's runner hands
    the simulator its own sys.path as PYTHONPATH, so they go there.
    """
    from cocotb_tools.runner import get_runner

    build_dir = build(cfg)
    setup_verilator()
    if seed is None:  # drawn here, not by cocotb, so that the initial values follow it too
        seed = secrets.randbelow(2**31 - 1) + 1
    test_dir = Path(test_dir).resolve()  # the simulator runs in test_dir: a relative path would nest
    test_dir.mkdir(parents=True, exist_ok=True)
    for p in (str(TB), str(ROOT / "sim"), *pythonpath):
        if p not in sys.path:
            sys.path.append(p)
    env = {
        "VMSG_RUN_DIR": str(test_dir),
        "VMSG_HDL_PARAMS": json.dumps(dict(cfg.params)),
        "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "INFO"),
        # Same seed, same run: no per-process hash randomisation either.
        "PYTHONHASHSEED": "0",
        # cocotbext-axi on cocotb 2.1 warns on every transaction; the log is for the test.
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    env.update(extra_env or {})
    runner = get_runner("verilator")
    xml = test_dir / "results.xml"
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=cfg.top,
            hdl_toplevel_lang="verilog",
            testcase=testcase,
            seed=seed,
            build_dir=build_dir,
            test_dir=test_dir,
            results_xml=str(xml),
            extra_env=env,
            waves=cfg.waves,
            plusargs=init_plusargs(seed) + list(plusargs or []),
            log_file=test_dir / "sim.log",
        )
    except (SystemExit, RuntimeError):
        # Under pytest (and for a simulator exit code) cocotb's runner exits on a
        # failed test; a simulation stopped by an SVA ($error -> $stop) makes it
        # raise RuntimeError instead. The results file says what failed.
        pass
    return parse_results(xml, test_dir)


def parse_results(xml: Path, test_dir: Path) -> RunResult:
    if not xml.exists():
        return RunResult(False, test_dir, xml, ["no results.xml (simulator crashed?)"])
    root = ET.parse(xml).getroot()
    failures: list[str] = []
    sim_ns = 0.0
    ran = 0
    for tc in root.iter("testcase"):
        ran += 1
        for prop in tc.iter("property"):
            if prop.get("name") == "sim_time_duration":
                sim_ns += float(prop.get("value") or 0)
        for bad in list(tc.iter("failure")) + list(tc.iter("error")):
            failures.append(f"{tc.get('name')}: {bad.get('message', '')}".strip())
    if ran == 0:
        failures.append("no test ran")
    return RunResult(not failures, test_dir, xml, failures, sim_ns)
