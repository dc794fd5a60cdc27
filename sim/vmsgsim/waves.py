"""The GTKWave view of a vmsg_periph waveform: one list of signals per block, the
translate filters that show values by name, and a headless PNG of the view.

    python -m vmsgsim.waves view DUMP.fst [--config LABEL] [--log sim.log] [--png]
    python -m vmsgsim.waves filters

`view` writes <dump folder>/waves.gtkw for that dump (and waves.png with --png).
The signal list below (BLOCKS) is the only place that names signals; every name
is looked up in the dump's own hierarchy (read with fst2vcd, from Debian's
gtkwave package), so a renamed signal is an error here and in
sim/tests/test_waves.py rather than an empty row in GTKWave.

The filters under build/waves/filters/ are generated from rtl/vmsg_pkg.sv (message
ids, framing error codes), the mailbox's head_e and the Python side (the codec's
vmsg.proto.constants, the mailbox reference model, the engine's ERR_KIND values);
the two sides are compared and a difference is an error.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .paths import BUILD, ROOT, RTL, TB

TOP = "vmsg_periph"
FILTERS = BUILD / "waves" / "filters"
QUEUES_SHOWN = 2          # engine queues with a group of their own (the first ones)
APT_HINT = "install Debian's gtkwave and xvfb (make setup does)"


class ViewError(Exception):
    """The view cannot be made for this dump (a signal of the list is missing, no dump, ...)."""


# ---------------------------------------------------------------------------------------------
# The signal list: one per block
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sig:
    """One row: `path` below the top scope; `fmt` is bin/hex/dec, or a filter:
    "f:<name>" a translate file, "p:<name>" a translate process (both in FILTERS)."""

    path: str
    fmt: str = ""
    alias: str = ""


@dataclass
class Group:
    title: str
    sigs: list[Sig] = field(default_factory=list)


def _axil(prefix: str) -> list[Sig]:
    p = prefix
    return [
        Sig(f"{p}_awvalid"), Sig(f"{p}_awready"), Sig(f"{p}_awaddr"),
        Sig(f"{p}_wvalid"), Sig(f"{p}_wready"), Sig(f"{p}_wdata"), Sig(f"{p}_wstrb"),
        Sig(f"{p}_bvalid"), Sig(f"{p}_bready"), Sig(f"{p}_bresp", "f:axi_resp"),
        Sig(f"{p}_arvalid"), Sig(f"{p}_arready"), Sig(f"{p}_araddr"),
        Sig(f"{p}_rvalid"), Sig(f"{p}_rready"), Sig(f"{p}_rdata"), Sig(f"{p}_rresp", "f:axi_resp"),
    ]


def _mailbox(inst: str, to_driver: bool, hdr8: bool = False) -> list[Sig]:
    m = inst
    x = "_hdr8" if hdr8 else ""     # the header layout of the build (HDR_FORMAT)
    sigs = [
        Sig(f"{m}.u_slots.count_q", "dec", "FIFO count"),
        Sig(f"{m}.tx_full_o", "", "full"),
        Sig(f"{m}.u_rd.head_sel_q", "f:head_sel", "head selection"),
        Sig(f"{m}.rx_head_len_o", "dec", "head length (HEAD_LEN)"),
        Sig(f"{m}.u_rd.head_hdr", f"p:header{x}", "head message"),
        Sig(f"{m}.u_rd.head_hdr", f"p:type{x}", "head type"),
        Sig(f"{m}.u_rd.head_hdr", f"p:msg_id{x}", "head msg_id"),
        Sig(f"{m}.u_rd.head_hdr", f"p:dev_id{x}", "head dev_id"),
        Sig(f"{m}.u_rd.head_hdr", f"p:msg_size{x}", "head msg_size"),
    ]
    if to_driver:
        sigs += [Sig(f"{m}.u_rd.evt_dev_q", "dec", "event head dev_id"), Sig(f"{m}.u_rd.evt_vq_q", "dec", "event head vq")]
    sigs += [
        Sig(f"{m}.u_wr.u_check.hdr_i", f"p:header{x}", "staged message"),
        Sig(f"{m}.u_wr.u_check.msg_type", "f:msg_type", "staged type"),
        Sig(f"{m}.u_wr.u_check.hdr_i", f"p:msg_id{x}", "staged msg_id"),
        Sig(f"{m}.u_wr.u_check.dev_id", "dec", "staged dev_id"),
        Sig(f"{m}.u_wr.u_check.msg_size", "dec", "staged msg_size"),
        Sig(f"{m}.u_wr.staged_len_q", "dec", "staged length"),
        Sig(f"{m}.u_wr.chk_code_q", "f:err_code", "framing check"),
        Sig(f"{m}.u_wr.chk_doorbell_q", "", "check: doorbell"),
        Sig(f"{m}.u_wr.err_code_q", "f:err_code", "TX_ERROR.CODE"),
        Sig(f"{m}.tx_accepted_o", "", "accepted"),
        Sig(f"{m}.rx_popped_o", "", "popped"),
        Sig(f"{m}.rx_underflow_o", "", "underflow"),
    ]
    return sigs


def _queue(q: int) -> list[Sig]:
    b = f"u_engine.u_ctrl.g_q[{q}].u_queue"
    return [
        Sig(f"{b}.en_q", "", "enabled"),
        Sig(f"{b}.dev_id_q", "dec", "dev_id"), Sig(f"{b}.vq_q", "dec", "vq"),
        Sig(f"{b}.acc_q", "dec", "acc"), Sig(f"{b}.acked_q", "dec", "acked"),
        Sig(f"{b}.pub_q", "dec", "pub"), Sig(f"{b}.vis_q", "dec", "vis"),
        Sig(f"{b}.err_q", "", "error"), Sig(f"{b}.err_kind_q", "f:eng_err_kind", "ERR_KIND"),
        Sig(f"{b}.err_addr_q", "hex", "ERR_ADDR"), Sig(f"{b}.resetting_q", "", "resetting"),
    ]


def blocks(params: dict[str, int]) -> list[Group]:
    """The view of one configuration (params: the HDL parameters of the build)."""
    hdr8 = int(params.get("HDR_FORMAT", 0)) == 1
    drv_intr = "u_drv_port.g_regs.u_regs.field_storage.INTR_STATE"
    dev_intr = "u_dev_port.g_regs.u_regs.field_storage.INTR_STATE"
    groups = [
        Group("clock and reset", [Sig("clk_i"), Sig("rst_ni")]),
        Group("interrupts and INTR_STATE", [
            Sig("drv_irq_o"),
            Sig(f"{drv_intr}.RX_MSG.value", "", "drv INTR_STATE.RX_MSG"),
            Sig(f"{drv_intr}.TX_ERR.value", "", "drv INTR_STATE.TX_ERR"),
            Sig("dev_irq_o"),
            Sig(f"{dev_intr}.RX_MSG.value", "", "dev INTR_STATE.RX_MSG"),
            Sig(f"{dev_intr}.TX_ERR.value", "", "dev INTR_STATE.TX_ERR"),
            Sig(f"{dev_intr}.DOORBELL.value", "", "dev INTR_STATE.DOORBELL"),
            Sig(f"{dev_intr}.ENG_ERR.value", "", "dev INTR_STATE.ENG_ERR"),
        ]),
        Group("driver port (AXI4-Lite)", _axil("s_drv_axil")),
        Group("device port (AXI4-Lite)", _axil("s_dev_axil")),
        Group("mailbox driver -> device", _mailbox("u_mbox_to_dev", to_driver=False, hdr8=hdr8)),
        Group("mailbox device -> driver", _mailbox("u_mbox_to_drv", to_driver=True, hdr8=hdr8)),
        Group("doorbells", [
            Sig("u_doorbell.kick_valid", "", "kick"),
            Sig("u_doorbell.kick_p", "dec", "kick: dev * NUM_VQS + vq"),
            Sig("u_doorbell.kick_data", "hex", "kick: data"),
            Sig("u_doorbell.pend_q", "hex", "pending bits"),
            Sig("u_doorbell.coalesced_o", "", "coalesced"),
            Sig("u_doorbell.irq_o", "", "doorbell interrupt"),
        ]),
        Group("engine completion stream and events", [
            Sig("s_cpl_valid"), Sig("s_cpl_ready"), Sig("s_cpl_queue", "dec"),
            Sig("s_cpl_id", "hex"), Sig("s_cpl_len", "dec"),
            Sig("u_engine.evt_valid_o", "", "EVENT_USED valid"), Sig("u_engine.evt_ready_i", "", "EVENT_USED ready"),
            Sig("u_engine.evt_dev_id_o", "dec", "EVENT_USED dev_id"), Sig("u_engine.evt_vq_o", "dec", "EVENT_USED vq"),
            Sig("u_engine.err_irq_o", "", "engine error"),
        ]),
        Group("engine AXI4 master", [
            Sig("m_axi_awvalid"), Sig("m_axi_awready"), Sig("m_axi_awid"), Sig("m_axi_awaddr"),
            Sig("m_axi_awlen", "dec"),
            Sig("m_axi_wvalid"), Sig("m_axi_wready"), Sig("m_axi_wdata"), Sig("m_axi_wstrb"), Sig("m_axi_wlast"),
            Sig("m_axi_bvalid"), Sig("m_axi_bready"), Sig("m_axi_bid"), Sig("m_axi_bresp", "f:axi_resp"),
            Sig("m_axi_arvalid"), Sig("m_axi_arready"), Sig("m_axi_arid"), Sig("m_axi_araddr"),
            Sig("m_axi_arlen", "dec"),
            Sig("m_axi_rvalid"), Sig("m_axi_rready"), Sig("m_axi_rid"), Sig("m_axi_rdata"),
            Sig("m_axi_rresp", "f:axi_resp"), Sig("m_axi_rlast"),
        ]),
    ]
    for q in range(min(QUEUES_SHOWN, int(params.get("ENG_QUEUES", 1)))):
        groups.append(Group(f"engine queue {q}", _queue(q)))
    return groups


# ---------------------------------------------------------------------------------------------
# Constants: read from the RTL and from the Python side, compared, turned into filters
# ---------------------------------------------------------------------------------------------
_ENUM = re.compile(r"typedef\s+enum\s+logic\s*\[(\d+):0\]\s*\{(.*?)\}\s*(\w+)\s*;", re.S)


def sv_enums(text: str) -> dict[str, tuple[int, dict[str, int]]]:
    """typedef enums of SystemVerilog source: name -> (width, {member: value})."""
    out = {}
    for m in _ENUM.finditer(text):
        width, body, name = int(m.group(1)) + 1, m.group(2), m.group(3)
        members, nxt = {}, 0
        for item in re.sub(r"//[^\n]*", "", body).split(","):
            item = item.strip()
            if not item:
                continue
            mm = re.fullmatch(r"(\w+)(?:\s*=\s*(?:\d+)?'([hdb])([0-9a-fA-F_]+))?", item)
            if not mm:
                raise ViewError(f"cannot read enum member {item!r} of {name}")
            if mm.group(2):
                nxt = int(mm.group(3).replace("_", ""), {"h": 16, "d": 10, "b": 2}[mm.group(2)])
            members[mm.group(1)] = nxt
            nxt += 1
        out[name] = (width, members)
    return out


def _py_assignments(path: Path, names: tuple[str, ...]) -> dict[str, int]:
    """Integer constants assigned at module level (`A, B = 1, 2` too), without importing."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            tgt, val = node.targets[0], node.value
            pairs = (zip(tgt.elts, val.elts) if isinstance(tgt, ast.Tuple) and isinstance(val, ast.Tuple)
                     else [(tgt, val)])
            for t, v in pairs:
                if isinstance(t, ast.Name) and t.id in names and isinstance(v, ast.Constant):
                    found[t.id] = v.value
    return found


