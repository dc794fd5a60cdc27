"""Block-level tests of vmsg_mbox in the to-driver direction (TO_DEVICE = 0):
the event input (EVENT_USED from the used-index engine) merged into the head.

Until the engine is plugged into vmsg_periph this path cannot be reached from
the AXI ports, so these tests drive the mailbox's external-block ports
directly: a request is a one-cycle pulse, its ack comes one or more cycles
later (docs/architecture.md, "External block protocol").

Expectations (docs/architecture.md, "Mailbox"): an event head reads as a
10-byte transport EVENT_USED (type 0x00, msg_id 0x42, dev_id, msg_size 10,
index u32 = vq, other bytes zero), HEAD_LEN 12; evt_ready pulses when the
event is latched as head; the RX_MSG interrupt pulses for each latched event;
FIFO and events alternate when both wait (the FIFO first, as documented).
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from .power_on import start_clock_in_reset

MSG_SIZE = 64


class Mbox:
    def __init__(self, dut):
        self.dut = dut
        self.clk = dut.clk_i
        p = json.loads(os.environ.get("VMSG_HDL_PARAMS", "{}"))
        self.ms = int(p.get("MSG_SIZE", MSG_SIZE))
        self.irq_count = 0
        self.evt_taken = 0

    async def start(self):
        d = self.dut
        start_clock_in_reset(d, 10, self.clk)
        for name in ("tx_ctrl_req_i", "tx_ctrl_commit_i", "tx_ctrl_discard_i", "tx_win_req_i", "tx_win_we_i",
                     "tx_win_word_i", "tx_win_wdata_i", "tx_win_wmask_i", "rx_ctrl_req_i", "rx_ctrl_pop_i",
                     "rx_win_req_i", "rx_win_we_i", "rx_win_word_i", "evt_valid_i", "evt_dev_id_i", "evt_vq_i"):
            getattr(d, name).value = 0
        await ClockCycles(self.clk, 3)
        d.rst_ni.value = 1
        await ClockCycles(self.clk, 2)
        cocotb.start_soon(self._count_pulses())

    async def _count_pulses(self):
        # Only the pulses matter; sampling them each cycle is cheap for these short tests.
        while True:
            await RisingEdge(self.clk)
            if int(self.dut.rx_msg_irq_o.value):
                self.irq_count += 1
            if int(self.dut.evt_ready_o.value):
                self.evt_taken += 1

    async def _access(self, req: str, acks: tuple[str, ...], err: str, data: str | None = None, **fields):
        d = self.dut
        await RisingEdge(self.clk)
        for k, v in fields.items():
            getattr(d, k).value = v
        getattr(d, req).value = 1
        await RisingEdge(self.clk)
        getattr(d, req).value = 0
        for _ in range(200):
            await ReadOnly()
            if any(int(getattr(d, a).value) for a in acks):
                e = int(getattr(d, err).value)
                val = int(getattr(d, data).value) if data else 0
                await RisingEdge(self.clk)
                return e, val
            await RisingEdge(self.clk)
        raise AssertionError(f"no ack for {req}")

    async def win_write(self, word: int, value: int) -> int:
        e, _ = await self._access("tx_win_req_i", ("tx_win_wr_ack_o", "tx_win_rd_ack_o"), "tx_win_err_o",
                                  tx_win_we_i=1, tx_win_word_i=word, tx_win_wdata_i=value,
                                  tx_win_wmask_i=0xFFFFFFFF)
        return e

    async def commit(self) -> int:
        e, _ = await self._access("tx_ctrl_req_i", ("tx_ctrl_ack_o",), "tx_ctrl_err_o",
                                  tx_ctrl_commit_i=1, tx_ctrl_discard_i=0)
        return e

    async def write_then_commit(self, word: int, value: int) -> tuple[int, int, int]:
        """A window write and a TX_CTRL commit on consecutive cycles, the commit not waiting
        for the write's ack (the back-to-back stream a register block may send): returns
        (write error, commit error, TX_ERROR code after the commit)."""
        d = self.dut
        await RisingEdge(self.clk)
        d.tx_win_we_i.value, d.tx_win_word_i.value = 1, word
        d.tx_win_wdata_i.value, d.tx_win_wmask_i.value = value, 0xFFFFFFFF
        d.tx_win_req_i.value = 1
        await RisingEdge(self.clk)
        d.tx_win_req_i.value = 0
        d.tx_ctrl_commit_i.value, d.tx_ctrl_discard_i.value = 1, 0
        d.tx_ctrl_req_i.value = 1
        await RisingEdge(self.clk)
        d.tx_ctrl_req_i.value = 0
        wr_err = ctrl_err = None
        for _ in range(200):
            await ReadOnly()
            if wr_err is None and int(d.tx_win_wr_ack_o.value):
                wr_err = int(d.tx_win_err_o.value)
            if ctrl_err is None and int(d.tx_ctrl_ack_o.value):
                ctrl_err = int(d.tx_ctrl_err_o.value)
            await RisingEdge(self.clk)
            if wr_err is not None and ctrl_err is not None:
                await ReadOnly()
                code = int(d.tx_err_code_o.value)
                await RisingEdge(self.clk)
                return wr_err, ctrl_err, code
        raise AssertionError(f"no ack: write {wr_err}, commit {ctrl_err}")

    async def pop_and_commit(self, offset: int) -> tuple[int, int, int]:
        """A POP request on the reader side and a TX_CTRL commit on the writer side, the
        commit `offset` cycles after the pop (negative: before it), neither waiting for the
        other's ack: returns (pop error, commit error, TX_ERROR code after the commit)."""
        d = self.dut
        await RisingEdge(self.clk)
        d.rx_ctrl_pop_i.value = 1
        d.tx_ctrl_commit_i.value, d.tx_ctrl_discard_i.value = 1, 0
        pop_at, commit_at = max(0, -offset), max(0, offset)
        pop_err = ctrl_err = None
        for cyc in range(200):
            d.rx_ctrl_req_i.value = int(cyc == pop_at)
            d.tx_ctrl_req_i.value = int(cyc == commit_at)
            await ReadOnly()
            if pop_err is None and int(d.rx_ctrl_ack_o.value):
                pop_err = int(d.rx_ctrl_err_o.value)
            if ctrl_err is None and int(d.tx_ctrl_ack_o.value):
                ctrl_err = int(d.tx_ctrl_err_o.value)
            done = pop_err is not None and ctrl_err is not None
            code = int(d.tx_err_code_o.value)
            await RisingEdge(self.clk)
            if done:
                d.rx_ctrl_req_i.value = d.tx_ctrl_req_i.value = 0
                return pop_err, ctrl_err, code
        raise AssertionError(f"no ack: pop {pop_err}, commit {ctrl_err}")

    async def send(self, msg: bytes) -> None:
        for w in range(0, len(msg), 4):
            assert await self.win_write(w // 4, int.from_bytes(msg[w:w + 4].ljust(4, b"\0"), "little")) == 0
        assert await self.commit() == 0

    async def read_word(self, word: int) -> tuple[int, int]:
        e, v = await self._access("rx_win_req_i", ("rx_win_rd_ack_o", "rx_win_wr_ack_o"), "rx_win_err_o",
                                  data="rx_win_rdata_o", rx_win_we_i=0, rx_win_word_i=word)
        return v, e

    async def read_head(self) -> bytes:
        out = b""
        for w in range(self.ms // 4):
            v, e = await self.read_word(w)
            assert e == 0
            out += v.to_bytes(4, "little")
        return out

    async def pop(self) -> int:
        e, _ = await self._access("rx_ctrl_req_i", ("rx_ctrl_ack_o",), "rx_ctrl_err_o", rx_ctrl_pop_i=1)
        return e

    async def status(self) -> dict:
        await ReadOnly()
        d = self.dut
        st = {"COUNT": int(d.rx_count_o.value), "EMPTY": int(d.rx_empty_o.value),
              "HEAD_LEN": int(d.rx_head_len_o.value), "TX_COUNT": int(d.tx_count_o.value)}
        await RisingEdge(self.clk)
        return st

    async def event(self, dev: int, vq: int) -> None:
        """Offer one event and hold it until it is taken."""
        d = self.dut
        await RisingEdge(self.clk)
        d.evt_valid_i.value = 1
        d.evt_dev_id_i.value = dev
        d.evt_vq_i.value = vq
        while True:
            await RisingEdge(self.clk)
            if int(d.evt_ready_o.value):
                break
        d.evt_valid_i.value = 0


def event_used(dev: int, vq: int, ms: int) -> bytes:
    return (bytes([0x00, 0x42]) + dev.to_bytes(2, "little") + (10).to_bytes(2, "little")
            + vq.to_bytes(4, "little")).ljust(ms, b"\0")


def response(i: int, ms: int) -> bytes:
    return bytes([0x01, 0x05]) + i.to_bytes(2, "little") + ms.to_bytes(2, "little") + \
        bytes(random.randrange(256) for _ in range(ms - 6))


@cocotb.test(timeout_time=200, timeout_unit="us")
async def test_event_head(dut):
    """An event alone: latched at once, reads as EVENT_USED, HEAD_LEN 12, pops."""
    mb = Mbox(dut)
    await mb.start()
    assert (await mb.status())["EMPTY"] == 1
    await mb.event(0xBEEF, 0x0123)
    assert mb.evt_taken == 1 and mb.irq_count == 1
    st = await mb.status()
    assert st == {"COUNT": 1, "EMPTY": 0, "HEAD_LEN": 12, "TX_COUNT": 0}, st
    assert await mb.read_head() == event_used(0xBEEF, 0x0123, mb.ms)
    if mb.ms < 256:
        assert await mb.read_word(mb.ms // 4) == (0, 1), "beyond MSG_SIZE: error and 0"
    assert await mb.pop() == 0
    assert (await mb.status())["EMPTY"] == 1
    assert await mb.pop() == 1, "underflow"
    v, e = await mb.read_word(0)
    assert (v, e) == (0, 1), "read while empty: error and 0"


@cocotb.test(timeout_time=500, timeout_unit="us")
async def test_event_round_robin(dut):
    """Messages and events waiting together alternate; an event waits while a
    message is the head; every message and event arrives intact."""
    mb = Mbox(dut)
    await mb.start()
    msgs = [response(i, mb.ms) for i in range(3)]
    for m in msgs:
        await mb.send(m)
    assert mb.irq_count == 3
    evts = [(0x10 + i, i) for i in range(3)]

    async def producer():
        for dev, vq in evts:
            await mb.event(dev, vq)

    prod = cocotb.start_soon(producer())
    await ClockCycles(mb.clk, 10)
    assert mb.evt_taken == 0, "an event must wait while a message is the head"
    st = await mb.status()
    assert st["COUNT"] == 3 and st["TX_COUNT"] == 3
    # M0 was the head before the events came; then FIFO first, alternating.
    want = [msgs[0], msgs[1], event_used(*evts[0], mb.ms), msgs[2], event_used(*evts[1], mb.ms),
            event_used(*evts[2], mb.ms)]
    for i, w in enumerate(want):
        await ClockCycles(mb.clk, 2)
        st = await mb.status()
        assert st["EMPTY"] == 0
        assert st["HEAD_LEN"] == (12 if w[1] == 0x42 else mb.ms), (i, st)
        got = await mb.read_head()
        assert got == w, f"head {i}: {got.hex()} want {w.hex()}"
        assert await mb.pop() == 0
    await prod
    assert mb.evt_taken == 3
    assert mb.irq_count == 6
    assert (await mb.status())["EMPTY"] == 1


@cocotb.test(timeout_time=200, timeout_unit="us")
async def test_commit_right_after_write(dut):
    """A commit in the cycle after the window write that completes the message, without
    waiting for its ack: the framing check judges the message with that last write
    (docs/architecture.md, "Mailbox"). A last write that makes msg_size too large is refused
    (SIZE_LARGE, nothing queued); one that makes it right is accepted with its bytes."""
    mb = Mbox(dut)
    await mb.start()
    msg = response(7, mb.ms)
    word1 = int.from_bytes(msg[4:8], "little")
    for w in range(0, mb.ms, 4):
        if w != 4:
            assert await mb.win_write(w // 4, int.from_bytes(msg[w:w + 4], "little")) == 0
    bad = (word1 & ~0xFFFF) | (mb.ms + 4)                 # msg_size beyond the slot
    assert await mb.write_then_commit(1, bad) == (0, 1, 2), "a stale check accepted a message too large"
    st = await mb.status()
    assert st["TX_COUNT"] == 0 and st["EMPTY"] == 1, st
    assert await mb.write_then_commit(1, word1) == (0, 0, 2), "the corrected message was refused"
    await ClockCycles(mb.clk, 2)
    st = await mb.status()
    assert st["TX_COUNT"] == 1 and st["HEAD_LEN"] == mb.ms, st
    assert await mb.read_head() == msg


@cocotb.test(timeout_time=500, timeout_unit="us")
async def test_commit_right_after_pop(dut):
    """A commit into a full FIFO close to a pop on the reader side, neither waiting for the
    other's ack (docs/architecture.md, "Mailbox"): a commit the mailbox takes after the pop
    (its request one or more cycles after the pop's) finds room and is accepted; one taken
    in the same cycle as the pop or before it sees DEPTH messages and is refused with
    OVERFLOW, keeping the staged message. Every accepted message is read back in order."""
    mb = Mbox(dut)
    await mb.start()
    depth = int(json.loads(os.environ.get("VMSG_HDL_PARAMS", "{}")).get("DEPTH", 4))
    queued = []
    n = 0
    for offset, accepted in [(1, True), (2, True), (3, True), (0, False), (-1, False), (-2, False), (1, True)]:
        while len(queued) < depth:
            queued.append(response(n, mb.ms))
            n += 1
            await mb.send(queued[-1])
        st = await mb.status()
        assert st["TX_COUNT"] == depth, st
        head = await mb.read_head()
        assert head == queued[0], f"head {head.hex()} want {queued[0].hex()}"
        msg = response(n, mb.ms)
        n += 1
        for w in range(0, mb.ms, 4):
            assert await mb.win_write(w // 4, int.from_bytes(msg[w:w + 4], "little")) == 0
        pop_err, ctrl_err, code = await mb.pop_and_commit(offset)
        assert pop_err == 0
        queued.pop(0)
        if accepted:
            assert ctrl_err == 0, f"commit {offset} cycle(s) after a pop of a full FIFO refused (code {code})"
            queued.append(msg)
        else:
            assert (ctrl_err, code) == (1, 5), f"commit {offset} cycle(s) after the pop: {(ctrl_err, code)}"
            assert await mb.commit() == 0, "the staged message, committed again with room"
            queued.append(msg)
        await ClockCycles(mb.clk, 2)
        assert (await mb.status())["TX_COUNT"] == depth
    while queued:
        got = await mb.read_head()
        assert got == queued[0], f"{got.hex()} want {queued[0].hex()}"
        queued.pop(0)
        assert await mb.pop() == 0
    assert (await mb.status())["EMPTY"] == 1


@cocotb.test(timeout_time=200, timeout_unit="us")
async def test_claim_cycle(dut):
    """The cycle after an event is chosen as head, in which it is taken from the input
    (evt_ready_o, docs/architecture.md, "Mailbox"): a window read in that cycle reads the
    event's words; a pop in that cycle pops the event, which is taken once and never
    delivered again; the next event is delivered intact."""
    mb = Mbox(dut)
    await mb.start()
    d = mb.dut
    ready_at = []

    async def offer(dev: int, vq: int, req: str, **fields) -> tuple[int, int]:
        """Present an event and, in the same cycle, a reader request (registered on entry, so
        the mailbox sees it in the cycle after: the claim cycle); returns (err, data) of the
        request's ack."""
        await RisingEdge(mb.clk)
        d.evt_valid_i.value, d.evt_dev_id_i.value, d.evt_vq_i.value = 1, dev, vq
        for k, v in fields.items():
            getattr(d, k).value = v
        getattr(d, req).value = 1
        ack = None
        for cyc in range(50):
            await ReadOnly()
            if int(d.evt_ready_o.value):
                ready_at.append(cyc)
            if ack is None and (int(d.rx_ctrl_ack_o.value) or int(d.rx_win_rd_ack_o.value)):
                ack = (int(d.rx_ctrl_err_o.value) if req == "rx_ctrl_req_i" else int(d.rx_win_err_o.value),
                       int(d.rx_win_rdata_o.value))
            took = int(d.evt_ready_o.value)
            await RisingEdge(mb.clk)
            getattr(d, req).value = 0
            if took:
                d.evt_valid_i.value = 0
            if ack is not None and not int(d.evt_valid_i.value):
                return ack
        raise AssertionError(f"no ack for {req} (evt_ready in cycles {ready_at})")

    word0 = int.from_bytes(event_used(0x0A0B, 3, mb.ms)[:4], "little")
    assert await offer(0x0A0B, 3, "rx_win_req_i", rx_win_we_i=0, rx_win_word_i=0) == (0, word0), \
        "a window read in the claim cycle reads the event"
    assert ready_at == [1], f"evt_ready_o in cycle(s) {ready_at}, expected the one after the choice"
    assert await mb.read_head() == event_used(0x0A0B, 3, mb.ms)
    assert await mb.pop() == 0
    assert (await mb.status())["EMPTY"] == 1
    err, _ = await offer(0x0C0D, 2, "rx_ctrl_req_i", rx_ctrl_pop_i=1)
    assert err == 0, "a pop in the claim cycle pops the event (no underflow)"
    assert ready_at == [1, 1] and mb.evt_taken == 2, f"evt_ready_o in cycles {ready_at}: taken once"
    await ClockCycles(mb.clk, 3)
    assert (await mb.status())["EMPTY"] == 1, "the popped event is not delivered again"
    await mb.event(0x0E0F, 1)
    assert mb.evt_taken == 3
    assert await mb.read_head() == event_used(0x0E0F, 1, mb.ms)
    assert await mb.pop() == 0
    assert (await mb.status())["EMPTY"] == 1
