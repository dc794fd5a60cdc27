"""Elaboration rules of HDR_FORMAT and MSG_SIZE (rtl/vmsg_periph.sv, rtl/mailbox/): the 8-byte
header takes slots of 48..256 bytes, the 6-byte header 44..256, both in multiples of 4; anything
else stops elaboration with a message that says why (Verilator's lint elaborates the top with
the parameters, as a build would)."""

from __future__ import annotations

import pytest

from vmsgsim import configs, hdl
from vmsgsim.lint import run_lint


@pytest.mark.parametrize("params", [
    {"HDR_FORMAT": 1, "MSG_SIZE": 48},    # QEMU's maximum message
    {"HDR_FORMAT": 1, "MSG_SIZE": 52},    # the smallest slot a 2026 kernel accepts (>= 50)
    {"HDR_FORMAT": 1, "MSG_SIZE": 256},
    {"HDR_FORMAT": 0, "MSG_SIZE": 44},
])
def test_legal_slot_sizes_elaborate_clean(params):
    n, log = run_lint(params=params)
    assert n == 0, log[-3000:]


@pytest.mark.parametrize("params, message", [
    ({"HDR_FORMAT": 1, "MSG_SIZE": 50}, "MSG_SIZE 50 is not a multiple of 4"),
    ({"HDR_FORMAT": 1, "MSG_SIZE": 44}, "MSG_SIZE 44 must be 48..256 with the 8-byte header"),
    ({"HDR_FORMAT": 0, "MSG_SIZE": 42}, "MSG_SIZE 42 is not a multiple of 4"),
    ({"HDR_FORMAT": 0, "MSG_SIZE": 40}, "MSG_SIZE 40 must be 44..256 with the 6-byte header"),
    ({"HDR_FORMAT": 2}, "HDR_FORMAT 2 must be 0 (6-byte header) or 1 (8-byte header with token)"),
])
def test_illegal_parameters_stop_elaboration_with_the_reason(params, message):
    n, log = run_lint(params=params)
    assert n != 0 and "USERFATAL" in log, log[-3000:]
    assert message in log, log[-3000:]


def test_illegal_parameters_stop_a_simulation_build():
    """A build (not only lint) stops at the parameter check: Verilator reports $fatal as the
    warning USERFATAL, which the builds turn into an error."""
    params = {**configs.DEFAULTS, "HDR_FORMAT": 0, "MSG_SIZE": 40}
    cfg = hdl.HdlConfig(top=configs.TOP, params=tuple(sorted(params.items())), label="bad-msg40")
    with pytest.raises((Exception, SystemExit)):
        hdl.build(cfg)
    log = (cfg.build_dir / "build.log").read_text()
    assert "MSG_SIZE 40 must be 44..256 with the 6-byte header" in log, log[-3000:]
    assert not (cfg.build_dir / cfg.top).exists(), "a model was built despite the failed check"
