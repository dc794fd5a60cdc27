"""Python register model, built from the SystemRDL description at import.

The same .rdl files that PeakRDL turns into the register blocks, C headers and
HTML docs are compiled here with systemrdl-compiler, so register offsets and
field positions are never written by hand in the testbench.

    from vmsg.regmap import DRV, DEV
    DRV.addr("TX_CTRL")                 -> 0x20
    DRV.field("TX_STATUS", "COUNT")     -> Field(lsb=0, width=9)
    DEV.addr("ENG.Q[3].CTRL")           -> 0x20d0
    DEV.get("TX_ERROR", "CODE", value)  -> extracted field
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

RDL_DIR = Path(__file__).resolve().parents[2] / "rtl" / "regs"


@dataclass(frozen=True)
class Field:
    lsb: int
    width: int

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    def get(self, value: int) -> int:
        return (value >> self.lsb) & ((1 << self.width) - 1)

    def put(self, value: int) -> int:
        if value >> self.width:
            raise ValueError(f"{value:#x} does not fit in {self.width} bits")
        return value << self.lsb


class RegMap:
    """Offsets and fields of one register map (array indices resolved)."""

    def __init__(self, name: str):
        self.name = name
        self._regs: dict[str, int] = {}
        self._fields: dict[str, dict[str, Field]] = {}
        self._blocks: dict[str, tuple[int, int]] = {}
        self._load(name)

    def _load(self, name: str) -> None:
        from peakrdl_regblock.udps import ALL_UDPS
        from systemrdl import RDLCompiler
        from systemrdl.node import AddrmapNode, MemNode, RegfileNode, RegNode

        rdlc = RDLCompiler()
        for udp in ALL_UDPS:
            rdlc.register_udp(udp)
        rdlc.compile_file(str(RDL_DIR / f"{name}.rdl"), incl_search_paths=[str(RDL_DIR)])
        root = rdlc.elaborate(top_def_name=name).top

        def walk(node, prefix: str) -> None:
            for child in node.children(unroll=True):
                label = child.inst_name
                if child.is_array:
                    label += "".join(f"[{i}]" for i in child.current_idx)
                path = f"{prefix}{label}"
                if isinstance(child, RegNode):
                    self._regs[path] = child.absolute_address
                    self._fields[path] = {
                        f.inst_name: Field(f.low, f.width) for f in child.fields()
                    }
                elif isinstance(child, MemNode):
                    self._blocks[path] = (child.absolute_address, child.size)
                elif isinstance(child, (RegfileNode, AddrmapNode)):
                    if child.external:
                        self._blocks[path] = (child.absolute_address, child.size)
                    walk(child, path + ".")

        walk(root, "")

    def addr(self, reg: str) -> int:
        """Byte offset of a register ("TX_CTRL", "ENG.Q[2].CTRL") or block ("TX_MSG")."""
        if reg in self._regs:
            return self._regs[reg]
        if reg in self._blocks:
            return self._blocks[reg][0]
        raise KeyError(f"{self.name}: no register or block {reg!r}")

    def size(self, block: str) -> int:
        return self._blocks[block][1]

    def field(self, reg: str, name: str) -> Field:
        try:
            return self._fields[reg][name]
        except KeyError:
            raise KeyError(f"{self.name}: no field {reg}.{name}") from None

    def get(self, reg: str, name: str, value: int) -> int:
        return self.field(reg, name).get(value)

    def value(self, reg: str, **fields: int) -> int:
        """Compose a register value from named fields."""
        v = 0
        for name, fv in fields.items():
            v |= self.field(reg, name).put(fv)
        return v

    def decode(self, reg: str, value: int) -> dict[str, int]:
        return {n: f.get(value) for n, f in self._fields[reg].items()}

    def registers(self) -> dict[str, int]:
        return dict(self._regs)

    def reg_at(self, addr: int) -> str | None:
        for name, a in self._regs.items():
            if a == addr:
                return name
        return None


@functools.lru_cache(maxsize=None)
def load(name: str) -> RegMap:
    return RegMap(name)


def __getattr__(attr: str) -> RegMap:  # lazy DRV / DEV so importing is cheap
    if attr == "DRV":
        return load("vmsg_drv_regs")
    if attr == "DEV":
        return load("vmsg_dev_regs")
    raise AttributeError(attr)

