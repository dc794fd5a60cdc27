"""Mailbox scoreboard.

Fed with MboxEvents from both ports. It predicts every commit's outcome with
the reference rules (mbox_ref), keeps the queue of messages accepted in each
direction, and checks that every accepted message is popped exactly once, in
order, byte for byte, with the right HEAD_LEN; that refused messages are never
delivered; that underflow happens only on an empty FIFO; and that doorbells
are neither invented nor lost. EVENT_USED messages the mailbox synthesises
for the engine are passed on to `engine_events` subscribers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pyuvm import ConfigDB, uvm_analysis_port, uvm_subscriber

from . import mbox_ref as ref
from .mbox_events import MboxEvent

DIRS = {"drv": "to_device", "dev": "to_driver"}  # the direction a port's commits go
READER = {"to_device": "dev", "to_driver": "drv"}


@dataclass
class Expected:
    slot: bytes
    length: int
    time_ns: float


class MailboxScoreboard(uvm_subscriber):
    def build_phase(self):
        self.engine_ap = uvm_analysis_port("engine_ap", self)
        self.expected: dict[str, deque[Expected]] = {"to_device": deque(), "to_driver": deque()}
        self.errors: list[str] = []
        self.stats = {"accepted": 0, "rejected": 0, "delivered": 0, "doorbells": 0, "engine_events": 0, "underflows": 0}
        self.pending_db: dict[int, bool] = {}
        self.last_db_data: dict[int, int] = {}
        # doorbell -> (start, end) of the oldest kick the device side has not seen pending yet
        self.unobserved_kicks: dict[int, tuple[float, float]] = {}
        # doorbell -> (start, end) of a DB_PENDING read that saw the bit with no kick known
        self.phantom_bits: dict[int, tuple[float, float]] = {}
        # doorbell -> start of the latest DB_PENDING read that saw the bit set
        self.seen_pending: dict[int, float] = {}
        self.reject_pred: dict[str, int] = {}
        self._overfull = 0  # commits accepted while the scoreboard counted a full FIFO
        self.allow_leftover = False      # a test may end with messages still queued
        self.require_db_observed = True  # every kick must be seen pending by the device side

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
        handler = getattr(self, f"_on_{ev.kind}", None)
        if handler is not None:
            handler(ev)

    def _predict(self, ev: MboxEvent) -> ref.Prediction:
        direction = DIRS[ev.port]
        # A pop whose B response is not yet seen can make the FIFO look one
        # fuller than it is: see the OVERFLOW case in _on_commit.
        return ref.predict_commit(ev.slot, direction == "to_device", self.msg_size,
                                  len(self.expected[direction]), self.depth[direction],
                                  self.num_devs, self.num_vqs)

    def _on_commit(self, ev: MboxEvent) -> None:
        direction = DIRS[ev.port]
        pred = self._predict(ev)
        if pred.code == ref.OVERFLOW:
            # Accepted although the scoreboard counts a full FIFO: legal only if a
            # pop on the other port is completing (its response not yet seen).
            # Checked when the next pop arrives: the count must be back to DEPTH.
            self._overfull += 1
        elif pred.code != ref.NONE:
            self.error(f"{ev.port} commit accepted at {ev.time_ns}ns but the rules refuse it with "
                       f"{ref.CODE_NAMES[pred.code]}: {ev.slot[:16].hex()}")
            return
        self.stats["accepted"] += 1
        if pred.doorbell:
            self._kick(ev)
            return
        self.expected[direction].append(Expected(ev.slot, ev.length, ev.time_ns))

    def _on_reject(self, ev: MboxEvent) -> None:
        self.stats["rejected"] += 1
        pred = self._predict(ev)
        if pred.code == ref.NONE:
            self.error(f"{ev.port} commit refused at {ev.time_ns}ns but the rules accept it: {ev.slot[:16].hex()}")
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
        if self._overfull:
            self._overfull -= 1
        self.stats["delivered"] += 1
        if q and self._matches(q[0], ev):
            q.popleft()
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

    def _on_underflow(self, ev: MboxEvent) -> None:
        self.stats["underflows"] += 1
        direction = "to_driver" if ev.port == "drv" else "to_device"
        if self.expected[direction]:
            self.error(f"{ev.port} pop refused (underflow) at {ev.time_ns}ns with {len(self.expected[direction])} message(s) waiting")

    # --- doorbells ------------------------------------------------------
    def _kick(self, ev: MboxEvent) -> None:
        self.stats["doorbells"] += 1
        h = ref.Header.of(ev.slot)
        vq = int.from_bytes(ev.slot[6:10], "little")
        p = h.dev_id * self.num_vqs + vq
        self.pending_db[p] = True
        self.last_db_data[p] = int.from_bytes(ev.slot[10:14], "little")
        # A read that began after this commit began and saw the bit has seen this kick, even
        # if it completed before the commit's response (the bit is set before the B response).
        self.phantom_bits.pop(p, None)
        if self.seen_pending.get(p, -1.0) < ev.start_ns:
            self.unobserved_kicks.setdefault(p, (ev.start_ns, ev.time_ns))

    def _on_db_read(self, ev: MboxEvent) -> None:
        for bit in range(32):
            p = ev.code * 32 + bit
            if ev.value >> bit & 1:
                self.seen_pending[p] = max(self.seen_pending.get(p, -1.0), ev.start_ns)
                if not self.pending_db.get(p):
                    # Possibly a kick whose response is still in flight: resolved by the kick.
                    self.phantom_bits.setdefault(p, (ev.start_ns, ev.time_ns))
                elif p in self.unobserved_kicks and self.unobserved_kicks[p][0] <= ev.start_ns:
                    del self.unobserved_kicks[p]
            elif self.pending_db.get(p) and p in self.unobserved_kicks and self.unobserved_kicks[p][1] <= ev.start_ns:
                self.error(f"doorbell {p} (dev {p // self.num_vqs} vq {p % self.num_vqs}) was kicked at "
                           f"{self.unobserved_kicks[p][1]}ns but DB_PENDING reads 0 at {ev.time_ns}ns")

    def _on_db_clear(self, ev: MboxEvent) -> None:
        for bit in range(32):
            if ev.value >> bit & 1:
                self.pending_db[ev.code * 32 + bit] = False

    def _on_db_data(self, ev: MboxEvent) -> None:
        p = ev.code
        if p in self.last_db_data and ev.value != self.last_db_data[p]:
            self.error(f"DB_DATA[{p}] reads {ev.value:#x} at {ev.time_ns}ns, last kick carried {self.last_db_data[p]:#x}")

    def on_reset(self) -> None:
        """Peripheral reset: everything queued or pending in hardware is gone (documented)."""
        self.stats["lost_by_reset"] = sum(len(q) for q in self.expected.values())
        for q in self.expected.values():
            q.clear()
        self.pending_db.clear()
        self.last_db_data.clear()
        self.unobserved_kicks.clear()
        self.phantom_bits.clear()
        self.seen_pending.clear()
        self.reject_pred.clear()
        self._overfull = 0

    # ------------------------------------------------------------------
    def problems(self) -> list[str]:
        out = list(self.errors)
        if not self.allow_leftover:
            for d, q in self.expected.items():
                if q:
                    out.append(f"{len(q)} {d} message(s) accepted and never delivered, first at {q[0].time_ns}ns")
        if self.require_db_observed:
            for p, (_, t) in self.unobserved_kicks.items():
                out.append(f"doorbell {p} kicked at {t}ns was never seen pending by the device side")
        for p, (_, t) in self.phantom_bits.items():
            out.append(f"doorbell {p} read as pending at {t}ns without any kick")
        if self._overfull:
            out.append("a commit was accepted while the FIFO held DEPTH messages")
        return out

    def check_phase(self):
        probs = self.problems()
        for p in probs:
            self.logger.error(p)
        assert not probs, f"scoreboard: {len(probs)} problem(s); first: {probs[0]}"