@dataclass
class Tables:
    """Value -> name tables of the filters, each with its width in bits."""

    transport_ids: dict[int, str]
    bus_ids: dict[int, str]
    err_codes: dict[int, str]
    head_sel: dict[int, str]
    eng_err_kind: dict[int, str]
    msg_type: dict[int, str]
    axi_resp: dict[int, str]
    widths: dict[str, int]


def tables() -> Tables:
    """Read both sides, compare them, return the tables (ViewError on a difference)."""
    from vmsg.env import mbox_ref
    from vmsg.proto import constants as C

    pkg = sv_enums((RTL / "vmsg_pkg.sv").read_text())
    mbox = sv_enums((RTL / "mailbox" / "vmsg_mbox_rd.sv").read_text())
    try:
        w_id, rtl_tr = pkg["vmsg_msg_id_e"]
        _, rtl_bus = pkg["vmsg_bus_msg_id_e"]
        w_err, rtl_err = pkg["vmsg_err_e"]
        w_head, rtl_head = mbox["head_e"]
    except KeyError as exc:
        raise ViewError(f"enum {exc} not found in the RTL") from None

    def strip(d: dict[str, int], prefix: str) -> dict[int, str]:
        return {v: k[len(prefix):] if k.startswith(prefix) else k for k, v in d.items()}

    tr, bus, err = strip(rtl_tr, "MSG_"), strip(rtl_bus, "BUS_MSG_"), strip(rtl_err, "ERR_")
    diffs = []
    for what, rtl_t, py_t in (("transport ids", tr, {int(m): m.name for m in C.TransportId}),
                              ("bus ids", bus, {int(m): m.name for m in C.BusId}),
                              ("error codes", err, dict(mbox_ref.CODE_NAMES))):
        if rtl_t != py_t:
            diffs.append(f"{what}: rtl/vmsg_pkg.sv {rtl_t} != Python {py_t}")
    if diffs:
        raise ViewError("RTL and Python constants differ:\n  " + "\n  ".join(diffs))

    kinds = _py_assignments(TB / "vmsg" / "tests" / "engine_env.py",
                            ("ERR_KIND_WRITE", "ERR_KIND_READ", "ERR_KIND_CONFIG", "ERR_KIND_TIMEOUT"))
    if len(kinds) != 4:
        raise ViewError(f"ERR_KIND_* not found in tb/vmsg/tests/engine_env.py (found {kinds})")
    eng = {0: "none", **{v: k[len("ERR_KIND_"):].lower() for k, v in kinds.items()}}

    msg_type = {}
    for t in range(256):
        if t & C.TYPE_RESERVED_MASK:
            msg_type[t] = f"RESERVED {t:#04x}"
        else:
            msg_type[t] = ("bus " if t & C.TYPE_BUS else "") + ("response" if t & C.TYPE_RESPONSE else "request")
    axi = {0: "OKAY", 1: "EXOKAY", 2: "SLVERR", 3: "DECERR"}
    # the RTL's own AXI response constants must name the same values
    for name, val in re.findall(r"AXI_RESP_(\w+)\s*=\s*2'b([01]{2})", (RTL / "vmsg_pkg.sv").read_text()):
        if axi.get(int(val, 2)) != name:
            raise ViewError(f"AXI_RESP_{name} = {val} in rtl/vmsg_pkg.sv, not the AXI value")
    head = strip(rtl_head, "HEAD_")
    return Tables(tr, bus, err, head, eng, msg_type, axi,
                  {"err_code": w_err, "head_sel": w_head, "msg_type": 8, "axi_resp": 2, "eng_err_kind": 2,
                   "msg_id": w_id})


