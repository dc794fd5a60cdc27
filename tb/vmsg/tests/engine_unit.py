"""cocotb tests of the used-index engine alone (DUT vmsg_used_engine).

Every test checks behaviour against the virtio split-ring rules and the reference models of
vmsg.ref (through the AXI monitor and EngineEnv's end checks), never against the RTL's own
code. Run by tb/sim/test_engine.py over several HDL configurations; the tests adapt to NUM_Q
and the bus width.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import ClockCycles

from vmsg.tests.engine_env import (
    CAPS, CPL_BAD_QUEUE, CPL_CNT, CPL_ID, CPL_LEN, CPL_PUSH, CPL_REJECTED, CPL_STATUS, CTRL,
    CTRL_ENABLE, CTRL_EVENT_IDX, CTRL_RESET, DEV, DROP_CNT, ERR_ADDR_HI, ERR_ADDR_LO, ERR_CNT,
    ERR_KIND_CONFIG, ERR_KIND_READ, ERR_KIND_WRITE, ERRQ_HI, ERRQ_LO, EVT_PENDING_LO, IDX_WR_CNT,
    MERGED_CNT, NOTIFY_CNT, ST_BUSY, ST_ERROR, STATUS, SUPPRESS_CNT, USED_HI, USED_LO, AVAIL_HI,
    AVAIL_LO, CLK_NS, EngineEnv, hdl_params, qreg, TIMEOUT, MEM_TIMEOUT_DEFAULT, ST_RESETTING,
    ST_ERR_KIND_SHIFT, ST_ERR_KIND_MASK, ERR_KIND_TIMEOUT,
)

# docs/engine.md, Publication: cycles beyond IDX_HOLD an acknowledged element may wait for its
# used->idx write (registered request, arbitration, the W beats of the transaction in progress)
HOLD_SLACK = 16



def ring_addrs(q: int, size: int, rng: random.Random, base: int = 0x10000) -> tuple[int, int]:
    """Used and avail ring addresses of queue q: 128 KiB apart per queue, with the used ring
    either 4 KiB aligned (elements straddle 64-bit beats and one element per page crosses a
    4 KiB boundary) or at 4 mod 8 (elements aligned to 8 bytes)."""
    region = base + q * (128 << 10)
    used = region + rng.choice([0, 4, 0xFF0, 0x7FC, 0xA4])
    avail = region + ((8 * size + 0x2000) & ~0xFFF) + 2 * rng.randint(0, 8)
    return used, avail


async def run_completions(env: EngineEnv, queues: list[int], n: int, rng: random.Random) -> None:
    for i in range(n):
        q = rng.choice(queues)
        env.complete(q, rng.getrandbits(32), rng.getrandbits(32))


@cocotb.test()
async def test_stream_basic(dut):
    """One queue, ring of 64 (wrapping several times), memory latency 16: elements, bursts,
    idx publication and notifications without EVENT_IDX (flags 0: every decision notifies)."""
    env = EngineEnv(dut, wr_latency=16, rd_latency=16)
    await env.start()
    rng = env.rng
    used, avail = ring_addrs(0, 64, rng)
    await env.setup_queue(0, used, avail, 64)
    await run_completions(env, [0], 500, rng)
    await env.quiesce()
    cnt = await env.check_queue(0)
    env.check_monitor()
    assert cnt["cpl"] == 500
    assert cnt["notify"] >= 1
    dut._log.info("counters %s, monitor %s", cnt, env.mon.stats)


@cocotb.test()
async def test_regs(dut):
    """Register map: CAPS, reset values, read/write fields with masks, and err for bad offsets,
    misaligned offsets, queues >= NUM_Q, writes to read-only and reads of write-only registers
    (nothing changes on a refused access)."""
    env = EngineEnv(dut)
    await env.start()
    r = env.regs
    nq = env.num_q
    assert await r.read(ERRQ_LO) == 0 and await r.read(ERRQ_HI) == 0
    assert await r.read(CPL_STATUS) & 0xFF == env.cpl_fifo_depth
    for q in sorted({0, nq - 1}):
        for off in (USED_LO, AVAIL_LO, CTRL, DEV, STATUS, CPL_CNT, IDX_WR_CNT, NOTIFY_CNT, SUPPRESS_CNT,
                    ERR_CNT, DROP_CNT, MERGED_CNT, ERR_ADDR_LO, ERR_ADDR_HI, USED_HI, AVAIL_HI):
            assert await r.read(qreg(q, off)) == 0, f"q{q} reg {off:#x} not 0 after reset"
        await r.write(qreg(q, USED_LO), 0x12345678 & ~3)
        await r.write(qreg(q, AVAIL_LO), 0x0BCDEF02)
        assert await r.read(qreg(q, USED_LO)) == 0x12345678 & ~3
        assert await r.read(qreg(q, AVAIL_LO)) == 0x0BCDEF02
        await r.write(qreg(q, DEV), 0xAAAA5555)
        await r.write(qreg(q, DEV), 0x12340000 | 0x9999, mask=0x0000FFFF)  # low half only
        assert await r.read(qreg(q, DEV)) == 0xAAAA9999
        await r.write(qreg(q, CTRL), CTRL_EVENT_IDX | (9 << 8))  # not enabled
        assert await r.read(qreg(q, CTRL)) == CTRL_EVENT_IDX | (9 << 8)
        if env.addr_w > 32:
            await r.write(qreg(q, USED_HI), 0x1)
            assert await r.read(qreg(q, USED_HI)) == 0x1
            await r.write(qreg(q, USED_HI), 0)
        # read-only registers refuse writes and keep their value
        for off in (STATUS, CPL_CNT, IDX_WR_CNT, NOTIFY_CNT, SUPPRESS_CNT, ERR_CNT, DROP_CNT, MERGED_CNT,
                    ERR_ADDR_LO, ERR_ADDR_HI):
            assert await r.write_err(qreg(q, off), 0xFFFFFFFF), f"write to RO q{q} reg {off:#x} accepted"
            assert await r.read(qreg(q, off)) == 0
    # global registers
    await r.write(CPL_ID, 0xDEADBEEF)
    await r.write(CPL_LEN, 0x0000FFFF, mask=0x0000FF00)
    assert await r.read(CPL_ID) == 0xDEADBEEF
    assert await r.read(CPL_LEN) == 0x0000FF00
    for off in (CAPS, ERRQ_LO, ERRQ_HI, CPL_STATUS, CPL_REJECTED, CPL_BAD_QUEUE, EVT_PENDING_LO):
        assert await r.write_err(off, 0x1234), f"write to RO global {off:#x} accepted"
    assert await r.read_err(CPL_PUSH), "read of write-only CPL_PUSH accepted"
    # TIMEOUT: reset value MEM_TIMEOUT (documented default 65536), 24 bits read/write
    assert await r.read(TIMEOUT) == int(hdl_params().get("MEM_TIMEOUT", MEM_TIMEOUT_DEFAULT))
    await r.write(TIMEOUT, 0xFFFFFFFF)
    assert await r.read(TIMEOUT) == 0xFFFFFF
    await r.write(TIMEOUT, 0x1200, mask=0xFF00)
    assert await r.read(TIMEOUT) == 0xFF12FF
    await r.write(TIMEOUT, MEM_TIMEOUT_DEFAULT)
    for off in (0x004, 0x034, 0x100, 0xFFC):
        assert await r.read_err(off), f"read of unmapped {off:#x} accepted"
        assert await r.write_err(off, 1), f"write of unmapped {off:#x} accepted"
    for off in (0x001, 0x012, qreg(0, 0x11)):
        assert await r.read_err(off), f"misaligned read {off:#x} accepted"
        assert await r.write_err(off, 1), f"misaligned write {off:#x} accepted"
    if nq < 64:
        for q in (nq, 63):
            assert await r.read_err(qreg(q, STATUS)), f"read of queue {q} >= NUM_Q accepted"
            assert await r.write_err(qreg(q, USED_LO), 0x1000), f"write of queue {q} >= NUM_Q accepted"
    assert await r.read(CAPS) & 0xFF == nq


@cocotb.test()
async def test_event_idx(dut):
    """EVENT_IDX: the engine reads used_event after each idx write is visible and notifies
    exactly when vring_need_event() says so, while the driver moves used_event; random memory
    latency and back-pressure."""
    env = EngineEnv(dut, wr_latency=23, rd_latency=31)
    await env.start()
    rng = env.rng
    env.mem.set_backpressure(aw=0.1, w=0.1, b=0.1, ar=0.2, r=0.2)
    qs = list(range(min(env.num_q, 2)))
    for q in qs:
        used, avail = ring_addrs(q, 128, rng)
        await env.setup_queue(q, used, avail, 128, event_idx=True)
        env.start_driver(q, period_cycles=29, ue_window=(-2, 48))
    for _ in range(7):
        await run_completions(env, qs, 100, rng)
        await ClockCycles(dut.clk_i, rng.randint(0, 300))
    await env.quiesce()
    required = suppressed = 0
    for q in qs:
        cnt = await env.check_queue(q)
        wq = env.mon.queues[q]
        dut._log.info("q%d %s required %d suppressed %d", q, cnt, wq.oracle.required, wq.oracle.suppressed)
        required += wq.oracle.required
        suppressed += wq.oracle.suppressed
    assert required > 0 and suppressed > 0, "test did not exercise both outcomes"
    env.check_monitor()


@cocotb.test()
async def test_no_interrupt(dut):
    """Without EVENT_IDX: VRING_AVAIL_F_NO_INTERRUPT in avail->flags suppresses every
    notification (counted in SUPPRESS_CNT); clearing it brings them back."""
    env = EngineEnv(dut, wr_latency=5, rd_latency=5)
    await env.start()
    rng = env.rng
    used, avail = ring_addrs(0, 32, rng)
    await env.setup_queue(0, used, avail, 32, flags=1)
    await run_completions(env, [0], 100, rng)
    await env.quiesce()
    cnt = await env.check_queue(0)
    assert cnt["notify"] == 0 and cnt["suppress"] == cnt["idx_wr"] > 0
    assert env.mon.queues[0].delivered == 0, "EVENT_USED despite NO_INTERRUPT"
    env.mem.write_u16(avail, 0)
    await run_completions(env, [0], 50, rng)
    await env.quiesce()
    cnt = await env.check_queue(0)
    assert cnt["notify"] > 0 and env.mon.queues[0].delivered > 0
    env.check_monitor()


@cocotb.test()
async def test_ring_sizes(dut):
    """Ring sizes 1, 2, 256 and 32768 (wrapping, bursts split at the ring end and at 4 KiB
    boundaries, elements straddling a 4 KiB boundary); a queue reset between the rings."""
    env = EngineEnv(dut, wr_latency=7, rd_latency=3)
    await env.start()
    rng = env.rng
    base = 0x20000
    for size, n, off in ((1, 30, 0x0), (2, 41, 0xFFC), (256, 700, 0xFF0), (32768, 1500, 0x5FC)):
        used = base + off
        avail = (used + 8 * size + 0x1000 + 6) & ~1
        await env.setup_queue(0, used, avail, size, event_idx=bool(size & 2))
        await run_completions(env, [0], n, rng)
        await env.quiesce()
        cnt = await env.check_queue(0)
        assert cnt["cpl"] == n
        dut._log.info("size %d: %s bursts %d", size, cnt, env.mon.queues[0].bursts)
        await env.reset_queue(0)
        base = (avail + 2 * size + 0x2000) & ~0xFFF
    env.check_monitor()


@cocotb.test()
async def test_random_traffic(dut):
    """Every queue, random ring sizes and placement, EVENT_IDX on some, NO_INTERRUPT toggled,
    random memory latency and back-pressure on all five channels, gaps on the stream and
    back-pressure on the event output."""
    env = EngineEnv(dut, wr_latency=0, rd_latency=0, cpl_idle=0.2)
    await env.start()
    rng = env.rng
    env.mem.wr_latency = rng.randint(0, 40)
    env.mem.rd_latency = rng.randint(0, 40)
    env.mem.set_backpressure(aw=0.2, w=0.2, b=0.2, ar=0.2, r=0.2)
    env.evt.busy_prob = 0.3
    qs = list(range(env.num_q))
    for q in qs:
        size = rng.choice([4, 16, 64, 128, 512])
        used, avail = ring_addrs(q, size, rng)
        ev = rng.random() < 0.5
        await env.setup_queue(q, used, avail, size, event_idx=ev)
        env.start_driver(q, period_cycles=rng.randint(10, 60))
    n = 1500 if env.num_q <= 8 else 2500
    await run_completions(env, qs, n, rng)
    await env.quiesce(timeout_cycles=400000)
    total = 0
    for q in qs:
        cnt = await env.check_queue(q)
        total += cnt["cpl"]
    assert total == n
    dut._log.info("monitor %s (latency w%d r%d)", env.mon.stats, env.mem.wr_latency, env.mem.rd_latency)
    env.check_monitor()


@cocotb.test()
async def test_idx_wrap(dut):
    """More than 65536 completions on one queue: used->idx wraps past 65535 (u16), and the
    EVENT_IDX arithmetic with it (the driver keeps moving used_event)."""
    env = EngineEnv(dut, wr_latency=0, rd_latency=0)
    await env.start()
    rng = env.rng
    used, avail = ring_addrs(0, 1024, rng)
    await env.setup_queue(0, used, avail, 1024, event_idx=True)
    env.start_driver(0, period_cycles=50, ue_window=(-8, 40))
    n = 65536 + 1500
    for i in range(n):
        env.complete(0, i, i ^ 0x5A5A)
    await env.quiesce(timeout_cycles=4 * n)
    cnt = await env.check_queue(0)
    assert cnt["cpl"] == n
    assert cnt["status"] & 0xFFFF == n & 0xFFFF
    env.check_monitor()


@cocotb.test()
async def test_fw_path(dut):
    """Firmware completions through CPL_ID / CPL_LEN / CPL_PUSH; SLVERR (and CPL_REJECTED) for a
    queue number out of range, a disabled queue and a full firmware FIFO; nothing accepted is
    lost."""
    env = EngineEnv(dut, wr_latency=3, rd_latency=3)
    await env.start()
    rng = env.rng
    used, avail = ring_addrs(0, 16, rng)
    await env.setup_queue(0, used, avail, 16)
    for i in range(40):
        await env.push_fw(0, 0x1000 + i, i)
    await env.quiesce()
    cnt = await env.check_queue(0)
    assert cnt["cpl"] == 40
    rejected = 0
    for bad_q in (env.num_q, 200, 255):
        if bad_q < 256:
            await env.push_fw(bad_q, 1, 2, expect_ok=False)
            rejected += 1
    if env.num_q > 1:
        await env.push_fw(1, 3, 4, expect_ok=False)  # queue 1 not enabled
        rejected += 1
    assert await env.regs.read(CPL_REJECTED) == rejected
    # fill the firmware FIFO: ring of one element and a slow memory hold the head back
    await env.reset_queue(0)
    used, avail = ring_addrs(0, 1, rng, base=0x400000)
    await env.setup_queue(0, used, avail, 1)
    env.mem.wr_latency = 400
    ok = 0
    for i in range(env.cpl_fifo_depth + 4):
        if await env.push_fw(0, 0x2000 + i, i, expect_ok=None):
            ok += 1
        else:
            rejected += 1
            assert await env.regs.read(CPL_STATUS) & 0xFF == 0, "push refused while the FIFO had room"
    assert ok >= env.cpl_fifo_depth and ok < env.cpl_fifo_depth + 4, f"{ok} pushes accepted"
    assert await env.regs.read(CPL_REJECTED) == rejected
    env.mem.wr_latency = 3
    await env.quiesce(timeout_cycles=100000)
    cnt = await env.check_queue(0)
    assert cnt["cpl"] == ok
    env.check_monitor()


@cocotb.test()
async def test_stream_and_fw(dut):
    """Stream port and firmware path busy at once: queue 0 from the stream, queue 1 from
    firmware, queue 2 from both (its order across the two sources is the engine's choice, so
    its ring is checked as a set)."""
    env = EngineEnv(dut, wr_latency=9, rd_latency=9)
    await env.start()
    rng = env.rng
    for q in range(3):
        used, avail = ring_addrs(q, 256, rng)
        await env.setup_queue(q, used, avail, 256, loose=(q == 2))
    ids2 = set()
    for i in range(300):
        env.complete(0, rng.getrandbits(32), i)
        if i % 2:
            env.complete(2, 0x50000000 + i, i)
            ids2.add(0x50000000 + i)
    for i in range(60):
        await env.push_fw(1, 0x7000 + i, i)
        await env.push_fw(2, 0x60000000 + i, i, expect_ok=None) and ids2.add(0x60000000 + i)
    await env.quiesce()
    for q in (0, 1):
        await env.check_queue(q)
    cnt = await env.check_queue(2)
    wq = env.mon.queues[2]
    assert cnt["cpl"] == len(ids2)
    got = set()
    for i in range(len(ids2)):
        got.add(int.from_bytes(env.mem.read(wq.used + 4 + 8 * (i % 256), 4), "little"))
    assert len(ids2) <= 256
    assert got == ids2, "queue 2 ring does not hold exactly the completions sent"
    assert cnt["status"] & 0xFFFF == len(ids2)
    env.check_monitor()


async def expect_error(env: EngineEnv, q: int, kind: int) -> int:
    st = await env.regs.read(qreg(q, STATUS))
    assert st & ST_ERROR, f"q{q} not in error"
    got = (st >> ST_ERR_KIND_SHIFT) & ST_ERR_KIND_MASK
    assert got == kind, f"q{q} ERR_KIND {got}, expected {kind}"
    errq = await env.regs.read(ERRQ_LO) | (await env.regs.read(ERRQ_HI) << 32)
    assert errq >> q & 1, f"ERR_QUEUES bit {q} not set"
    return (await env.regs.read(qreg(q, ERR_ADDR_HI)) << 32) | await env.regs.read(qreg(q, ERR_ADDR_LO))


@cocotb.test()
async def test_write_error(dut):
    """SLVERR on an element write of queue 0 and DECERR on a used->idx write of queue 1: each
    queue goes to the error state (ERR_QUEUES, STATUS kind 1, ERR_ADDR, err_irq), its idx
    never passes the failed element, its later completions are dropped and counted, CPL_PUSH to
    it answers SLVERR, the other queues keep running; a queue reset recovers it."""
    env = EngineEnv(dut, wr_latency=12, rd_latency=4)
    await env.start()
    rng = env.rng
    nq = min(env.num_q, 3)
    for q in range(nq):
        used, avail = ring_addrs(q, 64, rng)
        await env.setup_queue(q, used, avail, 64)
    wq0 = env.mon.queues[0]
    bad_elem = 40
    bad = wq0.model.elem_addr(bad_elem)
    env.mem.add_error(bad + 4, bad + 8, resp=2)  # the len word of element 40
    if nq > 1:
        wq1 = env.mon.queues[1]
        env.mem.add_error(wq1.used + 2, wq1.used + 4, resp=3, count=1)
    sent = {q: 0 for q in range(nq)}
    for i in range(600):
        q = i % nq
        env.complete(q, rng.getrandbits(32), i)
        sent[q] += 1
    await env.cpl.wait_idle()
    await ClockCycles(dut.clk_i, 2000)
    irqs = env.err_irqs
    # queue 0
    addr = await expect_error(env, 0, ERR_KIND_WRITE)
    assert wq0.ring_lo <= addr <= bad + 4, f"ERR_ADDR {addr:#x} not a burst holding element {bad_elem}"
    assert wq0.vis <= bad_elem and env.mem.read_u16(wq0.used + 2) <= bad_elem, "idx passed the failed element"
    assert not await env.push_fw(0, 1, 1, expect_ok=False)
    if nq > 1:
        addr1 = await expect_error(env, 1, ERR_KIND_WRITE)
        assert addr1 == wq1.used + 2, f"q1 ERR_ADDR {addr1:#x}, expected the idx address"
    assert irqs == min(nq, 2), f"{irqs} error interrupts"
    # the healthy queue kept going
    if nq > 2:
        await env.quiesce(queues=[2])
        cnt = await env.check_queue(2)
        assert cnt["cpl"] == sent[2]
    # counts add up after a reset: sent = published + dropped
    for q in range(min(nq, 2)):
        wq = env.mon.queues[q]
        errc = await env.regs.read(qreg(q, ERR_CNT))
        assert errc >= 1
        await env.reset_queue(q)
        drop = await env.regs.read(qreg(q, DROP_CNT))
        assert sent[q] == wq.vis + drop, f"q{q}: sent {sent[q]} != published {wq.vis} + dropped {drop}"
        st = await env.regs.read(qreg(q, STATUS))
        assert st == 0, f"q{q} STATUS {st:#x} after reset"
    assert await env.regs.read(ERRQ_LO) == 0
    env.mem.clear_errors()
    # recovered: new rings, idx from 0
    for q in range(min(nq, 2)):
        used, avail = ring_addrs(q, 32, rng, base=0x800000)
        await env.setup_queue(q, used, avail, 32)
    await run_completions(env, list(range(nq)), 100, rng)
    await env.quiesce()
    for q in range(nq):
        await env.check_queue(q)
    env.check_monitor()


@cocotb.test()
async def test_read_error(dut):
    """SLVERR on the avail->flags read of queue 0 and DECERR on the used_event read of queue 1:
    error state kind 2 with the read address; the idx write before it stays published."""
    env = EngineEnv(dut, wr_latency=4, rd_latency=4)
    await env.start()
    rng = env.rng
    nq = min(env.num_q, 3)
    for q in range(nq):
        used, avail = ring_addrs(q, 64, rng)
        await env.setup_queue(q, used, avail, 64, event_idx=(q == 1))
    wq0 = env.mon.queues[0]
    env.mem.add_error(wq0.avail, wq0.avail + 2, resp=2, write=False, read=True)
    if nq > 1:
        wq1 = env.mon.queues[1]
        env.mem.add_error(wq1.event_addr, wq1.event_addr + 2, resp=3, write=False, read=True)
    for i in range(60):
        env.complete(i % nq, i, i)
    await env.cpl.wait_idle()
    await ClockCycles(dut.clk_i, 500)
    for q in range(min(nq, 2)):
        wq = env.mon.queues[q]
        addr = await expect_error(env, q, ERR_KIND_READ)
        assert addr == wq.event_addr, f"q{q} ERR_ADDR {addr:#x}, expected {wq.event_addr:#x}"
        st = await env.regs.read(qreg(q, STATUS))
        assert st & 0xFFFF == wq.vis & 0xFFFF and wq.vis > 0, "published idx lost"
        assert env.mem.read_u16(wq.used + 2) == wq.vis & 0xFFFF
        assert wq.delivered == 0
    if nq > 2:
        await env.quiesce(queues=[2])
        await env.check_queue(2)
    assert env.err_irqs == min(nq, 2)
    env.check_monitor()


@cocotb.test()
async def test_bad_config(dut):
    """ENABLE with a misaligned used or avail address, address bits beyond AXI_ADDR_W or
    SIZE_LOG2 > 15 is refused (SLVERR) and puts the queue into the error state, kind 3;
    configuration writes while enabled are refused; ENABLE in the error state is refused until
    RESET; completions for the queue are dropped and counted."""
    env = EngineEnv(dut)
    await env.start()
    r = env.regs
    q = env.num_q - 1
    cases = [("used misaligned", 0x10002, 0, 0x20000, 0, 4),
             ("avail misaligned", 0x10000, 0, 0x20001, 0, 4),
             ("size_log2 16", 0x10000, 0, 0x20000, 0, 16)]
    if env.addr_w == 32:
        cases += [("used beyond 32 bits", 0x10000, 1, 0x20000, 0, 4),
                  ("avail beyond 32 bits", 0x10000, 0, 0x20000, 0x80000000, 4)]
    irqs = 0
    for name, ulo, uhi, alo, ahi, slog in cases:
        await r.write(qreg(q, USED_LO), ulo)
        await r.write(qreg(q, USED_HI), uhi)
        await r.write(qreg(q, AVAIL_LO), alo)
        await r.write(qreg(q, AVAIL_HI), ahi)
        assert await r.write_err(qreg(q, CTRL), CTRL_ENABLE | (slog << 8)), f"{name}: ENABLE accepted"
        assert not await r.read(qreg(q, CTRL)) & CTRL_ENABLE
        await expect_error(env, q, ERR_KIND_CONFIG)
        irqs += 1
        assert env.err_irqs == irqs, f"{name}: no error interrupt"
        # still refused without a reset, even with a good configuration
        await r.write(qreg(q, USED_LO), 0x10000)
        await r.write(qreg(q, USED_HI), 0)
        await r.write(qreg(q, AVAIL_LO), 0x20000)
        await r.write(qreg(q, AVAIL_HI), 0)
        assert await r.write_err(qreg(q, CTRL), CTRL_ENABLE | (4 << 8)), f"{name}: ENABLE in error accepted"
        drop0 = await r.read(qreg(q, DROP_CNT))
        env.complete(q, 1, 1)
        await env.cpl.wait_idle()
        await ClockCycles(dut.clk_i, 5)
        assert await r.read(qreg(q, DROP_CNT)) == drop0 + 1, "completion for a queue in error not counted"
        await env.reset_queue(q)
        assert await r.read(qreg(q, STATUS)) == 0
    assert await r.read(qreg(q, ERR_CNT)) == len(cases)
    # a good configuration with 64-bit addresses where the bus has them
    rng = env.rng
    used, avail = ring_addrs(q, 64, rng)
    if env.addr_w > 32:
        used |= 0x3_0000_0000
        avail |= 0x3_0000_0000
    await env.setup_queue(q, used, avail, 64)
    # configuration writes while enabled
    for off in (USED_LO, USED_HI, AVAIL_LO, AVAIL_HI):
        assert await r.write_err(qreg(q, off), 0x4000), f"write {off:#x} while enabled accepted"
    assert await r.read(qreg(q, USED_LO)) == used & 0xFFFFFFFF
    assert await r.write_err(qreg(q, CTRL), CTRL_ENABLE | (5 << 8)), "size change while enabled accepted"
    assert await r.write_err(qreg(q, CTRL), CTRL_ENABLE | CTRL_EVENT_IDX | (6 << 8)), "EVENT_IDX change accepted"
    await r.write(qreg(q, DEV), 0x100 + q | ((q * 3 + 1) << 16))  # DEV may change any time
    await run_completions(env, [q], 200, rng)
    await env.quiesce()
    await env.check_queue(q)
    env.check_monitor()


@cocotb.test()
async def test_reset_busy(dut):
    """Queue reset while completions are in flight (slow memory): the reset's ack waits until
    nothing of the queue is outstanding, nothing of the queue is written or read after the ack
    (monitor), completions not yet published are dropped and counted (sent = published +
    dropped), the stream keeps flowing, and the queue restarts from idx 0."""
    env = EngineEnv(dut, wr_latency=150, rd_latency=20)
    await env.start()
    rng = env.rng
    nq = min(env.num_q, 2)
    for q in range(nq):
        used, avail = ring_addrs(q, 256, rng)
        await env.setup_queue(q, used, avail, 256)
    sent0 = 0
    for i in range(800):
        q = i % nq
        env.complete(q, rng.getrandbits(32), i)
        sent0 += q == 0
    wq0 = env.mon.queues[0]
    while wq0.model.accepted < 150:
        await ClockCycles(dut.clk_i, 10)
    cycles = await env.reset_queue(0)
    dut._log.info("reset ack after %d cycles, published %d", cycles, wq0.vis)
    assert cycles > 2, "reset acknowledged while writes were outstanding"
    assert await env.regs.read(qreg(0, STATUS)) == 0
    assert not await env.regs.read(qreg(0, CTRL)) & CTRL_ENABLE
    await env.cpl.wait_idle()
    if nq > 1:
        await env.quiesce(queues=[1])
        await env.check_queue(1)
    drop = await env.regs.read(qreg(0, DROP_CNT))
    assert sent0 == wq0.vis + drop, f"sent {sent0} != published {wq0.vis} + dropped {drop}"
    assert await env.regs.read(qreg(0, CPL_CNT)) + (drop - (await env.regs.read(qreg(0, CPL_CNT)) - wq0.vis)) == sent0
    env.mem.wr_latency = 5
    used, avail = ring_addrs(0, 64, rng, base=0x900000)
    await env.setup_queue(0, used, avail, 64)
    await run_completions(env, [0], 100, rng)
    await env.quiesce()
    await env.check_queue(0)
    assert env.mem.read_u16(used + 2) == 100
    env.check_monitor()


@cocotb.test()
async def test_disable_drain(dut):
    """Disabling a queue while completions are in flight: those already accepted are still
    written and published (STATUS.BUSY until then, configuration writes refused meanwhile),
    later ones are dropped and counted, and the stream never stalls."""
    env = EngineEnv(dut, wr_latency=300, rd_latency=10)
    await env.start()
    rng = env.rng
    used, avail = ring_addrs(0, 512, rng)
    wq = await env.setup_queue(0, used, avail, 512, loose=True)
    sent = [(rng.getrandbits(32), i) for i in range(400)]
    accepted = []
    env.cpl.on_accept = lambda c, _: accepted.append(c)
    for cid, ln in sent:
        env.complete(0, cid, ln)
    while len(accepted) < 120:
        await ClockCycles(dut.clk_i, 5)
    await env.disable(0)
    st = await env.regs.read(qreg(0, STATUS))
    assert st & ST_BUSY, "queue not busy right after disable (memory latency 300)"
    assert await env.regs.write_err(qreg(0, USED_LO), used + 0x100), "config write while busy accepted"
    await env.cpl.wait_idle()
    await env.quiesce()
    cnt = await env.counters(0)
    n = cnt["cpl"]
    assert 120 <= n < 400
    assert cnt["status"] & 0xFFFF == n and not cnt["status"] & ST_BUSY
    assert cnt["drop"] == 400 - n, f"DROP_CNT {cnt['drop']} != {400 - n}"
    model = wq.model
    for cid, ln in sent[:n]:
        model.complete(cid, ln)
    model.published = n
    probs = model.compare_memory(env.mem.read, max(0, n - 512), n) + model.compare_idx(env.mem.read)
    assert not probs, probs[:4]
    assert wq.reads == wq.idx_writes == cnt["idx_wr"]
    # now idle: the configuration may change
    await env.regs.write(qreg(0, USED_LO), used)
    env.check_monitor()


@cocotb.test()
async def test_events_held(dut):
    """The mailbox cannot take events for a while: notifications wait in the pending bits
    (EVT_PENDING), repeated ones merge (MERGED_CNT), none is lost or duplicated; after release
    events + merged = notifications required by the spec, for every queue."""
    env = EngineEnv(dut, wr_latency=2, rd_latency=2)
    await env.start()
    rng = env.rng
    qs = list(range(min(env.num_q, 8)))
    for q in qs:
        used, avail = ring_addrs(q, 64, rng)
        await env.setup_queue(q, used, avail, 64)
    env.evt.set_hold(True)
    await run_completions(env, qs, 400, rng)
    await env.quiesce()
    pend = await env.regs.read(EVT_PENDING_LO)
    assert not env.evt.events, "event taken while the mailbox held ready low"
    for q in qs:
        wq = env.mon.queues[q]
        assert wq.oracle.required > 0
    env.evt.set_hold(False)
    await env.quiesce()
    assert await env.regs.read(EVT_PENDING_LO) == 0
    merged = 0
    for q in qs:
        cnt = await env.check_queue(q)
        merged += cnt["merged"]
        assert env.mon.queues[q].delivered >= 1
    assert merged > 0, "no notification merged although the events were held"
    dut._log.info("pending bits while held %#x, merged %d", pend, merged)
    env.check_monitor()


@cocotb.test()
async def test_bad_stream_queue(dut):
    """Stream completions for a queue number >= NUM_Q (possible when NUM_Q is not a power of
    two) are dropped and counted in CPL_BAD_QUEUE; the stream keeps flowing."""
    env = EngineEnv(dut, wr_latency=3, rd_latency=3)
    await env.start()
    rng = env.rng
    nq = env.num_q
    qw = max(1, (nq - 1).bit_length())
    bad = [q for q in range(1 << qw) if q >= nq]
    assert bad, "configuration has no unused queue numbers"
    used, avail = ring_addrs(0, 64, rng)
    await env.setup_queue(0, used, avail, 64)
    nbad = 0
    for i in range(200):
        if i % 3 == 0:
            env.complete(rng.choice(bad), i, i)
            nbad += 1
        else:
            env.complete(0, i, i)
    await env.quiesce()
    assert await env.regs.read(CPL_BAD_QUEUE) == nbad
    cnt = await env.check_queue(0)
    assert cnt["cpl"] == 200 - nbad
    env.check_monitor()


@cocotb.test()
async def test_event_idx_boundaries(dut):
    """EVENT_IDX decisions at the edges of vring_need_event(): used_event set, before each small
    batch, to old - 1, old, old + 1, new - 1, new, new + 1 and far values (u16 wrap), where old
    is the idx of the previous decision and new the idx the batch will publish."""
    env = EngineEnv(dut, wr_latency=0, rd_latency=0)
    await env.start()
    rng = env.rng
    used, avail = ring_addrs(0, 64, rng)
    wq = await env.setup_queue(0, used, avail, 64, event_idx=True)
    ue_addr = avail + 4 + 2 * 64
    offsets = [-1, 0, 1]
    hits = set()
    for step in range(120):
        k = rng.randint(1, 4)
        old = wq.oracle.old
        new = (wq.model.accepted + k) & 0xFFFF
        kind = rng.choice(["old", "new", "far"])
        if kind == "old":
            ue = old + rng.choice(offsets)
        elif kind == "new":
            ue = new + rng.choice(offsets)
        else:
            ue = rng.choice([old + 0x8000, new - 0x8000, new + 0x7FFF, 0xFFFF, 0])
        env.mem.write_u16(ue_addr, ue & 0xFFFF)
        for _ in range(k):
            env.complete(0, rng.getrandbits(32), rng.getrandbits(16))
        await env.quiesce(queues=[0])
        d = wq.oracle.decisions[-1]
        hits.add((d.value - old) & 0xFFFF if kind == "old" else (d.value - d.new) & 0xFFFF)
    await env.check_queue(0)
    dut._log.info("decisions %d required %d, offsets hit %s", len(wq.oracle.decisions), wq.oracle.required,
                  sorted(hits)[:10])
    assert {0xFFFF, 0, 1} <= hits, "boundary values of used_event not reached"
    env.check_monitor()


# docs/engine.md, Pipeline (read path): a decision takes effect (sets a pending bit or merges) in
# the cycle that ends at the DECISION_EDGES-th rising edge after its R handshake on the bus.
DECISION_EDGES = 4


def events_of(env: EngineEnv, q: int) -> int:
    return sum(1 for ev in env.evt.events if env.q_of_dev.get(ev) == q)


@cocotb.test()
async def test_merge_rule(dut):
    """The engine's exact merge rule (docs/engine.md, Events): a notification for a queue whose
    event is presented on evt_* and not taken in that cycle merges into it (MERGED_CNT); one
    that arrives in the cycle its event is taken, or after, sets the pending bit again (a second
    event); one for a queue whose event is pending behind another queue's merges. The event is
    released at every offset around the second decision of the queue, and the events seen and
    MERGED_CNT must follow the rule exactly."""
    env = EngineEnv(dut, wr_latency=0, rd_latency=0)
    await env.start()
    rng = env.rng
    nq = min(env.num_q, 2)
    for q in range(nq):
        used, avail = ring_addrs(q, 64, rng)
        await env.setup_queue(q, used, avail, 64)  # flags 0: every decision notifies
    r_edges: list[tuple[int, float]] = []
    armed: dict = {}

    def on_decision(q, _new, _value, notify):
        assert notify
        r_edges.append((q, env.now()))
        if armed.get("q") == q:
            off = armed.pop("off")
            armed.clear()
            # the event is taken at the rising edge DECISION_EDGES + off after this R
            env.evt.release_ns = env.now() + CLK_NS * (DECISION_EDGES + off) - CLK_NS / 2
    env.mon.on_decision = on_decision

    async def presented(q: int) -> None:
        for _ in range(2000):
            await ClockCycles(dut.clk_i, 1)
            if int(dut.evt_valid_o.value) and \
                    env.q_of_dev.get((int(dut.evt_dev_id_o.value), int(dut.evt_vq_o.value))) == q:
                return
        raise AssertionError(f"no event of q{q} presented")

    async def decided(n: int) -> None:
        for _ in range(2000):
            if len(r_edges) >= n:
                return
            await ClockCycles(dut.clk_i, 1)
        raise AssertionError("decision read not answered")

    offsets = [-2, -1, 0, 1, 2, 3] * 2
    rng.shuffle(offsets)
    for off in offsets:
        env.evt.set_hold(True)
        ev0, m0 = events_of(env, 0), await env.regs.read(qreg(0, MERGED_CNT))
        env.complete(0, rng.getrandbits(32), 1)
        await presented(0)
        armed.update(q=0, off=off)
        env.complete(0, rng.getrandbits(32), 2)
        await env.quiesce()
        assert not env.evt.hold, "the event was never released"
        events = events_of(env, 0) - ev0
        merged = await env.regs.read(qreg(0, MERGED_CNT)) - m0
        exp_events, exp_merged = (2, 0) if off <= 0 else (1, 1)
        dut._log.info("taken %+d cycles from the decision: %d events, %d merged", off, events, merged)
        assert (events, merged) == (exp_events, exp_merged), \
            f"event taken {off:+d} cycles from the second decision's effect: {events} events, {merged} merged;" \
            f" the rule says {exp_events} events, {exp_merged} merged"
    if nq > 1:
        # q1's notifications wait behind q0's held event: the second one merges into the first
        env.evt.set_hold(True)
        ev0, ev1 = events_of(env, 0), events_of(env, 1)
        m1 = await env.regs.read(qreg(1, MERGED_CNT))
        env.complete(0, rng.getrandbits(32), 3)
        await presented(0)
        n = len(r_edges)
        env.complete(1, rng.getrandbits(32), 4)
        await decided(n + 1)
        await ClockCycles(dut.clk_i, 10)
        assert await env.regs.read(EVT_PENDING_LO) & 2 or int(dut.evt_valid_o.value)
        env.complete(1, rng.getrandbits(32), 5)
        await decided(n + 2)
        await ClockCycles(dut.clk_i, 10)
        env.evt.set_hold(False)
        await env.quiesce()
        assert events_of(env, 0) - ev0 == 1 and events_of(env, 1) - ev1 == 1, \
            "a notification pending behind another queue's event did not merge"
        assert await env.regs.read(qreg(1, MERGED_CNT)) - m1 == 1
    for q in range(nq):
        await env.check_queue(q)
    env.check_monitor()


@cocotb.test()
async def test_idx_hold(dut):
    """The IDX_HOLD bound (docs/engine.md, Publication): under load (the element FIFO backlogged,
    fewer than IDX_BATCH elements waiting) an acknowledged element's used->idx write is issued
    at most IDX_HOLD + HOLD_SLACK cycles after the element's B response, or after the queue's
    previous idx write was answered and its decision read issued, whichever is later. Four
    queues interleaved one completion per cycle (one-element bursts of two beats: the W channel
    is the bottleneck), rings of 4096: batches fill far slower than IDX_HOLD."""
    env = EngineEnv(dut, wr_latency=0, rd_latency=0)
    await env.start()
    rng = env.rng
    hold = int(hdl_params().get("IDX_HOLD", 128))
    batch = int(hdl_params().get("IDX_BATCH", 32))
    nq = min(env.num_q, 4)
    assert nq >= 2, "needs several queues to backlog the write channel"
    size = 4096
    for q in range(nq):
        region = 0x10000 + q * 0x20000
        await env.setup_queue(q, region, region + 0x10000, size)  # used ring 4 KiB aligned
    for i in range(600 * nq):
        env.complete(i % nq, rng.getrandbits(32), i)
    await env.quiesce()
    worst, by_hold = 0.0, 0
    for q in range(nq):
        await env.check_queue(q)
        for w in env.mon.queues[q].idx_log:
            wait = (w.t_issue - max(w.first_ack_ns, w.unblock_ns)) / CLK_NS
            worst = max(worst, wait)
            assert wait <= hold + HOLD_SLACK, \
                f"q{q}: idx write at {w.t_issue:.0f}ns publishing [{w.first}, {w.new}) issued {wait:.0f} cycles" \
                f" after its oldest element was acknowledged (bound IDX_HOLD {hold} + {HOLD_SLACK})"
            # fewer than IDX_BATCH elements, others still unacknowledged (not the low-latency case):
            # only the IDX_HOLD rule can have issued it
            if w.new - w.first < min(batch, size // 2) and w.accepted - w.acked > 4:
                by_hold += 1
    dut._log.info("worst wait %.0f cycles (IDX_HOLD %d), %d idx writes issued by the hold rule", worst, hold, by_hold)
    assert by_hold >= 4 * nq, f"only {by_hold} idx writes were due to IDX_HOLD: the test missed its case"
    env.check_monitor()


# docs/engine.md, Publication: elements that may be acknowledged after the one that reached the
# threshold before its used->idx write is issued (registered request, idx slot, AW), at one
# acknowledged element per two cycles
THR_SLACK = 4


@cocotb.test()
async def test_max_burst(dut):
    """Bursts grow to MAX_BURST_BEATS and no further (docs/engine.md, Throughput: burst length),
    with a limit below the element FIFO's depth (an AXI3 target's 16 beats). The memory holds
    every B back, so the write path stops once its tracker is full and the burst builder keeps
    extending the open burst of one queue while completions arrive: every element burst then ends
    at the beat limit, a page boundary or the last completion. The monitor refuses a burst longer
    than the limit (and an AWLEN that does not match the beats written); at least one burst must
    reach the limit exactly."""
    env = EngineEnv(dut, wr_latency=0, rd_latency=0)
    await env.start()
    rng = env.rng
    limit = int(hdl_params().get("MAX_BURST_BEATS", 256))
    elem_depth = int(hdl_params().get("ELEM_FIFO_DEPTH", 64))
    assert limit < elem_depth, "bursts end at the element FIFO's depth before MAX_BURST_BEATS"
    size = 2048
    used = 0x10000 + 4 * rng.randint(0, 3)
    await env.setup_queue(0, used, 0x80000, size)
    env.mem.stall(5000)
    for i in range(512):
        env.complete(0, rng.getrandbits(32), i)
    await env.quiesce()
    await env.check_queue(0)
    env.check_monitor()
    got = env.mon.stats["max_elem_beats"]
    assert got == limit, f"longest element burst {got} beats, MAX_BURST_BEATS {limit} was never reached"
    dut._log.info("monitor %s", env.mon.stats)


@cocotb.test()
async def test_idx_threshold(dut):
    """The publication threshold (docs/engine.md, Publication): a used->idx write is due once
    min(size / 2, IDX_BATCH) acknowledged elements wait (at least 1), for ring sizes on both
    sides of IDX_BATCH, equal to IDX_BATCH's power of two and twice that. The memory holds every B back
    while two queues fill, then answers one B per cycle, alternating queues (one element per
    burst): no queue has all its accepted elements acknowledged and none waits IDX_HOLD, so only
    the threshold can issue the first idx write, which publishes from the threshold to the
    threshold + THR_SLACK elements, about two cycles per element after the queue's first B.
    Last, a ring of one entry while the engine is backlogged (see below)."""
    env = EngineEnv(dut, wr_latency=0, rd_latency=0)
    await env.start()
    rng = env.rng
    batch = int(hdl_params().get("IDX_BATCH", 32))
    hold = int(hdl_params().get("IDX_HOLD", 128))
    assert env.num_q >= 2, "needs two queues (one element per burst)"
    pow2 = 1 << (batch - 1).bit_length()  # IDX_BATCH's power of two: the ring sizes at the edge
    sizes = sorted({1, 2, 16, 64, 128, pow2, 2 * pow2})
    sizes = [sz for sz in sizes if sz <= 32768]
    base = 0x10000
    for size in sizes:
        thr = max(1, min(size // 2, batch))
        n = 48  # per queue (beyond `size` accepted and not visible, completions wait)
        assert n > thr + THR_SLACK and 2 * (thr + THR_SLACK) < hold, (size, thr)
        for q in range(2):
            region = base + q * 0x40000
            await env.setup_queue(q, region, region + 0x20000, size)
        # B pacing: one B every `pace` cycles (two per queue), slow where the threshold is small
        # so that the next B comes well after the threshold was reached, fast enough that
        # IDX_HOLD never expires first
        pace = max(1, min(8, hold // (4 * thr)))
        env.mem.pace_b(pace)
        end = env.mem.stall(1500)
        for i in range(n):
            for q in range(2):
                env.complete(q, rng.getrandbits(32), 8 * i + q)
        await ClockCycles(dut.clk_i, 10)
        assert env.now() < end, "the completions were not issued during the stall"
        await env.quiesce()
        env.mem.pace_b(1)
        for q in range(2):
            await env.check_queue(q)
            log = env.mon.queues[q].idx_log
            assert log, f"size {size} q{q}: no idx write"
            w = log[0]
            assert w.first == 0 and w.accepted > w.acked, \
                f"size {size} q{q}: first idx write not under load (accepted {w.accepted}, acked {w.acked})"
            got = w.new - w.first
            assert thr <= got <= thr + THR_SLACK, \
                f"size {size} q{q}: first idx write published {got} elements; the threshold is" \
                f" min(size / 2, IDX_BATCH {batch}) = {thr} (+ at most {THR_SLACK} acknowledged meanwhile)"
            # and it was issued when the threshold was reached (one B of the queue per 2 * pace
            # cycles), long before IDX_HOLD
            wait = (w.t_issue - w.first_ack_ns) / CLK_NS
            reached = 2 * pace * (thr - 1)
            assert wait <= reached + 3 * THR_SLACK, \
                f"size {size} q{q}: first idx write issued {wait:.0f} cycles after the queue's first B;" \
                f" the threshold {thr} was reached after {reached} (one B of the queue per {2 * pace} cycles)"
            dut._log.info("size %d q%d: threshold %d, first idx write published %d, %.0f cycles after"
                          " the first B (one B per %d cycles)", size, q, thr, got, wait, pace)
        for q in range(2):
            await env.reset_queue(q)
        base += 0x100000

    # A ring of one entry under backlog: its acknowledged element is also its last accepted one,
    # but the low-latency rule waits while the engine has a backlog (a quarter of the element
    # FIFO waiting for the write channel), so only the threshold (at least 1) publishes it at
    # once. The backlog: two other queues interleaved element by element while every B is held
    # back, until the outstanding writes are at their limit and the completion stream stops.
    assert env.num_q >= 3, "needs a queue of one entry and two to make the backlog"
    wr_outstanding = int(hdl_params().get("WR_OUTSTANDING", 64))
    await env.setup_queue(0, base, base + 0x20000, 1)
    for q in (1, 2):
        region = base + q * 0x40000
        await env.setup_queue(q, region, region + 0x20000, 4096)
    end = env.mem.stall(400)
    env.complete(0, rng.getrandbits(32), 1)
    for i in range(3 * wr_outstanding):
        env.complete(1 + i % 2, rng.getrandbits(32), i)
    await ClockCycles(dut.clk_i, 300)
    assert env.now() < end, "the backlog was not built during the stall"
    assert env.cpl.pending and len(env.mon.b_pending) >= wr_outstanding, \
        f"no backlog: {len(env.cpl.pending)} completions waiting, {len(env.mon.b_pending)} writes outstanding"
    await env.quiesce()
    for q in range(3):
        await env.check_queue(q)
    w = env.mon.queues[0].idx_log[0]
    wait = (w.t_issue - w.first_ack_ns) / CLK_NS
    assert w.new - w.first == 1 and wait <= HOLD_SLACK, \
        f"ring of 1 under backlog: first idx write published {w.new - w.first} element(s) {wait:.0f} cycles" \
        f" after its B (the threshold is 1: due at once, within {HOLD_SLACK} cycles)"
    dut._log.info("size 1 under backlog: first idx write %.0f cycles after the B", wait)
    env.check_monitor()


@cocotb.test()
async def test_reset_mem_faults(dut):
    """Queue and engine resets while the memory answers slowly, with SLVERR, or for a bounded
    time not at all (docs/engine.md, Disable and reset): a queue reset is acknowledged only
    after every response of the queue's issued transactions came (never during a stall),
    nothing of the queue is written or read after the ack, its error state is cleared, the
    other queue goes on; an engine reset (rst_ni) with writes and reads outstanding during a
    stall leaves every counter at 0 and the bus silent, and the engine works again after it."""
    env = EngineEnv(dut, wr_latency=60, rd_latency=40)
    await env.start()
    rng = env.rng
    nq = min(env.num_q, 2)

    async def setup(base: int) -> None:
        for q in range(nq):
            used, avail = ring_addrs(q, 256, rng, base=base)
            await env.setup_queue(q, used, avail, 256)

    # 1. slow memory and SLVERR on q0's ring, q0 reset with writes outstanding
    await setup(0x10000)
    wq0 = env.mon.queues[0]
    env.mem.add_error(wq0.ring_lo + 8 * 30, wq0.ring_lo + 8 * 31, count=1)
    for i in range(600):
        env.complete(i % nq, rng.getrandbits(32), i)
    while wq0.model.accepted < 50:
        await ClockCycles(dut.clk_i, 10)
    await wait_outstanding(env, wq0)
    cycles = await env.reset_queue(0)
    assert cycles > 10, f"queue reset acknowledged after {cycles} cycles with writes outstanding"
    assert await env.regs.read(qreg(0, STATUS)) == 0, "error / ring state not cleared by the reset"
    await env.cpl.wait_idle()
    if nq > 1:
        await env.quiesce(queues=[1])
        await env.check_queue(1)
    env.mem.clear_errors()

    # 2. the memory answers nothing for 1500 cycles: the queue reset waits for it
    env.mem.wr_latency, env.mem.rd_latency = 20, 20
    if nq > 1:
        await env.reset_queue(1)
    await setup(0x400000)
    wq0 = env.mon.queues[0]
    for i in range(600):
        env.complete(i % nq, rng.getrandbits(32), i)
    while wq0.model.accepted < 40:
        await ClockCycles(dut.clk_i, 10)
    await wait_outstanding(env, wq0)
    end = env.mem.stall(1500)
    await env.reset_queue(0)
    assert env.now() >= end, f"queue reset acknowledged at {env.now():.0f}ns while the memory was silent (until {end:.0f}ns)"
    assert env.now() < end + 2000 * CLK_NS, "queue reset not acknowledged after the memory answered again"
    await env.cpl.wait_idle()
    if nq > 1:
        await env.quiesce(queues=[1])
        await env.check_queue(1)

    # 3. engine reset during a stall, with transactions outstanding and a read error armed
    if nq > 1:
        await env.reset_queue(1)
    await setup(0x800000)
    for q in range(nq):
        wq = env.mon.queues[q]
        env.mem.add_error(wq.event_addr, wq.event_addr + 2, write=False, read=True, count=1)
    for i in range(400):
        env.complete(i % nq, rng.getrandbits(32), i)
    await wait_outstanding(env, env.mon.queues[0])
    env.mem.stall(3000)
    await ClockCycles(dut.clk_i, 200)
    inflight = await env.reset_engine()
    assert inflight["writes"] + inflight["reads"] > 0, f"nothing in flight at the engine reset: {inflight}"
    env.mem.clear_errors()
    aw0, ar0 = env.mon.stats["aw"], env.mon.stats["reads"]
    await ClockCycles(dut.clk_i, 300)
    assert (env.mon.stats["aw"], env.mon.stats["reads"]) == (aw0, ar0), "AXI traffic after the engine reset"
    for q in range(nq):
        for name, v in (await env.counters(q)).items():
            assert v == 0, f"q{q}: {name} {v:#x} after the engine reset"
    assert await env.regs.read(CPL_STATUS) & 0xFF == env.cpl_fifo_depth
    assert await env.regs.read(EVT_PENDING_LO) == 0 and not int(dut.evt_valid_o.value)
    # and it works again
    await setup(0xC00000)
    for i in range(300):
        env.complete(i % nq, rng.getrandbits(32), i)
    await env.quiesce()
    for q in range(nq):
        await env.check_queue(q)
    dut._log.info("in flight at the engine reset: %s", inflight)
    env.check_monitor()


async def wait_outstanding(env: EngineEnv, wq, n_cycles: int = 5000, reads: bool = False) -> None:
    """Until the monitor sees a write or read (`reads`: a read) of the queue waiting for its
    response."""
    for _ in range(n_cycles // 10):
        if (not reads and any(t.q is wq for t in env.mon.b_pending)) or any(a[2] is wq for a in env.mon.ar_pending):
            return
        await ClockCycles(env.clk, 10)
    raise AssertionError(f"q{wq.q}: no {'read' if reads else 'transaction'} outstanding")


def outstanding_of(env: EngineEnv, wq) -> int:
    """Transactions of the queue the monitor saw issued and not yet answered."""
    return sum(t.q is wq for t in list(env.mon.b_pending) + list(env.mon.aw_pending)) + \
        sum(a[2] is wq for a in env.mon.ar_pending)


@cocotb.test()
async def test_reset_nonblocking(dut):
    """A queue reset never blocks the register port (docs/engine.md, Disable and reset): during
    a memory stall with the queue's writes outstanding, the RESET write is acknowledged at once,
    every other access (globals, the other queue, the queue's own configuration) is answered at
    once, STATUS.RESETTING and BUSY stay 1 until the queue's outstanding responses returned, an
    ENABLE written meanwhile takes effect only when the reset finished (completions and CPL_PUSH
    for the queue are dropped / refused until then), and the queue works after it."""
    env = EngineEnv(dut, wr_latency=30, rd_latency=20)
    await env.start()
    rng = env.rng
    r = env.regs
    nq = min(env.num_q, 2)
    for q in range(nq):
        used, avail = ring_addrs(q, 256, rng)
        await env.setup_queue(q, used, avail, 256)
    wq0 = env.mon.queues[0]
    for i in range(300):
        env.complete(0, rng.getrandbits(32), i)
    await wait_outstanding(env, wq0)
    stall_cycles = 1200
    end = env.mem.stall(stall_cycles)
    await ClockCycles(dut.clk_i, 20)
    t_rst = env.now()
    cycles = await env.reset_queue(0, wait=False)
    assert cycles <= 8, f"RESET write acknowledged after {cycles} cycles"
    assert outstanding_of(env, wq0) > 0, "nothing of q0 outstanding at the reset: the test proves nothing"
    # the port answers at once while the reset waits for the silent memory
    for addr, is_w in ((CAPS, False), (CPL_ID, True), (CPL_ID, False), (qreg(nq - 1, STATUS), False),
                       (qreg(0, DROP_CNT), False), (qreg(0, DEV), True)):
        dev, vq = env.dev_of[0]
        _, err, c = await r.access(addr, is_w, dev | vq << 16 if addr == qreg(0, DEV) else 0x1234_5678, 0xFFFFFFFF)
        assert not err and c <= 8, f"access {addr:#x} answered after {c} cycles (err {err})"
    st = await r.read(qreg(0, STATUS))
    assert st & ST_RESETTING and st & ST_BUSY, f"STATUS {st:#x} during the reset: RESETTING / BUSY not set"
    # a new configuration while resetting (the firmware's SET_VQUEUE sequence): accepted, ENABLE
    # deferred until the reset finished
    used, avail = ring_addrs(0, 64, rng, base=0x900000)
    env.mem.write(used, bytes(4 + 8 * 64 + 2))
    env.mem.write(avail, bytes(4 + 2 * 64 + 2))
    await r.write(qreg(0, USED_LO), used)
    await r.write(qreg(0, AVAIL_LO), avail)
    assert await r.read(qreg(0, USED_LO)) == used
    drop0 = await r.read(qreg(0, DROP_CNT))
    await r.write(qreg(0, CTRL), CTRL_ENABLE | (6 << 8))
    assert await r.read(qreg(0, CTRL)) == CTRL_ENABLE | (6 << 8)
    assert await r.read(qreg(0, STATUS)) & ST_RESETTING, "reset finished during the stall"
    assert not await env.push_fw(0, 7, 7, expect_ok=False), "CPL_PUSH accepted while resetting"
    env.complete(0, 1, 1)
    await env.cpl.wait_idle()
    # RESETTING stays 1 while the memory is silent, and clears only once every response of the
    # queue's transactions came
    polls = 0
    while True:
        st = await r.read(qreg(0, STATUS))
        polls += 1
        if not st & ST_RESETTING:
            break
        assert env.now() < end + 2000 * CLK_NS, "reset not finished after the memory answered again"
    assert env.now() >= end, f"RESETTING cleared at {env.now():.0f}ns, the memory was silent until {end:.0f}ns"
    assert outstanding_of(env, wq0) == 0, "RESETTING cleared with responses of the queue outstanding"
    dut._log.info("reset took %.0f cycles (%d STATUS reads)", (env.now() - t_rst) / CLK_NS, polls)
    assert st & 0xFFFF == 0 and not st & (ST_ERROR | ST_BUSY), f"STATUS {st:#x} after the reset"
    assert await r.read(qreg(0, DROP_CNT)) > drop0, "completion offered while resetting not dropped"
    # the deferred ENABLE took effect: the new ring works from idx 0
    wq = env.mon.watch(0, used, avail, 64, False)
    wq.base = await env.counters(0)
    await run_completions(env, [0], 100, rng)
    if nq > 1:
        await run_completions(env, [1], 50, rng)
    await env.quiesce()
    for q in range(nq):
        await env.check_queue(q)
    assert env.mem.read_u16(used + 2) == 100
    env.check_monitor()


@cocotb.test()
async def test_mem_timeout(dut):
    """Memory timeout (docs/engine.md, Errors): with TIMEOUT = T, a memory that gives no
    response for T cycles while q0 has writes outstanding puts q0 into the error state with
    ERR_KIND 4 (ERR_ADDR one of its ring addresses, err_irq, ERR_CNT); q1, idle at that moment,
    takes completions meanwhile and completes and publishes them once the memory answers; the
    late responses of q0 corrupt nothing (idx never past what was acknowledged, STATUS.USED_IDX =
    used->idx in memory); q0's reset finishes after them and q0 works again; TIMEOUT 0 never
    times out."""
    env = EngineEnv(dut, wr_latency=20, rd_latency=20)
    await env.start()
    rng = env.rng
    r = env.regs
    assert env.num_q >= 2
    limit = 400
    await r.write(TIMEOUT, limit)
    rings = {}
    for q in range(2):
        rings[q] = ring_addrs(q, 256, rng)
        await env.setup_queue(q, *rings[q], 256)
    wq0, wq1 = env.mon.queues[0], env.mon.queues[1]
    for i in range(200):
        env.complete(0, rng.getrandbits(32), i)
    await wait_outstanding(env, wq0)
    irqs = env.err_irqs
    end = env.mem.stall(limit + limit // 2)
    # q0 enters the error state once the memory was silent for `limit` cycles, not before
    t0 = env.now()
    while not (await r.read(ERRQ_LO)) & 1:
        assert env.now() < end, "no timeout error during a stall longer than TIMEOUT"
    waited = (env.now() - t0) / CLK_NS
    assert waited >= limit - 40, f"timeout after {waited:.0f} cycles, TIMEOUT is {limit}"
    addr = await expect_error(env, 0, ERR_KIND_TIMEOUT)
    assert wq0.ring_lo <= addr < wq0.ring_hi or addr in (wq0.used + 2, wq0.event_addr, wq0.avail), \
        f"ERR_ADDR {addr:#x} is not an address of q0"
    assert not (await r.read(qreg(1, STATUS))) & ST_ERROR, "q1 (nothing outstanding) in error"
    # q1 goes on: its completions are taken during the stall and published after it
    sent1 = 60
    for i in range(sent1):
        env.complete(1, rng.getrandbits(32), i)
    await env.cpl.wait_idle()
    await env.quiesce(queues=[1])
    cnt1 = await env.check_queue(1)
    assert cnt1["cpl"] == sent1 and env.mem.read_u16(wq1.used + 2) == sent1
    assert env.now() > end
    # q0's late responses: nothing corrupted, the error state stays
    st = await r.read(qreg(0, STATUS))
    assert st & ST_ERROR and (st >> ST_ERR_KIND_SHIFT) & ST_ERR_KIND_MASK == ERR_KIND_TIMEOUT
    assert outstanding_of(env, wq0) == 0
    assert st & 0xFFFF == env.mem.read_u16(wq0.used + 2) == wq0.vis & 0xFFFF, \
        f"STATUS.USED_IDX {st & 0xFFFF}, memory {env.mem.read_u16(wq0.used + 2)}, monitor {wq0.vis}"
    assert wq0.vis <= wq0.model.accepted
    assert await r.read(qreg(0, ERR_CNT)) >= 1
    assert env.err_irqs == irqs + 1, f"{env.err_irqs - irqs} error interrupts, expected 1"
    # recovery: reset (finishes, nothing outstanding), new ring, works
    await env.reset_queue(0)
    assert await r.read(qreg(0, STATUS)) == 0
    used, avail = ring_addrs(0, 64, rng, base=0x900000)
    await env.setup_queue(0, used, avail, 64)
    # TIMEOUT 0: never; a stall longer than the old limit leaves every queue healthy
    await r.write(TIMEOUT, 0)
    for i in range(100):
        env.complete(i % 2, rng.getrandbits(32), i)
    await wait_outstanding(env, env.mon.queues[0])
    env.mem.stall(3 * limit)
    await env.quiesce()
    assert await r.read(ERRQ_LO) == 0, "timeout with TIMEOUT 0"
    for q in range(2):
        await env.check_queue(q)
    assert env.mem.read_u16(used + 2) == 50
    env.check_monitor()


@cocotb.test()
async def test_reset_hides_late_errors(dut):
    """docs/engine.md, Errors: an error response that reaches a queue while it is being reset
    (an element write answered SLVERR, a decision read answered DECERR) counts in ERR_CNT
    (one per failed response seen on the bus) and is otherwise not reported: no error state, no
    ERR_QUEUES bit, no err_irq_o pulse; the reset ends with the queue clean, and the queue works
    again after it."""
    env = EngineEnv(dut, wr_latency=150, rd_latency=150)
    await env.start()
    rng = env.rng
    q = 0

    async def check_clean(irqs: int, what: str) -> None:
        st = await env.regs.read(qreg(q, STATUS))
        assert st == 0, f"{what}: STATUS {st:#x} after the reset (error or ring state left)"
        failed = env.mon.stats["b_err"] + env.mon.stats["r_err"]  # only this queue is in use
        errc = await env.regs.read(qreg(q, ERR_CNT))
        assert errc == failed, f"{what}: ERR_CNT {errc}, {failed} failed responses on the bus"
        errq = await env.regs.read(ERRQ_LO) | (await env.regs.read(ERRQ_HI) << 32)
        assert not errq >> q & 1, f"{what}: ERR_QUEUES bit {q} set"
        assert env.err_irqs == irqs, f"{what}: err_irq_o pulsed"

    # 1. element writes whose SLVERR answers after the reset began
    used, avail = ring_addrs(q, 64, rng)
    wq = await env.setup_queue(q, used, avail, 64)
    env.mem.add_error(wq.ring_lo, wq.ring_hi)
    for i in range(3):
        env.complete(q, rng.getrandbits(32), i)
    # the first transaction of the queue is an element write (an idx write waits for its B)
    await wait_outstanding(env, wq)
    assert env.mon.stats["b_err"] == 0, "an element write failed before the reset"
    irqs = env.err_irqs
    await env.reset_queue(q)
    assert env.mon.stats["b_err"] > 0, "no SLVERR came during the reset"
    await check_clean(irqs, "write error while resetting")
    env.mem.clear_errors()

    # 2. a decision read whose DECERR answers after the reset began
    used, avail = ring_addrs(q, 64, rng, base=0x100000)
    wq = await env.setup_queue(q, used, avail, 64)
    env.mem.add_error(wq.event_addr, wq.event_addr + 2, resp=3, write=False, read=True)
    env.complete(q, rng.getrandbits(32), 1)
    await wait_outstanding(env, wq, reads=True)
    assert env.mon.stats["r_err"] == 0
    irqs = env.err_irqs
    await env.reset_queue(q)
    assert env.mon.stats["r_err"] > 0, "no DECERR came during the reset"
    await check_clean(irqs, "read error while resetting")
    env.mem.clear_errors()

    # 3. the queue works again
    env.mem.wr_latency = env.mem.rd_latency = 10
    used, avail = ring_addrs(q, 64, rng, base=0x200000)
    await env.setup_queue(q, used, avail, 64)
    for i in range(40):
        env.complete(q, rng.getrandbits(32), i)
    await env.quiesce(queues=[q])
    await env.check_queue(q)
    env.check_monitor()


@cocotb.test()
async def test_reset_discards_decision(dut):
    """docs/engine.md, Disable and reset: a decision read answered after the queue's reset began
    is discarded: no decision (NOTIFY_CNT and SUPPRESS_CNT unchanged), no event, although the
    value read asks for a notification. Both ring flag values are tried (notify and suppress)."""
    env = EngineEnv(dut, rd_latency=200)
    await env.start()
    rng = env.rng
    q = 0
    for flags in (0, 1):  # 0: the read value asks for a notification, 1: VRING_AVAIL_F_NO_INTERRUPT
        used, avail = ring_addrs(q, 64, rng, base=0x10000 + flags * 0x100000)
        wq = await env.setup_queue(q, used, avail, 64, flags=flags)
        before = await env.counters(q)
        env.complete(q, rng.getrandbits(32), 1)
        await wait_outstanding(env, wq, reads=True)
        await env.reset_queue(q)   # acknowledged long before the R (200 cycles) comes
        assert wq.discarded == 1, f"flags {flags}: the decision read was not answered after the reset's ack"
        after = await env.counters(q)
        for name in ("notify", "suppress", "merged"):
            assert after[name] == before[name], \
                f"flags {flags}: {name.upper()}_CNT {before[name]} -> {after[name]} for a read answered after the reset"
        await ClockCycles(dut.clk_i, 50)
        assert wq.delivered == 0 and not int(dut.evt_valid_o.value), f"flags {flags}: an EVENT_USED for the discarded decision"
    env.check_monitor()
