"""Register-level tests of vmsg_periph (tb/vmsg/tests/periph_regs.py).

One pytest item per (cocotb test, HDL configuration): MSG_SIZE 44, 64 and 256
(the shared configurations of vmsgsim.configs, so the builds are reused), and
a small one with FIFO depth 2 and a doorbell grid that is not a power of two;
the doorbell test also on `many` (96 doorbells).
Each run gets build/sim/<test>-<label>/ (sim.log, results.xml).
"""

from __future__ import annotations


import pytest

from vmsgsim import configs, hdl

MODULE = "vmsg.tests.periph_regs"

TESTS = [
    "test_id_caps",
    "test_msg_drv_to_dev",
    "test_msg_dev_to_drv",
    "test_msg_size_quirk",
    "test_zero_fill_head_len",
    "test_framing_errors",
    "test_framing_random",
    "test_overflow",
    "test_underflow",
    "test_discard",
    "test_window_errors",
    "test_doorbell",
    "test_doorbell_unkicked_zero",
    "test_interrupts",
    "test_axil_backpressure",
    "test_axil_aw_w_order",
]

# Small FIFOs (overflow after two messages) and 3 x 5 doorbells (index
# arithmetic that is not a shift, pending bits ending inside a word).
SMALL = {"TO_DEV_DEPTH": 2, "TO_DRV_DEPTH": 2, "NUM_DEVS": 3, "NUM_VQS": 5}


def config(label: str, waves: bool = False) -> hdl.HdlConfig:
    if label == "small":
        params = {**configs.DEFAULTS, **SMALL}
        return hdl.HdlConfig(top=configs.TOP, params=tuple(sorted(params.items())), label="regs-small",
                             waves=waves)
    return configs.periph(label, waves=waves)


LABELS = ["msg44", "msg64", "msg256", "small"]


# More than 32 doorbells (48 x 2, the shared `many` configuration): DB_PENDING words past the first.
EXTRA = [("test_doorbell", "many")]


@pytest.mark.sim
@pytest.mark.parametrize("testcase,label", [(t, lb) for lb in LABELS for t in TESTS] + EXTRA)
def test_periph_regs(testcase, label, simrun):
    simrun(lambda waves: config(label, waves=waves), MODULE, testcase, f"{testcase}-{label}")


# Block level: the to-driver mailbox's event input, not reachable from the
# ports until the used-index engine is plugged in (tb/vmsg/tests/mbox_events.py).
MBOX_EVENT_TESTS = ["test_event_head", "test_event_round_robin", "test_claim_cycle", "test_commit_right_after_write",
                    "test_commit_right_after_pop"]


@pytest.mark.sim
@pytest.mark.parametrize("msg_size", [44, 64])
@pytest.mark.parametrize("testcase", MBOX_EVENT_TESTS)
def test_mbox_events(testcase, msg_size, simrun):
    params = {"MSG_SIZE": msg_size, "DEPTH": 4, "TO_DEVICE": 0, "NUM_DEVS": 8, "NUM_VQS": 4}
    simrun(lambda waves: hdl.HdlConfig(top="vmsg_mbox", params=tuple(sorted(params.items())), label=f"evt-m{msg_size}",
                                       waves=waves),
           "vmsg.tests.mbox_events", testcase, f"mbox-{testcase}-m{msg_size}")