_PROCESS = '''\
#!{python}
"""GTKWave translate process (generated by vmsgsim.waves): a message header in hex
(little endian: vmsg_mbox_check hdr_i, the staged bytes 0..13, or vmsg_mbox_rd head_hdr,
the head's bytes 0..7), {layout} -> {what}."""
import sys

TRANSPORT = {transport!r}
BUS = {bus!r}
TYPE = {types!r}
FIELD = {field!r}
HDR8 = {hdr8!r}


def decode(text):
    try:
        v = int(text, 16)
    except ValueError:
        return text                      # x / z: as GTKWave shows it
    if v == 0:
        return "-"
    typ, mid, dev = v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFFFF
    token, size = ((v >> 32) & 0xFFFF, (v >> 48) & 0xFFFF) if HDR8 else (None, (v >> 32) & 0xFFFF)
    name = (BUS if typ & 2 else TRANSPORT).get(mid, "id %#04x" % mid)
    if FIELD == "msg_id":
        return name
    if FIELD == "type":
        return TYPE[typ]
    if FIELD == "dev_id":
        return str(dev)
    if FIELD == "msg_size":
        return str(size)
    tok = "" if token is None else " token %d" % token
    return "%s %s dev %d%s size %d" % (TYPE[typ], name, dev, tok, size)


for line in sys.stdin:
    sys.stdout.write(decode(line.strip()) + "\\n")
    sys.stdout.flush()
'''

