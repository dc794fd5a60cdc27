"""Mailbox scoreboard.

Fed with MboxEvents from both ports. It predicts every commit's outcome with
the reference rules (mbox_ref), keeps the queue of messages accepted in each
direction, and checks that every accepted message is popped exactly once, in
order, byte for byte, with the right HEAD_LEN; that refused messages are never
delivered; that underflow happens only on an empty FIFO; and that doorbells
are neither invented nor lost. EVENT_USED messages the mailbox synthesises
for the engine are passed on to `engine_events` subscribers.

Doorbells: a kick is seen by the device side when a DB_PENDING read that began after the
kick's commit began shows its bit set. Kicks to a set bit coalesce (docs/architecture.md,
"Doorbells"): the bit, from the kick that set it to the clear that ends it, is one
notification. A kick that coalesces into a notification the device side has already seen
(every earlier kick of it seen) is delivered with that notification when the device side
clears the bit after the kick completed: the clear consumes the notification, kick included
(a firmware that reads DB_PENDING, clears what it read and then serves the queues serves
that kick's buffers too). A kick into a notification not seen yet, or with no read or clear
after it, stays unseen.

Responses (the bus rule of the specification draft, both header formats): per device number
(bus messages as one more stream), every response the device side commits answers the oldest
request the driver side committed to that device number and not yet answered: the same
msg_id, and in the 8-byte format the same token. A response with no request outstanding, or
that does not answer the oldest one, is an error (responses in request order, at most one per
request); with `require_every_response` a request left unanswered at the end of the test is
one too (exactly one). A test that plants a response matching no request declares it
(`planted_responses`); a declared one that never comes is an error as well. Checked only when
`check_responses` is on (the base test turns it on when both software sides run).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from pyuvm import ConfigDB, uvm_analysis_port, uvm_subscriber

from . import mbox_ref as ref
from ..regmap import load as load_regmap
from .mbox_events import MboxEvent

DIRS = {"drv": "to_device", "dev": "to_driver"}  # the direction a port's commits go
READER = {"to_device": "dev", "to_driver": "drv"}
# A commit and a pop that the mailbox takes in the same cycle are answered in the same cycle:
# both acks are registered one cycle after the request is taken (a refused or fully written
# commit; the zero fill only delays an accepted commit's ack), behind identical AXI4-Lite
# slaves (rtl/mailbox/vmsg_mbox.sv, rtl/common/vmsg_axil_regif.sv). A pop whose B response
# comes at the same time as a commit's was therefore not taken before that commit: the commit
# saw the popped message still in the FIFO, whichever of the two events arrives here first.
# A commit the mailbox takes after a pop sees the FIFO after it (the commit waits a cycle after a
# pop), and its ack comes at least one cycle after the pop's: when the scoreboard sees a
# commit's B response, every pop the commit saw has been seen. So the FIFO count at a commit's
# B response is exact, and an accepted commit that the rules refuse with OVERFLOW is an error,
# with no pop to forgive it.
# A commit takes effect (its message becomes visible) a few cycles before its B response: a
# status read that ended up to this long before a commit's B may have counted that message.
COMMIT_VISIBLE_SLACK_NS = 100
REJ_COUNTERS = {ref.SIZE_SMALL: "TX_REJ_SIZE_SMALL", ref.SIZE_LARGE: "TX_REJ_SIZE_LARGE",
                ref.TYPE_RSVD: "TX_REJ_TYPE_RSVD", ref.TYPE_DIR: "TX_REJ_TYPE_DIR",
                ref.OVERFLOW: "TX_REJ_OVERFLOW", ref.DB_RANGE: "TX_REJ_DB_RANGE"}
COUNTER_REGS = {"drv": ["TX_ACCEPTED", *REJ_COUNTERS.values(), "RX_POPPED", "RX_UNDERFLOW", "TX_DOORBELLS"],
                "dev": ["TX_ACCEPTED", *REJ_COUNTERS.values(), "RX_POPPED", "RX_UNDERFLOW", "DB_KICKS",
                        "DB_COALESCED"]}


@dataclass
class StatusCheck:
    """An RX_STATUS read waiting for the commits that may have been visible to it."""
    port: str
    direction: str
    start_ns: float
    end_ns: float
    value: int
    lo: int   # messages certainly counted (committed before the read began)
    hi: int   # messages possibly counted (grows with commits whose B follows the read closely)


@dataclass
class Expected:
    slot: bytes
    length: int
    time_ns: float


class MailboxScoreboard(uvm_subscriber):
    def build_phase(self):
        self.engine_ap = uvm_analysis_port("engine_ap", self)
        self.regs = load_regmap("vmsg_drv_regs")  # RX_STATUS has one layout on both ports
        self.expected: dict[str, deque[Expected]] = {"to_device": deque(), "to_driver": deque()}
        self.errors: list[str] = []
        self.stats = {"accepted": 0, "rejected": 0, "delivered": 0, "doorbells": 0, "engine_events": 0, "underflows": 0}
        self.pending_db: dict[int, bool] = {}
        self.last_db_data: dict[int, int] = {}
        self.prev_db_data: dict[int, tuple[int | None, float]] = {}  # data before the last kick, its commit's end
        # doorbell -> (start, end) of the oldest kick the device side has not seen pending yet
        self.unobserved_kicks: dict[int, tuple[float, float]] = {}
        # doorbells whose unseen kick coalesced into a notification the device side has seen:
        # the next clear of the bit (after the kick) delivers it (see the module docstring)
        self._joined: set[int] = set()
        # doorbell -> (start, end) of a DB_PENDING read that saw the bit with no kick known
        self.phantom_bits: dict[int, tuple[float, float]] = {}
        # doorbell -> start of the latest DB_PENDING read that saw the bit set
        self.seen_pending: dict[int, float] = {}
        self.reject_pred: dict[str, int] = {}
        # per direction: (time of the latest FIFO pop's B response, FIFO pops with that time)
        self._pops_at: dict[str, tuple[float, int]] = {}
        self.counts: dict[str, Counter] = {"drv": Counter(), "dev": Counter()}  # predicted counters
        self.coalesced_maybe = 0   # kicks that raced a DB_PENDING clear of their bit
        self._last_kick: dict[int, tuple[MboxEvent, bool]] = {}  # doorbell -> (kick, counted as coalesced)
        self._last_clear: dict[int, float] = {}  # doorbell -> end of its latest DB_PENDING clear
        self._racing: set[int] = set()  # doorbells whose last kick and clear overlapped: either order
        self._status_checks: list[StatusCheck] = []
        self.allow_leftover = False      # a test may end with messages still queued
        self.require_db_observed = True  # every kick must be seen pending by the device side
        # responses per device number (see the module docstring)
        self.check_responses = False
        self.require_every_response = False
        self.planted_responses = 0       # responses the test plants that answer no request
        self.planted_seen = 0
        self.outstanding: dict[object, deque[tuple[int, int, float]]] = {}  # key -> (msg_id, token, t)
        self.responses_checked = 0

    def end_of_elaboration_phase(self):
        p = ConfigDB().get(self, "", "HDL_PARAMS")
        self.msg_size = p["MSG_SIZE"]
        self.depth = {"to_device": p["TO_DEV_DEPTH"], "to_driver": p["TO_DRV_DEPTH"]}
        self.num_devs = p["NUM_DEVS"]
        self.num_vqs = p["NUM_VQS"]

    # ------------------------------------------------------------------
    def error(self, msg: str) -> None:
        self.errors.append(msg)
        self.logger.error(msg)

    def write(self, ev: MboxEvent) -> None:
        self._settle_status(ev.time_ns)
        handler = getattr(self, f"_on_{ev.kind}", None)
        if handler is not None:
            handler(ev)

    def _predict(self, ev: MboxEvent) -> ref.Prediction:
        direction = DIRS[ev.port]
        # A pop whose B response came with this commit's was not taken before it (see the top
        # of the module): its message still counts, even if its event arrived first.
        t, n = self._pops_at.get(direction, (None, 0))
        count = len(self.expected[direction]) + (n if t == ev.time_ns else 0)
        return ref.predict_commit(ev.slot, direction == "to_device", self.msg_size,
                                  count, self.depth[direction], self.num_devs, self.num_vqs)

    def _on_commit(self, ev: MboxEvent) -> None:
        direction = DIRS[ev.port]
        pred = self._predict(ev)
        if pred.code == ref.OVERFLOW:
            # accepted into a full FIFO (see the top of the module: no pop in flight excuses it);
            # kept in the queue, so that the message's delivery is still checked
            self.error(f"{ev.port} commit accepted at {ev.time_ns}ns into a full {direction} FIFO "
                       f"({len(self.expected[direction])} messages, DEPTH {self.depth[direction]})")
        elif pred.code != ref.NONE:
            self.error(f"{ev.port} commit accepted at {ev.time_ns}ns but the rules refuse it with "
                       f"{ref.CODE_NAMES[pred.code]}: {ev.slot[:16].hex()}")
            return
        self.stats["accepted"] += 1
        for chk in self._status_checks:  # visible to a status read that ended just before?
            if chk.direction == direction and ev.time_ns <= chk.end_ns + COMMIT_VISIBLE_SLACK_NS:
                chk.hi += 1
        if pred.doorbell:
            self.counts[ev.port]["TX_DOORBELLS"] += 1
            self._kick(ev)
            return
        self.counts[ev.port]["TX_ACCEPTED"] += 1
        self.expected[direction].append(Expected(ev.slot, ev.length, ev.time_ns))
        if self.check_responses:
            self._request_response(direction, ev)

    def _request_response(self, direction: str, ev: MboxEvent) -> None:
        """Per device number: responses in request order, one per request."""
        h = ref.Header.of(ev.slot)
        key = "bus" if h.is_bus else h.dev_id
        what = "the bus" if h.is_bus else f"dev {h.dev_id}"
        if direction == "to_device":
            if not h.is_response and h.msg_id < ref.EVENT_CONFIG:   # a request: one response owed
                self.outstanding.setdefault(key, deque()).append((h.msg_id, h.token, ev.time_ns))
            return
        if not h.is_response:
            return  # an event: no request
        q = self.outstanding.get(key)
        head = q[0] if q else None
        matches = head is not None and head[0] == h.msg_id and head[1] == h.token
        if not matches and self.planted_seen < self.planted_responses:
            self.planted_seen += 1
            return
        if head is None:
            self.error(f"response id {h.msg_id:#04x} token {h.token:#06x} for {what} committed at "
                       f"{ev.time_ns}ns with no request outstanding (one response per request)")
            return
        if not matches:
            self.error(f"response id {h.msg_id:#04x} token {h.token:#06x} for {what} committed at "
                       f"{ev.time_ns}ns does not answer the oldest request outstanding (id {head[0]:#04x} "
                       f"token {head[1]:#06x} at {head[2]}ns): responses come in request order")
            return
        q.popleft()
        self.responses_checked += 1

    def _on_reject(self, ev: MboxEvent) -> None:
        self.stats["rejected"] += 1
        pred = self._predict(ev)
        if pred.code == ref.NONE:
            self.error(f"{ev.port} commit refused at {ev.time_ns}ns but the rules accept it: {ev.slot[:16].hex()}")
        else:
            # The framing codes are exact; OVERFLOW too: a pop the mailbox took before this
            # commit answers before it (the commit waits a cycle after a pop), so a FIFO the
            # scoreboard counts full was full for the commit.
            self.counts[ev.port][REJ_COUNTERS[pred.code]] += 1
        # The code is checked when the port reads TX_ERROR next.
        self.reject_pred[ev.port] = pred.code

    def _on_tx_error(self, ev: MboxEvent) -> None:
        pred = self.reject_pred.pop(ev.port, None)
        if pred is None:
            return
        if pred == ref.OVERFLOW and ev.code == ref.OVERFLOW:
            return
        if ev.code != pred:
            self.error(f"{ev.port} TX_ERROR.CODE is {ref.CODE_NAMES.get(ev.code, ev.code)} after a refused commit; "
                       f"the rules say {ref.CODE_NAMES[pred]}")

    def _on_pop(self, ev: MboxEvent) -> None:
        direction = "to_driver" if ev.port == "drv" else "to_device"
        q = self.expected[direction]
        self.stats["delivered"] += 1
        self.counts[ev.port]["RX_POPPED"] += 1
        if q and self._matches(q[0], ev):
            q.popleft()
            t, n = self._pops_at.get(direction, (None, 0))
            self._pops_at[direction] = (ev.time_ns, n + 1 if t == ev.time_ns else 1)
            return
        if direction == "to_driver" and self._is_event_used(ev):
            self.stats["engine_events"] += 1
            self.engine_ap.write(ev)
            return
        exp = q[0] if q else None
        self.error(f"{ev.port} popped an unexpected message at {ev.time_ns}ns: {ev.slot[:24].hex()} (len {ev.length}); "
                   f"expected {exp.slot[:24].hex() + f' (len {exp.length})' if exp else 'nothing'}")
        if q:
            q.popleft()  # resynchronise: count it as the (corrupted) head

    def _matches(self, exp: Expected, ev: MboxEvent) -> bool:
        if ev.length != exp.length:
            return False
        for w in ev.read_words:
            if ev.slot[4 * w:4 * w + 4] != exp.slot[4 * w:4 * w + 4]:
                return False
        # Everything the reader did not read must be zero past HEAD_LEN by the
        # rules; what it did not read below HEAD_LEN is its own business.
        return not any(exp.slot[exp.length:])

    def _is_event_used(self, ev: MboxEvent) -> bool:
        """An EVENT_USED that the engine checker expects at the time of the pop (a queue with
        a required notification not yet answered), byte for byte on the words read."""
        if ev.length != 12:
            return False
        for dev_id, vq in ConfigDB().get(self, "", "ENGINE_EVENTS")(ev.start_ns):
            expect = ref.event_used_slot(dev_id, vq, self.msg_size)
            if all(ev.slot[4 * w:4 * w + 4] == expect[4 * w:4 * w + 4] for w in ev.read_words):
                return True
        return False

    def _on_rx_status(self, ev: MboxEvent) -> None:
        """RX_STATUS.COUNT and EMPTY against the scoreboard's own queue: every message
        committed before the read began is counted, none popped before it; commits completing
        during or just after the read may be; to the driver, an event head counts one more."""
        direction = "to_driver" if ev.port == "drv" else "to_device"
        q = self.expected[direction]
        lo = sum(1 for x in q if x.time_ns < ev.start_ns)
        hi = len(q) + (1 if direction == "to_driver" else 0)
        self._status_checks.append(StatusCheck(ev.port, direction, ev.start_ns, ev.time_ns, ev.value, lo, hi))

    def _settle_status(self, now_ns: float) -> None:
        keep = []
        for chk in self._status_checks:
            if now_ns <= chk.end_ns + COMMIT_VISIBLE_SLACK_NS:
                keep.append(chk)
                continue
            self._check_status(chk)
        self._status_checks = keep

    def _check_status(self, chk: StatusCheck) -> None:
        count = self.regs.get("RX_STATUS", "COUNT", chk.value)
        empty = bool(self.regs.get("RX_STATUS", "EMPTY", chk.value))
        if not chk.lo <= count <= chk.hi or empty != (count == 0):
            self.error(f"{chk.port} RX_STATUS read at {chk.end_ns}ns: COUNT {count} EMPTY {empty}; "
                       f"the scoreboard's queue says COUNT in [{chk.lo}, {chk.hi}]")

    def _on_underflow(self, ev: MboxEvent) -> None:
        self.stats["underflows"] += 1
        self.counts[ev.port]["RX_UNDERFLOW"] += 1
        direction = "to_driver" if ev.port == "drv" else "to_device"
        if self.expected[direction]:
            self.error(f"{ev.port} pop refused (underflow) at {ev.time_ns}ns with {len(self.expected[direction])} message(s) waiting")

    # --- doorbells ------------------------------------------------------
    def _kick(self, ev: MboxEvent) -> None:
        self.stats["doorbells"] += 1
        h = ref.Header.of(ev.slot)
        vq = ref.payload_u32(ev.slot, 0)
        p = h.dev_id * self.num_vqs + vq
        self.counts["dev"]["DB_KICKS"] += 1
        # DB_COALESCED: the bit was set by an earlier kick and not cleared since; a DB_PENDING
        # clear of the bit overlapping this kick makes it either (same cycle: a new notification).
        racing = self._last_clear.get(p, -1.0) > ev.start_ns
        coalesced = bool(self.pending_db.get(p)) and not racing
        if racing:
            self.coalesced_maybe += 1
        elif coalesced:
            self.counts["dev"]["DB_COALESCED"] += 1
        self._last_kick[p] = (ev, coalesced)
        self.pending_db[p] = True
        if racing:  # the clear may have come after this kick: the next read tells
            self._racing.add(p)
            self.phantom_bits.pop(p, None)
            return
        # (a DB_DATA read that began before this commit's response may still return the data of
        # the kick before: the doorbell stores the data a few cycles after the commit's request)
        self.prev_db_data[p] = (self.last_db_data.get(p), ev.time_ns)
        self.last_db_data[p] = ref.payload_u32(ev.slot, 4)
        # A read that began after this commit began and saw the bit has seen this kick, even
        # if it completed before the commit's response (the bit is set before the B response).
        self.phantom_bits.pop(p, None)
        if self.seen_pending.get(p, -1.0) < ev.start_ns:
            if coalesced and p not in self.unobserved_kicks:
                # The bit was set by kicks the device side has all seen and not cleared since
                # (no clear overlaps this kick): this one joins that notification.
                self._joined.add(p)
            self.unobserved_kicks.setdefault(p, (ev.start_ns, ev.time_ns))

    def _on_db_read(self, ev: MboxEvent) -> None:
        for bit in range(32):
            p = ev.code * 32 + bit
            if p in self._racing:  # a kick and a clear overlapped: this read says which came last
                self._racing.discard(p)
                self.pending_db[p] = bool(ev.value >> bit & 1)
                self.unobserved_kicks.pop(p, None)
                self._joined.discard(p)
                self.phantom_bits.pop(p, None)
                continue
            if ev.value >> bit & 1:
                self.seen_pending[p] = max(self.seen_pending.get(p, -1.0), ev.start_ns)
                if not self.pending_db.get(p):
                    # Possibly a kick whose response is still in flight: resolved by the kick.
                    self.phantom_bits.setdefault(p, (ev.start_ns, ev.time_ns))
                elif p in self.unobserved_kicks and self.unobserved_kicks[p][0] <= ev.start_ns:
                    del self.unobserved_kicks[p]
                    self._joined.discard(p)
            elif self.pending_db.get(p) and p in self.unobserved_kicks and self.unobserved_kicks[p][1] <= ev.start_ns:
                self.error(f"doorbell {p} (dev {p // self.num_vqs} vq {p % self.num_vqs}) was kicked at "
                           f"{self.unobserved_kicks[p][1]}ns but DB_PENDING reads 0 at {ev.time_ns}ns")

    def _on_db_clear(self, ev: MboxEvent) -> None:
        for bit in range(32):
            if ev.value >> bit & 1:
                p = ev.code * 32 + bit
                self.pending_db[p] = False
                self._last_clear[p] = ev.time_ns
                kick, coalesced = self._last_kick.get(p, (None, False))
                if kick is not None and ev.start_ns < kick.time_ns:  # the clear may have come first
                    self._racing.add(p)
                    self.unobserved_kicks.pop(p, None)
                    self._joined.discard(p)
                elif p in self._joined:
                    # Began after the joined kick completed: it consumes the notification the
                    # device side saw, with that kick in it.
                    self._joined.discard(p)
                    self.unobserved_kicks.pop(p, None)
                if coalesced and ev.start_ns < kick.time_ns:
                    self.counts["dev"]["DB_COALESCED"] -= 1
                    self.coalesced_maybe += 1
                    self._last_kick[p] = (kick, False)

    def _on_db_data(self, ev: MboxEvent) -> None:
        p = ev.code
        if p not in self.last_db_data or ev.value == self.last_db_data[p]:
            return
        before, kick_done = self.prev_db_data.get(p, (None, -1.0))
        if ev.start_ns < kick_done and ev.value == (0 if before is None else before):
            return  # began before the last kick's commit was answered: the data before it
        self.error(f"DB_DATA[{p}] reads {ev.value:#x} at {ev.time_ns}ns, last kick carried {self.last_db_data[p]:#x}")

    def on_reset(self) -> None:
        """Peripheral reset: everything queued or pending in hardware is gone (documented)."""
        self.stats["lost_by_reset"] = sum(len(q) for q in self.expected.values())
        for q in self.expected.values():
            q.clear()
        self.pending_db.clear()
        self.last_db_data.clear()
        self.prev_db_data.clear()
        self.unobserved_kicks.clear()
        self._joined.clear()
        self.phantom_bits.clear()
        self.seen_pending.clear()
        self.reject_pred.clear()
        self._pops_at.clear()
        self.outstanding.clear()   # requests in flight die with the reset (documented)
        self.counts = {"drv": Counter(), "dev": Counter()}  # the counters restart from 0
        self.coalesced_maybe = 0
        self._last_kick.clear()
        self._last_clear.clear()
        self._racing.clear()
        self._status_checks.clear()

    def expected_counters(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Per port, every counter register's predicted (lowest, highest) value, from what the
        scoreboard saw on the wires since the last reset (counters wrap at 2^32)."""
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for port, regs in COUNTER_REGS.items():
            out[port] = {}
            for reg in regs:
                n = self.counts[port][reg]
                out[port][reg] = (n, n + (self.coalesced_maybe if reg == "DB_COALESCED" else 0))
        return out

    # ------------------------------------------------------------------
    def problems(self) -> list[str]:
        self._settle_status(float("inf"))
        out = list(self.errors)
        if not self.allow_leftover:
            for d, q in self.expected.items():
                if q:
                    out.append(f"{len(q)} {d} message(s) accepted and never delivered, first at {q[0].time_ns}ns")
        if self.check_responses and self.require_every_response:
            for key, q in self.outstanding.items():
                for msg_id, token, t in q:
                    out.append(f"request id {msg_id:#04x} token {token:#06x} to "
                               f"{'the bus' if key == 'bus' else f'dev {key}'} committed at {t}ns was never answered")
        if self.planted_seen < self.planted_responses:
            out.append(f"{self.planted_responses} planted response(s) declared, {self.planted_seen} seen")
        if self.require_db_observed:
            for p, (_, t) in self.unobserved_kicks.items():
                out.append(f"doorbell {p} kicked at {t}ns was never seen pending by the device side")
        for p, (_, t) in self.phantom_bits.items():
            out.append(f"doorbell {p} read as pending at {t}ns without any kick")
        return out

    def check_phase(self):
        probs = self.problems()
        for p in probs:
            self.logger.error(p)
        assert not probs, f"scoreboard: {len(probs)} problem(s); first: {probs[0]}"
