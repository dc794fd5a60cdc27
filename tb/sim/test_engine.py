"""Tests of the used-index engine alone (DUT vmsg_used_engine, tb/vmsg/tests/engine_unit.py).

One pytest item per (cocotb test, HDL configuration). The engine is built from rtl/engine/ only
(HdlConfig.rtl_only), so it does not depend on the rest of the RTL. Configurations:
  q4_w64      NUM_Q 4,  64-bit data, 32-bit addresses (the default shape): every test but the
              burst limit
  q2_b16      NUM_Q 2, 64-bit data, MAX_BURST_BEATS 16 (an AXI3 target): the burst limit
  q1_w32      NUM_Q 1,  32-bit data: single-queue tests
  q64_w128    NUM_Q 64, 128-bit data, 64-bit addresses: register map, many queues, big rings
  q5_w64      NUM_Q 5 (not a power of two): stream completions for queues >= NUM_Q; built with
              AXI_ID 5, AXI_CACHE 0011, AXI_PROT 010 (the monitor checks them), IDX_BATCH 24
              (not a power of two: the publication threshold)
Each run gets build/sim/engine-<test>-<label>/ (sim.log, results.xml).
"""

from __future__ import annotations


import pytest

from vmsgsim import hdl

MODULE = "vmsg.tests.engine_unit"

CONFIGS = {
    "q4_w64": {"NUM_Q": 4, "AXI_DATA_W": 64, "AXI_ADDR_W": 32},
    "q1_w32": {"NUM_Q": 1, "AXI_DATA_W": 32, "AXI_ADDR_W": 32},
    "q64_w128": {"NUM_Q": 64, "AXI_DATA_W": 128, "AXI_ADDR_W": 64},
    # (also non-default AXI attributes: the monitor checks every transaction against them)
    "q5_w64": {"NUM_Q": 5, "AXI_DATA_W": 64, "AXI_ADDR_W": 32, "AXI_ID": 5, "AXI_CACHE": 0b0011,
               "AXI_PROT": 0b010, "IDX_BATCH": 24},
    # bursts of at most 16 beats (an AXI3 target), below the element FIFO's 64 entries
    "q2_b16": {"NUM_Q": 2, "AXI_DATA_W": 64, "AXI_ADDR_W": 32, "MAX_BURST_BEATS": 16},
}

# test -> configurations it runs on
TESTS = {
    "test_regs": ["q4_w64", "q1_w32", "q64_w128", "q5_w64"],
    "test_stream_basic": ["q4_w64", "q1_w32", "q64_w128"],
    "test_event_idx": ["q4_w64", "q1_w32"],
    "test_event_idx_boundaries": ["q4_w64"],
    "test_no_interrupt": ["q4_w64"],
    "test_ring_sizes": ["q4_w64", "q1_w32", "q64_w128"],
    "test_random_traffic": ["q4_w64", "q64_w128", "q5_w64"],
    "test_idx_wrap": ["q4_w64"],
    "test_fw_path": ["q4_w64", "q1_w32"],
    "test_stream_and_fw": ["q4_w64"],
    "test_write_error": ["q4_w64", "q64_w128"],
    "test_read_error": ["q4_w64"],
    "test_bad_config": ["q4_w64", "q64_w128"],
    "test_reset_busy": ["q4_w64", "q1_w32"],
    "test_disable_drain": ["q4_w64"],
    "test_events_held": ["q4_w64", "q64_w128"],
    "test_bad_stream_queue": ["q5_w64"],
    "test_merge_rule": ["q4_w64", "q1_w32"],
    "test_idx_hold": ["q4_w64"],
    "test_reset_mem_faults": ["q4_w64", "q1_w32"],
    "test_reset_nonblocking": ["q4_w64", "q1_w32"],
    "test_reset_hides_late_errors": ["q4_w64"],
    "test_reset_discards_decision": ["q4_w64", "q1_w32"],
    "test_mem_timeout": ["q4_w64"],
    "test_idx_threshold": ["q4_w64", "q5_w64"],
    "test_max_burst": ["q2_b16"],
}


def config(label: str, waves: bool = False) -> hdl.HdlConfig:
    return hdl.HdlConfig(top="vmsg_used_engine", params=tuple(sorted(CONFIGS[label].items())),
                         label=f"eng-{label}", waves=waves, rtl_only=("engine",))


CASES = [(t, label) for t, labels in TESTS.items() for label in labels]


@pytest.mark.sim
@pytest.mark.parametrize("testcase,label", CASES, ids=[f"{t}-{label}" for t, label in CASES])
def test_engine(testcase, label, simrun):
    simrun(lambda waves: config(label, waves=waves), MODULE, testcase, f"engine-{testcase}-{label}")