# translate processes: field -> what it shows; each in both header layouts
PROCESS_FIELDS = {
    "header": "type, msg_id, dev_id (token) and msg_size on one line",
    "msg_id": "the msg_id by name",
    "type": "the type by name",
    "dev_id": "dev_id in decimal",
    "msg_size": "msg_size in decimal",
}
LAYOUTS = {
    "": "6-byte header {type, msg_id, dev_id, msg_size}",
    "_hdr8": "8-byte header {type, msg_id, dev_num, token, msg_size}",
}


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace path atomically: a GTKWave of another run may be reading the old one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)


def write_filters(out: Path = FILTERS) -> dict[str, Path]:
    """Generate the translate files and processes; returns name -> path."""
    t = tables()
    out.mkdir(parents=True, exist_ok=True)
    paths = {}

    def file_filter(name: str, table: dict[int, str]) -> None:
        digits = max(1, math.ceil(t.widths[name] / 4))
        path = out / f"{name}.txt"
        _write(path, "".join(f"{v:0{digits}X} {label}\n" for v, label in sorted(table.items())))
        paths[f"f:{name}"] = path

    file_filter("err_code", t.err_codes)
    file_filter("head_sel", t.head_sel)
    file_filter("msg_type", t.msg_type)
    file_filter("axi_resp", t.axi_resp)
    file_filter("eng_err_kind", t.eng_err_kind)
    # message ids per type, for reading by hand and for other views
    t.widths["msg_id_transport"] = t.widths["msg_id_bus"] = t.widths["msg_id"]
    file_filter("msg_id_transport", t.transport_ids)
    file_filter("msg_id_bus", t.bus_ids)
    types = {v: ("bus " if v & 2 else "") + ("resp" if v & 1 else "req") for v in range(4)}
    types.update({v: "RESERVED" for v in range(4, 256)})
    for x, layout in LAYOUTS.items():
        for name, what in PROCESS_FIELDS.items():
            path = out / f"{name}{x}.py"
            _write(path, _PROCESS.format(python=sys.executable, what=what, layout=layout,
                                         transport=t.transport_ids, bus=t.bus_ids, types=types,
                                         field=name, hdr8=bool(x)), 0o755)
            paths[f"p:{name}{x}"] = path
    return paths


