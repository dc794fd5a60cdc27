"""Passive monitor of the used-index engine's AXI4 master port.

It samples the five channels at each rising clock edge (and sleeps while the port is idle),
pairs W beats with their AW in order, B responses with writes and R data with reads in order
(the engine uses one ID), and checks:

- attributes of every AW and AR: ID 0, AxCACHE 0010, AxPROT 000, AxLOCK 0, INCR;
- burst rules: INCR only, AWSIZE the bus width for element bursts and 2 bytes for used->idx,
  AWLEN exactly the beats the burst's words need,
  no 4 KiB crossing, no burst past the end of the ring, WSTRB exactly the bytes of the burst
  (contiguous from AWADDR), WLAST on the last beat only;
- per queue, element bursts continue the ring where the previous one ended (no gap, no
  overlap) and carry the expected elements of the reference model (ordered mode);
- ordering: a used->idx write publishing idx v is issued (its first AW or W handshake) only
  after B OKAY of every element word before v; idx never goes past an element whose write
  failed; the decision read of a queue is issued after the B of its latest idx write;
- at every used->idx write: memory (the new ring slots and, at its B, the idx itself) against
  the reference model;
- notifications: each decision read's value goes through the notification oracle (the spec's
  decision for the value the engine read). Per queue, from observation alone and in time order:
  every idx for which the oracle requires a notification must be followed by an EVENT_USED of
  that queue taken (or read by the driver) after that idx became visible (the B of its idx
  write); one event may answer several requirements, but every event needs a requirement of
  its own: the k-th event of a queue period must come after at least k requirements became
  visible (and were decided), otherwise it is spurious (`on_event`). What is still unanswered
  is `unanswered(wq)`; the testbench's counts (`required`, `delivered`, `spurious`) are what
  the design's counters are checked against, never the other way round.

Queues are registered by the test (`watch`), with their ring addresses, size, EVENT_IDX and a
UsedRingModel the test fills with the completions the engine accepted (`loose=True`: content
checks off, e.g. when two sources feed one queue in an order the test cannot know).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import First, RisingEdge
from cocotb.utils import get_sim_time

from vmsg.ref import NotifyOracle, UsedRingModel

OKAY, EXOKAY, SLVERR, DECERR = 0, 1, 2, 3
# documented defaults of the attributes of every engine transaction (docs/engine.md: the
# parameters AXI_ID, AXI_CACHE, AXI_PROT)
AXI_ID, AXI_CACHE, AXI_PROT, AXI_INCR = 0, 0b0010, 0b000, 1


@dataclass
class WatchedQueue:
    q: int
    used: int
    avail: int
    size: int
    event_idx: bool
    model: UsedRingModel
    oracle: NotifyOracle
    loose: bool = False
    late: list = field(default_factory=list)  # ("AW"/"AR", addr) presented at the reset: may still go
    wr_next: int = 0          # unwrapped word position the next element burst must start at
    acked_words: int = 0      # words [0, acked_words) written with B OKAY
    failed_word: int | None = None  # first word of the first failed element write
    pub: int = 0              # unwrapped published count (last idx write issued)
    vis: int = 0              # unwrapped published count whose write got OKAY
    idx_out: int = 0          # idx writes issued, B pending
    idx_writes: int = 0
    reads: int = 0
    bursts: int = 0
    beats: int = 0
    closed: bool = False      # reset acknowledged: nothing may touch this queue any more
    req_vis: list = field(default_factory=list)  # visibility time (ns) of each required idx, in order
    maybe_vis: list = field(default_factory=list)  # ... of each requirement the reset may have discarded
    maybe_sup: int = 0        # suppressions the reset may have discarded
    discarded: int = 0        # decision reads answered after the reset's ack: discarded by the engine
    dec_log: list = field(default_factory=list)  # (R time, visibility time, notify) of each decision
    ev_times: list = field(default_factory=list)  # time (ns) of each EVENT_USED assigned to this period
    spurious: int = 0         # EVENT_USED that answered no requirement
    after_close: int | None = None  # events still allowed after the reset (None: no bound)
    owner: tuple | None = None  # who the queue served in this period (the whole peripheral: dev, vq)
    ack_words: list = field(default_factory=list)  # acked_words after each advance ...
    ack_ns: list = field(default_factory=list)     # ... and when (the element burst's B)
    last_idx_b_ns: float = 0.0  # B of the latest idx write
    last_ar_ns: float = 0.0     # AR of the latest decision read
    idx_log: list = field(default_factory=list)    # IdxWrite per idx write (latency checks)
    base: dict = field(default_factory=dict)  # counter values when the test started watching
    vis_fifo: deque = field(default_factory=deque)  # idx values with B OKAY, decision read not yet issued

    @property
    def delivered(self) -> int:
        return len(self.ev_times)

    @property
    def required(self) -> int:
        return len(self.req_vis)

    def req_before(self, t: float) -> int:
        """Requirements whose idx was visible strictly before t."""
        return bisect_left(self.req_vis, t)

    def can_answer(self, t: float) -> int:
        """Requirements, certain or possible, whose idx was visible strictly before t: how many
        events read at t this period can take."""
        return bisect_left(self.req_vis, t) + bisect_left(self.maybe_vis, t)

    @property
    def unanswered(self) -> int:
        """Requirements with no EVENT_USED after their idx became visible."""
        last = self.ev_times[-1] if self.ev_times else float("-inf")
        return self.required - self.req_before(last) if self.req_vis else 0

    @property
    def ring_lo(self) -> int:
        return self.used + 4

    @property
    def ring_hi(self) -> int:
        return self.used + 4 + 8 * self.size

    @property
    def event_addr(self) -> int:
        return self.avail + 4 + 2 * self.size if self.event_idx else self.avail


@dataclass
class IdxWrite:
    """One used->idx write as observed: issued at t_issue, publishing elements [first, new)
    (unwrapped); first_ack_ns: B of the oldest element it publishes; unblock_ns: when the
    queue's previous idx write had its B and its decision read was issued; accepted / acked:
    completions accepted (stream handshakes) and elements acknowledged when it was issued."""
    t_issue: float
    first: int
    new: int
    first_ack_ns: float
    unblock_ns: float
    accepted: int
    acked: int


@dataclass
class _Txn:
    addr: int
    length: int  # beats
    size: int
    burst: int
    t_issue: float
    acked_snapshot: dict
    beats: list = field(default_factory=list)
    kind: str = "?"
    q: WatchedQueue | None = None
    words: tuple[int, int] = (0, 0)  # unwrapped word range of an element burst
    value: int = 0  # idx written


class EngineAxiMonitor:
    def __init__(self, dut, clk, mem, prefix: str = "m_axi", log=None, axi_id: int = AXI_ID,
                 axi_cache: int = AXI_CACHE, axi_prot: int = AXI_PROT, max_beats: int = 256):
        """axi_id / axi_cache / axi_prot / max_beats: the values the engine was built with (its
        parameters AXI_ID, AXI_CACHE, AXI_PROT, MAX_BURST_BEATS; the defaults are the documented
        defaults)."""
        self.attrs = {"ID": axi_id, "CACHE": axi_cache, "PROT": axi_prot}
        self.max_beats = max_beats
        self.clk = clk
        self.mem = mem
        self.log = log or dut._log
        self.dw = len(getattr(dut, f"{prefix}_wdata"))
        self.db = self.dw // 8
        self.s = {n: getattr(dut, f"{prefix}_{n}") for n in (
            "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready",
            "wdata", "wstrb", "wlast", "wvalid", "wready", "bresp", "bvalid", "bready",
            "araddr", "arlen", "arsize", "arvalid", "arready", "rdata", "rresp", "rvalid", "rready",
            "awid", "awcache", "awprot", "awlock", "arid", "arcache", "arprot", "arlock", "arburst")}
        self.queues: dict[int, WatchedQueue] = {}
        self.closed: list[WatchedQueue] = []
        self.errors: list[str] = []
        self.aw_pending: deque[_Txn] = deque()   # AW seen, W not complete
        self.w_orphans: deque[tuple[int, int, int, float]] = deque()  # W beats before their AW
        self.w_first_t: float | None = None
        self.b_pending: deque[_Txn] = deque()    # complete writes waiting for B
        self.ar_pending: deque[tuple[int, float, WatchedQueue | None]] = deque()
        self.stats = {"aw": 0, "beats": 0, "idx_writes": 0, "elem_bursts": 0, "reads": 0,
                      "b_err": 0, "r_err": 0, "max_elem_beats": 0}
        self.first_aw_ns: float | None = None
        self.idx_visible_ns: list[tuple[int, int, float]] = []  # (q, unwrapped idx, time)
        self.on_decision = None  # callback(q, new16, value, notify)
        self._task = cocotb.start_soon(self._run())

    # -- configuration by the test --------------------------------------------------------
    def watch(self, q: int, used: int, avail: int, size: int, event_idx: bool,
              model: UsedRingModel | None = None, loose: bool = False) -> WatchedQueue:
        wq = WatchedQueue(q, used, avail, size, event_idx, model or UsedRingModel(used, size),
                          NotifyOracle(event_idx), loose)
        self.queues[q] = wq
        return wq

    def close(self, q: int, reset_ns: float | None = None) -> WatchedQueue:
        """The queue was reset (its reset write was acknowledged): no new transaction for it
        (responses of those already issued may still come, and an AW / AR already presented at
        this moment, waiting for its ready, may still be taken).

        reset_ns: when the reset write was requested (its AW handshake on the register port).
        The engine discards a decision read answered once the reset has begun (docs/engine.md,
        Disable and reset), a moment between the request and the acknowledgement that the
        wires do not show: a decision whose R came in that window may or may not have been
        made, so it becomes possible (`maybe_vis`, `maybe_sup`), neither required nor spurious.
        Decisions answered after the acknowledgement are not made at all (see _on_r)."""
        wq = self.queues.pop(q)
        wq.closed = True
        if reset_ns is not None:
            for r_ns, t_vis, need in reversed(wq.dec_log):  # in R order: the newest first
                if r_ns < reset_ns:
                    break
                if need:
                    wq.req_vis.remove(t_vis)
                    insort(wq.maybe_vis, t_vis)
                else:
                    wq.maybe_sup += 1
        for ch in ("aw", "ar"):
            if self._v(f"{ch}valid"):
                wq.late.append((ch.upper(), self._v(f"{ch}addr")))
        self.closed.append(wq)
        return wq

    def forget_in_flight(self) -> None:
        """The master was reset: every transaction in flight is dropped (its B / R never comes).
        Call it between clock edges (a reset asserted in the timestep of an edge would race with
        this monitor's sampling of that edge)."""
        for pending in (self.aw_pending, self.w_orphans, self.b_pending, self.ar_pending):
            pending.clear()
        self.w_first_t = None

    def error(self, msg: str) -> None:
        t = get_sim_time(unit="ns")
        self.errors.append(f"@{t:.0f}ns {msg}")
        self.log.error("axi monitor: %s", msg)

    # -- address classification -----------------------------------------------------------
    def _classify_write(self, addr: int, size: int) -> tuple[str, WatchedQueue | None]:
        for wq in list(self.queues.values()) + self.closed:
            if addr == wq.used + 2:
                return "idx", wq
            if wq.ring_lo <= addr < wq.ring_hi:
                return "elem", wq
        return "?", None

    def _classify_read(self, addr: int) -> WatchedQueue | None:
        for wq in list(self.queues.values()) + self.closed:
            if addr == wq.event_addr:
                return wq
        return None

    # -- sampling -------------------------------------------------------------------------
    def _v(self, name: str) -> int:
        return int(self.s[name].value)

    async def _run(self) -> None:
        s = self.s
        idle_wait = First(RisingEdge(s["awvalid"]), RisingEdge(s["wvalid"]), RisingEdge(s["bvalid"]),
                          RisingEdge(s["arvalid"]), RisingEdge(s["rvalid"]))
        edge = RisingEdge(self.clk)
        while True:
            if not (self._v("awvalid") or self._v("wvalid") or self._v("bvalid") or self._v("arvalid")
                    or self._v("rvalid")):
                await idle_wait
            await edge
            now = get_sim_time(unit="ns")
            # order within a cycle: B and R first (they complete earlier transactions), then AR,
            # AW and W (issued in this cycle, so they saw the state before this edge)
            if self._v("bvalid") and self._v("bready"):
                self._on_b(self._v("bresp"), now)
            if self._v("rvalid") and self._v("rready"):
                self._on_r(self._v("rdata"), self._v("rresp"), now)
            if self._v("arvalid") and self._v("arready"):
                self._check_attrs("AR", self._v("araddr"), self._v("arid"), self._v("arcache"),
                                  self._v("arprot"), self._v("arlock"), self._v("arburst"))
                self._on_ar(self._v("araddr"), self._v("arlen"), self._v("arsize"), now)
            if self._v("awvalid") and self._v("awready"):
                self._check_attrs("AW", self._v("awaddr"), self._v("awid"), self._v("awcache"),
                                  self._v("awprot"), self._v("awlock"), self._v("awburst"))
                self._on_aw(self._v("awaddr"), self._v("awlen"), self._v("awsize"), self._v("awburst"), now)
            if self._v("wvalid") and self._v("wready"):
                self._on_w(self._v("wdata"), self._v("wstrb"), self._v("wlast"), now)

    def _check_attrs(self, ch: str, addr: int, id_: int, cache: int, prot: int, lock: int, burst: int) -> None:
        """docs/engine.md, Write path / Read path: every transaction uses the configured AXI ID,
        AxCACHE and AxPROT (by default ID 0, AxCACHE 0010: normal, non-cacheable,
        non-bufferable, AxPROT 000), AxLOCK 0 (normal), AxBURST INCR."""
        a = self.attrs
        for name, got, exp in (("ID", id_, a["ID"]), ("CACHE", cache, a["CACHE"]), ("PROT", prot, a["PROT"]),
                               ("LOCK", lock, 0), ("BURST", burst, AXI_INCR)):
            if got != exp:
                self.error(f"{ch} {addr:#x}: {ch}{name} {got:#x}, the engine documents {exp:#x}")

    def _snapshot(self) -> dict:
        return {q: wq.acked_words for q, wq in self.queues.items()}

    def _on_aw(self, addr, length, size, burst, now) -> None:
        self.stats["aw"] += 1
        if self.first_aw_ns is None:
            self.first_aw_ns = now
        # the transaction was issued at its first handshake: its AW, or an earlier W beat
        snap = self._snapshot() if not self.w_orphans else self._orphan_snapshot
        t = _Txn(addr, length + 1, size, burst, now, snap)
        while self.w_orphans and len(t.beats) < t.length:
            t.beats.append(self.w_orphans.popleft())
        if self.w_orphans:
            self._orphan_snapshot = self._snapshot()
        self._check_aw(t)
        if len(t.beats) == t.length:
            self._complete(t)
        else:
            self.aw_pending.append(t)

    def _on_w(self, data, strb, last, now) -> None:
        self.stats["beats"] += 1
        beat = (data, strb, last, now)
        if self.aw_pending:
            t = self.aw_pending[0]
            t.beats.append(beat)
            if len(t.beats) == t.length:
                self.aw_pending.popleft()
                self._complete(t)
        else:
            if not self.w_orphans:
                self._orphan_snapshot = self._snapshot()
            self.w_orphans.append(beat)

    def _check_aw(self, t: _Txn) -> None:
        kind, wq = self._classify_write(t.addr, t.size)
        t.kind, t.q = kind, wq
        if t.burst != 1:
            self.error(f"AW {t.addr:#x}: burst type {t.burst}, expected INCR")
        nbytes = 1 << t.size
        if nbytes > self.db:
            self.error(f"AW {t.addr:#x}: AWSIZE {t.size} wider than the bus")
        start = t.addr & ~(nbytes - 1)
        if (start & 0xFFF) + t.length * nbytes > 0x1000:
            self.error(f"AW {t.addr:#x} len {t.length}: crosses a 4 KiB boundary")
        if kind == "?":
            self.error(f"AW {t.addr:#x}: write outside every ring")
            return
        if wq.closed:
            if ("AW", t.addr) in wq.late:
                wq.late.remove(("AW", t.addr))
            else:
                self.error(f"AW {t.addr:#x}: write for queue {wq.q} after its reset")
        if kind == "idx":
            if t.size != 1 or t.length != 1:
                self.error(f"idx write {t.addr:#x}: size {t.size} len {t.length}, expected one 2-byte beat")
        else:
            if t.size != (self.db.bit_length() - 1):
                self.error(f"element burst {t.addr:#x}: AWSIZE {t.size}, expected the bus width")
            if t.addr % 4:
                self.error(f"element burst {t.addr:#x}: not 4-byte aligned")
            if start + t.length * nbytes > wq.ring_hi + nbytes:
                self.error(f"element burst {t.addr:#x} len {t.length}: runs past the ring end")

    def _complete(self, t: _Txn) -> None:
        """AW and all W beats seen: check strobes and contents."""
        nbytes = 1 << t.size
        # bytes written, from the strobes
        written: list[tuple[int, int]] = []  # (addr, byte)
        for k, (data, strb, last, _) in enumerate(t.beats):
            if bool(last) != (k == t.length - 1):
                self.error(f"write {t.addr:#x}: WLAST {last} on beat {k} of {t.length}")
            base = (t.addr & ~(self.db - 1)) + k * nbytes if t.size == self.db.bit_length() - 1 else (t.addr & ~(self.db - 1))
            for i in range(self.db):
                if (strb >> i) & 1:
                    written.append((base + i, (data >> (8 * i)) & 0xFF))
        if t.kind == "idx":
            wq = t.q
            exp_strb_addrs = [t.addr, t.addr + 1]
            if [a for a, _ in written] != exp_strb_addrs:
                self.error(f"idx write q{wq.q}: strobes cover {[hex(a) for a, _ in written]}")
                return
            value = written[0][1] | (written[1][1] << 8)
            t.value = value
            self._on_idx_write(t, wq, value)
        elif t.kind == "elem":
            wq = t.q
            addrs = [a for a, _ in written]
            if not addrs or addrs[0] != t.addr or addrs != list(range(addrs[0], addrs[0] + len(addrs))) \
                    or len(addrs) % 4:
                self.error(f"element burst q{wq.q} {t.addr:#x}: strobes not one contiguous word run from AWADDR")
                return
            if addrs[-1] >= wq.ring_hi:
                self.error(f"element burst q{wq.q}: writes past the ring end")
            nwords = len(addrs) // 4
            beats = -(-((t.addr % self.db) + len(addrs)) // self.db)
            if t.length != beats:
                self.error(f"element burst q{wq.q} {t.addr:#x}: AWLEN {t.length - 1} for {nwords} words "
                           f"({beats} beats needed)")
            if t.length > self.max_beats:
                self.error(f"element burst q{wq.q} {t.addr:#x}: {t.length} beats, MAX_BURST_BEATS is {self.max_beats}")
            self.stats["max_elem_beats"] = max(self.stats["max_elem_beats"], t.length)
            # position in the unwrapped word stream of this queue
            word_in_ring = (t.addr - wq.ring_lo) // 4
            ring_words = 2 * wq.size
            expect_pos = wq.wr_next % ring_words
            if word_in_ring != expect_pos:
                self.error(f"element burst q{wq.q} at ring word {word_in_ring}, expected word {expect_pos}"
                           f" (gap or overlap)")
            w0 = wq.wr_next
            w1 = w0 + nwords
            wq.wr_next = w1
            t.words = (w0, w1)
            wq.bursts += 1
            wq.beats += t.length
            self.stats["elem_bursts"] += 1
            if not wq.loose and not wq.closed:
                for j in range(nwords):
                    pos = w0 + j
                    el = pos // 2
                    word = int.from_bytes(bytes(b for _, b in written[4 * j:4 * j + 4]), "little")
                    if el >= wq.model.accepted:
                        self.error(f"q{wq.q}: element {el} written but only {wq.model.accepted} accepted")
                        break
                    e = wq.model.elem(el)
                    exp = e.id if pos % 2 == 0 else e.len
                    if word != exp:
                        self.error(f"q{wq.q}: element {el} {'id' if pos % 2 == 0 else 'len'} written "
                                   f"{word:#x}, expected {exp:#x}")
                        break
        self.b_pending.append(t)

    def _on_idx_write(self, t: _Txn, wq: WatchedQueue, value: int) -> None:
        self.stats["idx_writes"] += 1
        wq.idx_writes += 1
        if wq.closed:
            return
        new = wq.pub + ((value - wq.pub) & 0xFFFF)
        acked = t.acked_snapshot.get(wq.q, 0)
        if 2 * new > acked:
            self.error(f"q{wq.q}: idx {value} written before the B of every element it publishes"
                       f" ({acked // 2} acknowledged)")
        if wq.failed_word is not None and 2 * new > wq.failed_word:
            self.error(f"q{wq.q}: idx {value} published past the failed element {wq.failed_word // 2}")
        if wq.idx_out:
            self.error(f"q{wq.q}: second idx write while one is in flight")
        if not wq.loose:
            for p in wq.model.check_publish(value):
                self.error(f"q{wq.q}: {p}")
            for p in wq.model.compare_memory(self.mem.read, wq.pub, new):
                self.error(f"q{wq.q} at idx {value}: {p}")
        elif new - wq.pub > wq.size:
            self.error(f"q{wq.q}: idx moved by {new - wq.pub} > ring size")
        if new > wq.pub:
            k = bisect_left(wq.ack_words, 2 * wq.pub + 2)
            first_ack = wq.ack_ns[k] if k < len(wq.ack_ns) else t.t_issue
            wq.idx_log.append(IdxWrite(t.t_issue, wq.pub, new, first_ack, max(wq.last_idx_b_ns, wq.last_ar_ns),
                                       wq.model.accepted, acked // 2))
        wq.pub = new
        wq.idx_out += 1

    def _on_b(self, resp: int, now: float) -> None:
        if not self.b_pending:
            self.error("B response without a complete write")
            return
        t = self.b_pending.popleft()
        wq = t.q
        if resp >= SLVERR:
            self.stats["b_err"] += 1
        if wq is None:
            return
        if t.kind == "elem":
            if resp < SLVERR:
                if wq.failed_word is None and t.words[0] == wq.acked_words:
                    wq.acked_words = t.words[1]
                    wq.ack_words.append(wq.acked_words)
                    wq.ack_ns.append(now)
            elif wq.failed_word is None:
                wq.failed_word = t.words[0] - (t.words[0] % 2)
        elif t.kind == "idx":
            wq.idx_out -= 1
            wq.last_idx_b_ns = now
            if resp < SLVERR:
                wq.vis = wq.pub if wq.idx_out == 0 else wq.vis
                self.idx_visible_ns.append((wq.q, wq.vis, now))
                wq.vis_fifo.append((wq.vis & 0xFFFF, now))
                if not wq.closed and not wq.loose:
                    got = self.mem.read_u16(wq.used + 2)
                    if got != t.value:
                        self.error(f"q{wq.q}: used->idx in memory {got} after its B, expected {t.value}")

    def _on_ar(self, addr, length, size, now) -> None:
        self.stats["reads"] += 1
        wq = self._classify_read(addr)
        if wq is None:
            self.error(f"AR {addr:#x}: read of neither avail->flags nor used_event of a queue")
        else:
            if wq.closed:
                if ("AR", addr) in wq.late:
                    wq.late.remove(("AR", addr))
                else:
                    self.error(f"AR {addr:#x}: read for queue {wq.q} after its reset")
            # one decision read per idx write that got OKAY, in order, after that B
            if not wq.vis_fifo:
                self.error(f"q{wq.q}: decision read without an idx write whose B it follows")
            new, t_vis = wq.vis_fifo.popleft() if wq.vis_fifo else (wq.vis & 0xFFFF, now)
            wq.reads += 1
            wq.last_ar_ns = now
        if length != 0 or size != 1:
            self.error(f"AR {addr:#x}: len {length} size {size}, expected one 2-byte beat")
        self.ar_pending.append((addr, now, wq, (new, t_vis) if wq else (0, now)))

    def _on_r(self, data, resp, now) -> None:
        if not self.ar_pending:
            self.error("R data without a read")
            return
        addr, _, wq, (new, t_vis) = self.ar_pending.popleft()
        if resp >= SLVERR:
            self.stats["r_err"] += 1
            return
        if wq is None:
            return
        if wq.closed:
            # A decision read issued before its queue's reset and answered after the reset's
            # acknowledgement: the engine discards it (docs/engine.md, Disable and reset): no
            # decision, no counter, no event. An event already pending is still delivered, and
            # answers the requirements made before.
            wq.discarded += 1
            return
        off = addr % self.db
        value = (data >> (8 * off)) & 0xFFFF
        need = wq.oracle.decide(new, value)
        if need:
            wq.req_vis.append(t_vis)
        wq.dec_log.append((now, t_vis, need))
        if self.on_decision is not None and not wq.closed:
            self.on_decision(wq.q, new, value, need)

    # -- events ---------------------------------------------------------------------------
    def _periods(self, q: int) -> list[WatchedQueue]:
        periods = [self.queues[q]] if q in self.queues else []
        return periods + [c for c in self.closed if c.q == q and c.after_close != 0]

    def can_take(self, q: int, t_ns: float) -> bool:
        """Whether an EVENT_USED for queue q at t_ns would answer a requirement (see on_event)."""
        return any(wq.can_answer(t_ns) > wq.delivered for wq in self._periods(q))

    def on_event(self, q: int, t_ns: float | None = None,
                 period: WatchedQueue | None = None) -> WatchedQueue | None:
        """An EVENT_USED for queue q was taken at t_ns (default: now). Returns the period it
        answers, None when it is spurious (or the queue unknown). `period`: the one period the
        event can belong to, when the caller knows it (a closed period of its owner).

        It goes to the open period of the queue if that can take it, else to the oldest period
        closed by a reset that can (an event latched or queued before the reset is still
        delivered; `after_close` bounds how many). A period can take its k-th event only if at
        least k of its requirements (certain or possible, see close) were visible (and decided)
        before t_ns: an event that no period can take answers no requirement and is spurious. (An event read after an idx
        became visible answers it, whichever period the event was emitted for.)"""
        t = get_sim_time(unit="ns") if t_ns is None else t_ns
        periods = self._periods(q) if period is None else [period]
        if not periods:
            self.error(f"EVENT_USED for unwatched queue {q}")
            return None
        for wq in periods:
            if wq.can_answer(t) > wq.delivered:
                wq.ev_times.append(t)
                if wq.closed and wq.after_close is not None:
                    wq.after_close -= 1
                return wq
        wq = periods[0]
        wq.spurious += 1
        self.error(f"q{q}: EVENT_USED at {t:.0f}ns answers no required notification (spurious: "
                   f"{wq.delivered} events already answer the {wq.can_answer(t)} requirements visible before it)")
        return None

    # -- end checks -----------------------------------------------------------------------
    def idle(self) -> bool:
        return not (self.aw_pending or self.w_orphans or self.b_pending or self.ar_pending)
