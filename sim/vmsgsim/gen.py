"""Generate everything that comes from the SystemRDL register description.

Outputs (under build/gen/):
  rtl/<map>.sv, rtl/<map>_pkg.sv   PeakRDL-regblock register blocks (passthrough CPU interface)
  include/<map>.h                  PeakRDL C headers
  docs/<map>/index.html            PeakRDL HTML register documentation

Regeneration is skipped when every output is newer than every .rdl input.
Run as `python -m vmsgsim.gen [--force]`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .paths import GEN_DOCS, GEN_INCLUDE, GEN_RTL, RDL

MAPS = ("vmsg_drv_regs", "vmsg_dev_regs")
ADDR_WIDTH = 16


def _outputs(name: str) -> list[Path]:
    return [
        GEN_RTL / f"{name}.sv",
        GEN_RTL / f"{name}_pkg.sv",
        GEN_INCLUDE / f"{name}.h",
        GEN_DOCS / name / "index.html",
    ]


def compile_map(name: str):
    """Compile one register map; returns the elaborated root node."""
    from peakrdl_regblock.udps import ALL_UDPS
    from systemrdl import RDLCompiler

    rdlc = RDLCompiler()
    for udp in ALL_UDPS:  # regblock's own properties (buffer_writes, ...)
        rdlc.register_udp(udp)
    rdlc.compile_file(str(RDL / f"{name}.rdl"), incl_search_paths=[str(RDL)])
    return rdlc.elaborate(top_def_name=name)


def generate(name: str) -> None:
    from peakrdl_cheader.exporter import CHeaderExporter
    from peakrdl_html import HTMLExporter
    from peakrdl_regblock import RegblockExporter
    from peakrdl_regblock.cpuif.passthrough import PassthroughCpuif

    root = compile_map(name)
    GEN_RTL.mkdir(parents=True, exist_ok=True)
    RegblockExporter().export(
        root,
        str(GEN_RTL),
        cpuif_cls=PassthroughCpuif,
        address_width=ADDR_WIDTH,
        default_reset_activelow=True,
        default_reset_async=True,
        err_if_bad_addr=True,
        err_if_bad_rw=True,
        # Register the read path between the read-back mux and the CPU interface
        # (reads take one cycle more; vmsg_axil_regif waits for the ack, whatever
        # its latency).
        retime_read_response=True,
    )
    GEN_INCLUDE.mkdir(parents=True, exist_ok=True)
    # Hierarchical type names (VMSG_DRV_REGS__INTR_STATE__RX_MSG_bm) rather than names
    # derived from anonymous types, which carry hashes.
    CHeaderExporter().export(root, str(GEN_INCLUDE / f"{name}.h"), reuse_typedefs=False)
    HTMLExporter().export(root, str(GEN_DOCS / name), title=root.top.get_property("name"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="regenerate even when up to date")
    args = ap.parse_args(argv)
    inputs = sorted(RDL.glob("*.rdl"))
    newest_input = max(p.stat().st_mtime for p in inputs)
    for name in MAPS:
        outs = _outputs(name)
        if not args.force and all(p.exists() and p.stat().st_mtime >= newest_input for p in outs):
            continue
        print(f"gen: {name} -> {GEN_RTL.relative_to(GEN_RTL.parents[2])}", file=sys.stderr)
        generate(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