# ---------------------------------------------------------------------------------------------
# The dump: hierarchy and time range
# ---------------------------------------------------------------------------------------------
@dataclass
class Var:
    name: str        # as GTKWave names it: scope.path.name plus [msb:lsb] for vectors
    width: int


@contextlib.contextmanager
def _vcd_lines(fst: Path):
    """The lines fst2vcd writes for an FST; the process is stopped when the caller is done."""
    exe = shutil.which("fst2vcd")
    if not exe:
        raise ViewError(f"fst2vcd not found: {APT_HINT}")
    if not Path(fst).exists():
        raise ViewError(f"no waveform {fst}")
    proc = subprocess.Popen([exe, str(fst)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield (line.split() for line in proc.stdout)
    finally:
        proc.kill()
        proc.wait()


def _declarations(tokens):
    """(dotted path, $var tokens) of each variable, from the tokens of the VCD header; stops
    after $enddefinitions, leaving the value changes in `tokens`."""
    stack: list[str] = []
    for tok in tokens:
        if not tok:
            continue
        if tok[0] == "$scope":
            stack.append(tok[2])
        elif tok[0] == "$upscope":
            stack.pop()
        elif tok[0] == "$var":
            yield ".".join([*stack, tok[4]]), tok
        elif tok[0] == "$enddefinitions":
            return


def hierarchy(fst: Path) -> dict[str, Var]:
    """Every variable of an FST: dotted path without the range -> Var. Reads the
    header that fst2vcd prints and stops there."""
    out: dict[str, Var] = {}
    with _vcd_lines(fst) as tokens:
        for path, tok in _declarations(tokens):
            rng = tok[5] if len(tok) > 6 and tok[5].startswith("[") else ""
            out[path] = Var(path + rng, int(tok[2]))
    if not out:
        raise ViewError(f"{fst}: no variables (not an FST waveform?)")
    return out


def values(fst: Path, path: str) -> list[tuple[int, str]]:
    """The value changes of one variable of an FST (dotted path, as in hierarchy()):
    [(time, value as fst2vcd writes it: binary digits for vectors)]."""
    now, out = 0, []
    with _vcd_lines(fst) as tokens:
        codes = [tok[3] for p, tok in _declarations(tokens) if p == path]
        if not codes:
            raise ViewError(f"{fst}: no variable {path}")
        code = codes[0]
        for tok in tokens:
            if not tok:
                continue
            if tok[0].startswith("#"):
                now = int(tok[0][1:])
            elif tok[0][0] in "bB" and len(tok) == 2 and tok[1] == code:
                out.append((now, tok[0][1:]))
            elif len(tok) == 1 and tok[0][1:] == code:
                out.append((now, tok[0][0]))
    return out


def time_range(fst: Path) -> tuple[int, int, int]:
    """(start, end, timescale exponent) from the FST header block."""
    with open(fst, "rb") as f:
        head = f.read(74)
    if len(head) < 74 or head[0] != 0:
        raise ViewError(f"{fst}: no FST header")
    start, end = struct.unpack(">QQ", head[9:25])
    return start, end, struct.unpack(">b", head[73:74])[0]


_TIME = re.compile(r"^\s*([0-9.]+)(fs|ps|ns|us|ms|s)\s")
_UNITS = {"fs": -15, "ps": -12, "ns": -9, "us": -6, "ms": -3, "s": 0}


def first_failure_time(log: Path, timescale: int = -12) -> int | None:
    """The simulation time (in the dump's units) of the first error line of a run's log."""
    from .regress import _ERR  # the regression's own notion of an error line

    if not Path(log).exists():
        return None
    last = 0.0
    for line in Path(log).read_text(errors="replace").splitlines():
        m = _TIME.match(line)
        if m:
            last = float(m.group(1)) * 10 ** (_UNITS[m.group(2)] - timescale)
        if _ERR.search(line):
            return int(last)
    return None


# ---------------------------------------------------------------------------------------------
# The view
# ---------------------------------------------------------------------------------------------
# GTKWave trace flags (analyzer.h)
_HEX, _DEC, _BIN, _RJUSTIFY = 0x02, 0x04, 0x08, 0x20
_FTRANS, _PTRANS = 0x2000, 0x4000
_BLANK, _GRP_BEGIN, _GRP_END = 0x200, 0x800000, 0x1000000
SIZE = (1240, 1000)       # window, pixels
SIGNALS_WIDTH = 300
WAVE_WIDTH = SIZE[0] - SIGNALS_WIDTH - 60
ROW_PX = 21
PIXELS_PER_FRAME = 200    # GTKWave: a zoom of z shows 2**-z time units per 200 pixels


@dataclass
class View:
    path: Path
    groups: list[tuple[str, list[tuple[Sig, Var]]]]
    start: int
    end: int
    marker: int | None

    @property
    def names(self) -> list[str]:
        return [var.name for _, rows in self.groups for _, var in rows]


def resolve(groups: list[Group], hier: dict[str, Var], top: str = TOP) -> list[tuple[str, list[tuple[Sig, Var]]]]:
    """Each signal of the list with its variable in the dump; ViewError naming all missing ones."""
    missing, out = [], []
    for g in groups:
        rows = []
        for s in g.sigs:
            var = hier.get(f"{top}.{s.path}")
            if var is None:
                missing.append(f"{g.title}: {top}.{s.path}")
            else:
                rows.append((s, var))
        out.append((g.title, rows))
    if missing:
        raise ViewError("signals of the view missing from the waveform:\n  " + "\n  ".join(missing))
    return out


def _flags(s: Sig, var: Var) -> int:
    if s.fmt.startswith("f:"):
        return _FTRANS | _HEX | _RJUSTIFY
    if s.fmt.startswith("p:"):
        return _PTRANS | _HEX | _RJUSTIFY
    base = {"dec": _DEC, "hex": _HEX, "bin": _BIN}.get(s.fmt, _BIN if var.width == 1 else _HEX)
    return base | _RJUSTIFY


def _row(s: Sig, var: Var) -> str:
    """The save-file line of one trace. A filtered vector is given as the list of its bits
    (GTKWave applies no filter to a variable the FST declares as an enum)."""
    if s.fmt[:2] in ("f:", "p:") and var.width > 1:
        label = s.alias or var.name.rsplit(".", 1)[-1]
        return f"#{{{label}}} " + " ".join(f"({i}){var.name}" for i in range(var.width))
    return f"+{{{s.alias}}} {var.name}" if s.alias else var.name


def write_view(fst: Path, params: dict[str, int], out: Path | None = None, log: Path | None = None,
               filters: dict[str, Path] | None = None, window: tuple[int, int] | None = None) -> View:
    """Write the GTKWave save file of one dump. The time range is the whole run, or a
    window around the first error of `log` when it has one (marker on it), or `window`
    (start, end in the dump's time units)."""
    fst = Path(fst).resolve()
    out = Path(out or fst.parent / "waves.gtkw")
    filters = filters or write_filters()
    groups = resolve(blocks(params), hierarchy(fst))
    start, end, scale = time_range(fst)
    fail = first_failure_time(log, scale) if log else None
    marker = None
    if fail is not None:
        span = min(max(end - start, 1), 5_000 * 10 ** (-9 - scale))   # 5 us around the failure
        marker = min(max(fail, start), end)
        start = max(start, marker - int(span * 0.8))
        end = min(end, start + span)
    if window:
        start, end = max(start, window[0]), min(end, window[1])
        if end <= start:
            raise ViewError(f"window {window} is outside the run ({start}..{end})")
    zoom = -math.log2(max(end - start, 1) / WAVE_WIDTH * PIXELS_PER_FRAME)
    lines = [
        "[*] GTKWave view generated by vmsgsim.waves from its signal list (do not edit: it is rewritten)",
        f"[*] gtkwave {fst} {out}",
        f'[dumpfile] "{fst}"',
        f'[savefile] "{out.resolve()}"',
        f"[timestart] {start}",
        f"[size] {SIZE[0]} {SIZE[1]}",
        "[pos] 0 0",
        f"*{zoom:.6f} {marker if marker is not None else -1}" + " -1" * 26,
        "[sst_expanded] 0",
        f"[signals_width] {SIGNALS_WIDTH}",
        "[sst_width] 1",
    ]
    for title, rows in groups:
        lines += [f"@{_GRP_BEGIN | _BLANK:x}", f"-{title}"]
        for s, var in rows:
            if s.fmt[:2] in ("f:", "p:"):
                lines.append(f"^{'>' if s.fmt[0] == 'p' else ''}1 {filters[s.fmt]}")
            lines.append(f"@{_flags(s, var):x}")
            lines.append(_row(s, var))
        lines += [f"@{_GRP_END | _BLANK:x}", f"-{title}"]
    out.write_text("\n".join(lines) + "\n")
    return View(out, groups, start, end, marker)


def params_of(label: str) -> dict[str, int]:
    from . import configs

    return configs.params(label) if label in configs.CONFIGS else dict(configs.DEFAULTS)


# ---------------------------------------------------------------------------------------------
# Headless GTKWave: PNG of the view, list of the traces it loaded
# ---------------------------------------------------------------------------------------------
class Xvfb:
    """A private X server for one GTKWave run (stopped by its own pid)."""

    def __init__(self, width: int, height: int):
        exe = shutil.which("Xvfb")
        if not exe:
            raise ViewError(f"Xvfb not found: {APT_HINT}")
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            [exe, "-displayfd", str(w), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as f:
            num = f.readline().strip()
        if not num:
            self.proc.kill()
            raise ViewError("Xvfb did not start")
        self.display = f":{num}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def gtkwave_batch(view: View, tcl: str, height: int | None = None, timeout: float = 180) -> str:
    """Run GTKWave on the view's dump and save file under Xvfb with a Tcl script; returns its output."""
    exe = shutil.which("gtkwave")
    if not exe:
        raise ViewError(f"gtkwave not found: {APT_HINT}")
    rows = sum(len(r) + 2 for _, r in view.groups)
    height = height or max(SIZE[1], rows * ROW_PX + 260)
    text = view.path.read_text()
    text = re.sub(r"^\[size\] .*$", f"[size] {SIZE[0]} {height}", text, flags=re.M)
    with tempfile.TemporaryDirectory() as tmp, Xvfb(SIZE[0] + 40, height + 80) as x:
        gtkw = Path(tmp) / "view.gtkw"
        gtkw.write_text(text)
        script = Path(tmp) / "batch.tcl"
        script.write_text(tcl + "\ngtkwave::/File/Quit\n")
        env = {**os.environ, "DISPLAY": x.display}
        dump = Path(re.search(r'^\[dumpfile\] "(.*)"$', text, re.M).group(1))
        # relative to the checkout (the window title shows it), like the commands make prints
        cwd = ROOT if dump.is_relative_to(ROOT) else dump.parent
        r = subprocess.run([exe, "-S", str(script), str(dump.relative_to(cwd)), str(gtkw)], env=env,
                           capture_output=True, text=True, timeout=timeout, cwd=cwd)
        if r.returncode != 0:
            raise ViewError(f"gtkwave exited with {r.returncode}: {r.stdout[-2000:]}{r.stderr[-2000:]}")
        return r.stdout


def loaded_traces(view: View) -> list[str]:
    """The names of the traces GTKWave shows for the view (aliases resolved to signals)."""
    out = gtkwave_batch(view, 'set n [gtkwave::getTotalNumTraces]\n'
                              'for {set i 0} {$i < $n} {incr i} { puts "TRACE [gtkwave::getTraceNameFromIndex $i]" }\n'
                              'puts "DISPLAYED [gtkwave::getDisplayedSignals]"', height=SIZE[1])
    return [line[6:] for line in out.splitlines() if line.startswith("TRACE ")]


def render_png(view: View, png: Path | None = None) -> Path:
    """PNG of the whole view (every group open), next to the save file by default."""
    png = Path(png or view.path.with_suffix(".png")).resolve()
    png.unlink(missing_ok=True)
    gtkwave_batch(view, f"gtkwave::/File/Grab_To_File {{{png}}}")
    for _ in range(20):   # the grab is written before Quit returns; allow a slow disk
        if png.exists() and png.stat().st_size:
            return png
        time.sleep(0.1)
    raise ViewError(f"gtkwave wrote no {png}")


def for_run(run_dir: Path, label: str, top: str, failed: bool, png: bool = False) -> int:
    """After `make waves`: the view of the run's dump (opening on the first error of a failed
    run), its PNG with png; prints the command that opens it. 1 if the view cannot be made."""
    fst = Path(run_dir) / "dump.fst"
    if top != TOP:
        print(f"waveform: {fst}  (no view: the saved view is for {TOP}, this test's top is {top})")
        return 0
    if not fst.exists():
        print(f"waveform: (none written in {run_dir})")
        return 1
    if not png:
        (Path(run_dir) / "waves.png").unlink(missing_ok=True)   # no picture of an earlier run
    try:
        view = write_view(fst, params_of(label), log=Path(run_dir) / "sim.log" if failed else None)
        print(f"waveform: {fst}\nview:     gtkwave {fst} {view.path}")
        if view.marker is not None:
            print(f"          opens at the first error, {view.marker} ps (marker)")
        if png:
            print(f"picture:  {render_png(view)}")
    except ViewError as exc:
        print(f"waves: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("view", help="write <dump folder>/waves.gtkw (and waves.png with --png)")
    v.add_argument("fst", type=Path)
    v.add_argument("--config", default="msg64", help="HDL configuration label (sim/vmsgsim/configs.py)")
    v.add_argument("--log", type=Path, help="the run's sim.log: open on its first error")
    v.add_argument("--out", type=Path, help="the save file (default: waves.gtkw next to the dump)")
    v.add_argument("--png", action="store_true")
    v.add_argument("--png-out", type=Path, help="where the PNG goes (implies --png)")
    v.add_argument("--window", help="FROM:TO in ns: open on this time range instead of the whole run")
    sub.add_parser("filters", help=f"write the translate filters to {FILTERS}")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "filters":
            for name, path in write_filters().items():
                print(f"{name}: {path}")
            return 0
        window = None
        if a.window:
            _, _, scale = time_range(a.fst)
            lo, hi = (float(x) for x in a.window.split(":"))
            window = (int(lo * 10 ** (-9 - scale)), int(hi * 10 ** (-9 - scale)))
        view = write_view(a.fst, params_of(a.config), out=a.out, log=a.log, window=window)
        print(f"view: gtkwave {a.fst} {view.path}")
        if a.png or a.png_out:
            print(f"picture: {render_png(view, a.png_out)}")
    except ViewError as exc:
        print(f"waves: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
