"""Benchmark scenario of the used-index engine (run by sim/vmsgsim/bench.py; not a test).

The scenario comes as JSON in VMSG_BENCH. Phase 1 (throughput): completions are offered on the
stream port back to back (valid always high), over the scenario's queues in its order (round
robin, random, or random bursts per queue: queue_order), and the
port's acceptance rate is measured in the steady state (between the first and last tenth of the
completions). Phase 2 (latency): single completions on queue 0 at low load; latency is from the
cycle the port accepts the completion to the B response of the used->idx write that publishes
it. Results go to bench_result.json in the run folder.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.triggers import ClockCycles

from vmsg.tests.engine_env import CLK_NS, EngineEnv


def queue_order(order: str, nq: int, n: int, seed: int, burst_max: int = 32) -> list[int]:
    """The queue of each of the n completions: "rr" round robin, one completion per queue in
    turn (the worst case for bursts); "random" a queue drawn at random for each; "bursts" runs
    of 1..burst_max consecutive completions, each on a queue drawn at random among the others."""
    rng = random.Random(seed)
    if order == "rr":
        return [i % nq for i in range(n)]
    if order == "random":
        return [rng.randrange(nq) for _ in range(n)]
    if order == "bursts":
        out: list[int] = []
        while len(out) < n:
            q = rng.randrange(nq - 1) if nq > 1 else 0
            if out and nq > 1 and q >= out[-1]:
                q += 1                   # another queue than the previous run's
            out += [q] * rng.randint(1, burst_max)
        return out[:n]
    raise ValueError(f"unknown completion order {order!r} (rr, random, bursts)")


@cocotb.test()
async def bench_scenario(dut):
    sc = json.loads(os.environ["VMSG_BENCH"])
    nq = sc["queues"]
    n = sc["completions"]
    size = sc["ring_size"]
    env = EngineEnv(dut, wr_latency=sc["latency"], rd_latency=sc["latency"], seed=sc.get("seed", 1))
    await env.start()
    for q in range(nq):
        used = 0x10000 + q * 0x10000 + sc.get("used_offset", 0)      # 64 KiB per queue: rings up to 4096
        avail = used + ((8 * size + 0x2000) & ~0xFFF)
        # the rings of a queue end below the next queue's, inside the AXI memory (which wraps)
        assert avail + 6 + 2 * size <= 0x10000 + (q + 1) * 0x10000 <= env.mem.size, (q, hex(avail))
        await env.setup_queue(q, used, avail, size, event_idx=sc["event_idx"])
        env.start_driver(q, period_cycles=37, no_int_prob=0.0, ue_window=(0, 16))

    times: list[float] = []

    def on_accept(c, _):
        wq = env.mon.queues[c.q]
        wq.model.complete(c.id, c.len)
        times.append(env.now())

    env.cpl.on_accept = on_accept
    for i, q in enumerate(queue_order(sc.get("order", "rr"), nq, n, sc.get("seed", 1), sc.get("burst_max", 32))):
        env.complete(q, i, (i * 7) & 0xFFFF)
    await env.quiesce(timeout_cycles=50 * n + 100000)
    lo, hi = n // 10, n - n // 10
    cycles = (times[hi - 1] - times[lo]) / CLK_NS
    cpc = (hi - 1 - lo) / cycles if cycles > 0 else 0.0
    first_to_last = (times[-1] - times[0]) / CLK_NS

    idx_writes = notify = suppress = merged = required = 0
    for q in range(nq):
        cnt = await env.check_queue(q)
        idx_writes += cnt["idx_wr"]
        notify += cnt["notify"]
        suppress += cnt["suppress"]
        merged += cnt["merged"]
        required += env.mon.queues[q].oracle.required
    env.check_monitor()
    events = len(env.evt.events)

    # phase 2: latency at low load (queue 0, one completion at a time)
    lat: list[float] = []
    wq = env.mon.queues[0]
    for k in range(16):
        t_acc: list[float] = []

        def on_acc(c, _):
            wq.model.complete(c.id, c.len)
            t_acc.append(env.now())

        env.cpl.on_accept = on_acc
        target = wq.model.accepted + 1
        env.complete(0, 0xABC0000 + k, k)
        while True:
            await ClockCycles(dut.clk_i, 4)
            hit = [t for (q, v, t) in env.mon.idx_visible_ns if q == 0 and v >= target]
            if hit and t_acc:
                # t_acc is the falling edge before the accepting rising edge
                lat.append((hit[0] - (t_acc[0] + CLK_NS / 2)) / CLK_NS)
                break
        await ClockCycles(dut.clk_i, 20)
    await env.quiesce()
    env.check_monitor()

    res = dict(sc)
    res.update({
        "data_w": env.data_w,
        "completions_per_cycle": round(cpc, 4),
        "completions_per_cycle_overall": round(n / first_to_last, 4) if first_to_last else 0.0,
        "idx_writes_per_completion": round(idx_writes / n, 5),
        "idx_writes": idx_writes,
        "notifications_sent": notify,
        "notifications_required": required,
        "notifications_suppressed": suppress,
        "events_delivered": events,
        "events_merged": merged,
        "latency_cycles": round(sum(lat) / len(lat), 1),
        "latency_cycles_min": round(min(lat), 1),
        "latency_cycles_max": round(max(lat), 1),
        "write_bursts": env.mon.stats["elem_bursts"],
        "beats": env.mon.stats["beats"],
    })
    Path(os.environ.get("VMSG_RUN_DIR", ".")).joinpath("bench_result.json").write_text(json.dumps(res, indent=1))
    dut._log.info("bench result %s", res)
