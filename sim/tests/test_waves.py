"""The GTKWave view (vmsgsim.waves): it loads on every HDL configuration, its filters say
what the RTL and the Python side say, and it opens where the run failed.

The view test runs one short simulation (fixture/waves_idle.py) per configuration on the
waveform build of that configuration and reads the real FST's hierarchy; it costs one
waveform HDL build per configuration (shared with `make waves`).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from vmsgsim import configs, hdl, waves
from vmsgsim.paths import BUILD, RTL, SIM

FIXTURE = SIM / "tests" / "fixture"



# --- filters: generated from the RTL and the Python side -------------------------------------
def _table(path):
    return {int(v, 16): name for v, name in (line.split(" ", 1) for line in path.read_text().splitlines())}


def test_filters_match_rtl_and_codec(tmp_path):
    from vmsg.env import mbox_ref
    from vmsg.proto.constants import BusId, TransportId

    paths = waves.write_filters(tmp_path)
    assert _table(paths["f:err_code"]) == mbox_ref.CODE_NAMES
    assert _table(paths["f:msg_id_transport"]) == {int(m): m.name for m in TransportId}
    assert _table(paths["f:msg_id_bus"]) == {int(m): m.name for m in BusId}
    head = _table(paths["f:head_sel"])
    assert set(head.values()) == {"NONE", "FIFO", "EVT"} and head[0] == "NONE"   # reset value of head_sel_q
    types = _table(paths["f:msg_type"])
    assert (types[0], types[1], types[2], types[3]) == ("request", "response", "bus request", "bus response")
    assert types[0x80].startswith("RESERVED")
    assert _table(paths["f:axi_resp"])[2] == "SLVERR"

    # the processes decode a staged header (hdr_i: bytes 0..13 little endian, as hex)
    def decode(name, hdr: bytes) -> str:
        value = int.from_bytes(hdr.ljust(14, b"\0"), "little")
        r = subprocess.run([str(paths[f"p:{name}"])], input=f"{value:028X}\n", capture_output=True, text=True,
                           timeout=30, check=True)
        return r.stdout.strip()

    avail = bytes([0x00, 0x41]) + (3).to_bytes(2, "little") + (14).to_bytes(2, "little")
    assert decode("msg_id", avail) == "EVENT_AVAIL"
    assert decode("header", avail) == "req EVENT_AVAIL dev 3 size 14"
    devices = bytes([0x03, 0x02, 0, 0]) + (44).to_bytes(2, "little")      # bus response, id 2
    assert decode("msg_id", devices) == "GET_DEVICES"
    assert decode("header", devices) == "bus resp GET_DEVICES dev 0 size 44"
    assert decode("msg_id", bytes([0x00, 0x02])) == "DEVICE_INFO"          # same id, transport
    assert decode("header", bytes([0x80, 0x02])).startswith("RESERVED")
    # one field per process, as the head message's rows show it
    used = bytes([0x00, 0x42]) + (5).to_bytes(2, "little") + (10).to_bytes(2, "little") + (1).to_bytes(2, "little")
    assert [decode(f, used) for f in ("type", "msg_id", "dev_id", "msg_size")] == ["req", "EVENT_USED", "5", "10"]
    # the 8-byte layout: the token sits where the seed's msg_size is, msg_size after it
    used8 = bytes([0x01, 0x42]) + (5).to_bytes(2, "little") + (7).to_bytes(2, "little") + (12).to_bytes(2, "little")
    assert decode("header_hdr8", used8) == "resp EVENT_USED dev 5 token 7 size 12"
    assert decode("msg_size_hdr8", used8) == "12" and decode("msg_size", used8) == "7"
    assert set(waves.PROCESS_FIELDS) | {f"{f}_hdr8" for f in waves.PROCESS_FIELDS} == \
        {k[2:] for k in paths if k.startswith("p:")}


def test_enum_reader_and_mismatch_are_errors():
    text = "typedef enum logic [3:0] {\n  A = 4'd0,  // zero\n  B = 4'h5,\n  C\n} e_t;\n"
    assert waves.sv_enums(text) == {"e_t": (4, {"A": 0, "B": 5, "C": 6})}
    with pytest.raises(waves.ViewError, match="cannot read"):
        waves.sv_enums("typedef enum logic [1:0] { A = foo } e_t;")
    # the tables come from the RTL package: every framing error code of the package is named
    pkg = waves.sv_enums((RTL / "vmsg_pkg.sv").read_text())
    assert set(waves.tables().err_codes) == set(pkg["vmsg_err_e"][1].values())


def test_missing_signal_is_named():
    groups = [waves.Group("g", [waves.Sig("a"), waves.Sig("u_x.gone_q")])]
    hier = {"vmsg_periph.a": waves.Var("vmsg_periph.a", 1)}
    with pytest.raises(waves.ViewError, match=r"g: vmsg_periph\.u_x\.gone_q"):
        waves.resolve(groups, hier)


def test_failure_time_from_log(tmp_path):
    log = tmp_path / "sim.log"
    log.write_text("     0.00ns INFO     cocotb  start\n"
                   "  1234.50ns INFO     cocotb  fine\n"
                   "  2000.00ns ERROR    cocotb  scoreboard: mismatch\n"
                   "  3000.00ns ERROR    cocotb  later\n")
    assert waves.first_failure_time(log, -12) == 2_000_000
    assert waves.first_failure_time(log, -9) == 2000
    # an assertion: cocotb prints the traceback under the line with the time
    log.write_text("  4280.00ns WARNING  cocotb.regression  vmsg.tests.smoke.SmokeRawTest failed\n"
                   "                                      Traceback (most recent call last):\n"
                   "                                      AssertionError: commit refused: code 5\n")
    assert waves.first_failure_time(log) == 4_280_000
    log.write_text("  10.00ns INFO     cocotb  all good\n")
    assert waves.first_failure_time(log) is None


# --- the view on a real waveform of every configuration -------------------------------------
def _dump(label: str):
    cfg = configs.periph(label, waves=True)
    run_dir = BUILD / "waves-check" / label
    shutil.rmtree(run_dir, ignore_errors=True)
    params = configs.params(label)
    env = {"VMSG_WAVES_MSG_SIZE": str(params["MSG_SIZE"]),
           "VMSG_WAVES_HDR_FORMAT": str(params.get("HDR_FORMAT", 0))}
    res = hdl.run(cfg, "waves_idle", "waves_idle", run_dir, seed=1, extra_env=env, pythonpath=[str(FIXTURE)])
    assert res.passed, f"the view test's simulation failed on {label}: {res.failures}"
    return run_dir


@pytest.mark.sim
@pytest.mark.parametrize("label", sorted(configs.CONFIGS))
def test_view_loads_on_every_configuration(label):
    missing = [t for t in ("fst2vcd", "gtkwave", "Xvfb") if not shutil.which(t)]
    assert not missing, f"{missing} not found: {waves.APT_HINT}"
    run_dir = _dump(label)
    fst = run_dir / "dump.fst"
    params = configs.params(label)
    hier = waves.hierarchy(fst)
    view = waves.write_view(fst, params)          # ViewError names any signal the dump lacks

    # every trace of the save file is a variable of this dump, with this dump's width
    names = {v.name for v in hier.values()}
    text = view.path.read_text()
    traced = re.findall(r"^(?:\+\{[^}]*\} |#\{[^}]*\} \(0\))?(vmsg_periph\.\S+)", text, re.M)
    assert traced and set(traced) <= names, sorted(set(traced) - names)
    assert len(traced) == sum(len(g.sigs) for g in waves.blocks(params))
    titles = [t for t, _ in view.groups]
    for want in ("driver port (AXI4-Lite)", "device port (AXI4-Lite)", "interrupts and INTR_STATE",
                 "mailbox driver -> device", "mailbox device -> driver", "doorbells",
                 "engine completion stream and events", "engine AXI4 master", "engine queue 0", "engine queue 1"):
        assert want in titles
    pend = next(v for s, v in dict(view.groups)["doorbells"] if s.path == "u_doorbell.pend_q")
    assert pend.width == params["NUM_DEVS"] * params["NUM_VQS"]

    # the head message's header, as the view decodes it: the fixture committed one message
    # (its log names the bytes it wrote); the dump's head_hdr must hold exactly those bytes,
    # and the view's processes must name them
    logged = re.search(r"HEADER ([0-9a-f]{16})", (run_dir / "sim.log").read_text())
    assert logged, "the fixture did not log its message"
    written = int.from_bytes(bytes.fromhex(logged.group(1)), "little")
    seen = [int(v, 2) for _, v in waves.values(fst, f"{waves.TOP}.u_mbox_to_dev.u_rd.head_hdr") if set(v) <= {"0", "1"}]
    assert written in seen, f"head_hdr never held the committed header {written:#018x}: {[hex(v) for v in seen]}"
    rows = {s.alias: s.fmt for s in next(g for g in waves.blocks(params) if g.title == "mailbox driver -> device").sigs}
    procs = waves.write_filters(BUILD / "waves" / "filters")
    shown = {alias: subprocess.run([str(procs[rows[alias]])], input=f"{written:016X}\n", capture_output=True,
                                   text=True, timeout=30, check=True).stdout.strip()
             for alias in ("head type", "head msg_id", "head dev_id", "head msg_size")}
    assert shown == {"head type": "req", "head msg_id": "DEVICE_INFO", "head dev_id": "3",
                     "head msg_size": "8" if params.get("HDR_FORMAT", 0) else "6"}, shown   # DEVICE_INFO: a header

    # the whole run, from the dump's own header
    start, end, scale = waves.time_range(fst)
    assert scale == -12 and start == 0 and end > 0
    assert (view.start, view.end, view.marker) == (0, end, None)
    assert "[timestart] 0\n" in text

    # GTKWave itself finds every trace of the view in this dump
    # (it leaves out a trace whose signal it cannot find; each group adds two blank rows)
    loaded = waves.loaded_traces(view)
    assert len(loaded) == len(traced) + 2 * len(view.groups), loaded
    assert loaded[:3] == ["clock and reset", "clk_i", "rst_ni"]

    # a failed run opens on its first error, with the marker there
    log = run_dir / "fail.log"
    t_ns = end // 2000
    log.write_text(f"  {t_ns}.00ns ERROR    cocotb  scoreboard: mismatch\n")
    failed = waves.write_view(fst, params, out=run_dir / "fail.gtkw", log=log)
    assert failed.marker == t_ns * 1000 and failed.start <= failed.marker <= failed.end
    assert failed.end - failed.start == min(end, 5_000_000)          # 5 us, or the whole of a short run
    assert re.search(rf"^\*-?[0-9.]+ {failed.marker} ", failed.path.read_text(), re.M)

    if label == "msg64":   # make waves' path, and the picture: a PNG of the whole view
        (run_dir / "waves.gtkw").unlink()
        assert waves.for_run(run_dir, label, waves.TOP, failed=False) == 0
        assert (run_dir / "waves.gtkw").read_text() == text
        assert waves.for_run(run_dir, label, "vmsg_used_engine", failed=True) == 0   # no view for other tops
        assert waves.for_run(run_dir / "nothing", label, waves.TOP, failed=True) == 1
        png = waves.render_png(view)
        head = png.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        assert width >= waves.SIZE[0] and height >= len(traced) * waves.ROW_PX
