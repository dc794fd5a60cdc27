"""HDL configurations of the peripheral used by tests, regression and bench.

DEFAULTS mirrors the parameter defaults of rtl/vmsg_periph.sv; every build
passes the full set, so the testbench always knows the exact configuration
(the tests also read it back from BUS_INFO / CAPS and compare).
"""

from __future__ import annotations

from .hdl import HdlConfig

TOP = "vmsg_periph"

DEFAULTS: dict[str, int] = {
    "HDR_FORMAT": 0,   # 0: the seed's 6-byte header, 1: the 8-byte header with token
    "MSG_SIZE": 64,
    "TO_DEV_DEPTH": 8,
    "TO_DRV_DEPTH": 8,
    "NUM_DEVS": 8,
    "NUM_VQS": 4,
    "ENG_QUEUES": 8,
    "AXI_DATA_W": 64,
    "AXI_ADDR_W": 32,
    "AXI_ID_W": 4,
}

# Named configurations: label -> parameter overrides. Labels of the 8-byte header format
# (HDR_FORMAT 1) start with "hdr8": hdr8-msg48 is QEMU's maximum message (8 + 40), which the
# 2026 kernel refuses (its minimum is 50); hdr8-msg64 and hdr8-msg256 are what it accepts.
CONFIGS: dict[str, dict[str, int]] = {
    "msg64": {},
    "msg44": {"MSG_SIZE": 44},
    "msg256": {"MSG_SIZE": 256},
    "many": {"NUM_DEVS": 48, "NUM_VQS": 2, "TO_DEV_DEPTH": 4, "TO_DRV_DEPTH": 4},
    "hdr8-msg48": {"HDR_FORMAT": 1, "MSG_SIZE": 48},
    "hdr8-msg64": {"HDR_FORMAT": 1},
    "hdr8-msg256": {"HDR_FORMAT": 1, "MSG_SIZE": 256},
}

HDR8_PREFIX = "hdr8"


def hdr_format(label: str) -> int:
    """HDR_FORMAT of a configuration (0 the 6-byte header, 1 the 8-byte one)."""
    return params(label)["HDR_FORMAT"]


def params(label: str) -> dict[str, int]:
    return {**DEFAULTS, **CONFIGS[label]}


def periph(label: str, waves: bool = False, coverage: bool | None = None) -> HdlConfig:
    """coverage None: as VMSG_COVERAGE says (make cov)."""
    extra = {} if coverage is None else {"coverage": coverage}
    return HdlConfig(top=TOP, params=tuple(sorted(params(label).items())), label=label, waves=waves, **extra)
