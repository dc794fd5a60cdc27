"""The mailbox scoreboard's doorbell rules, on hand-made event sequences (no simulator).

A kick counts as seen by the device side when a DB_PENDING read that began after the kick's
commit began shows the bit set: such a read may complete before the commit's own B response,
since the bit is set before the response leaves. A read that began before the commit began
cannot vouch for it; a read that began after the commit's response and shows 0 is an error.
A kick that coalesces into a notification the device side has seen is delivered by the clear
of the bit that follows it (the clear consumes the notification, that kick included)."""
from __future__ import annotations

import pytest

from vmsg.env.mbox_events import MboxEvent
from vmsg.env.scoreboard import MailboxScoreboard

NUM_VQS = 4
DEV, VQ = 2, 1
BIT = DEV * NUM_VQS + VQ  # doorbell index 9: word 0, bit 9


@pytest.fixture
def sb(request):
    s = MailboxScoreboard(f"sb_{request.node.name}", None)  # pyuvm names children of the root uniquely
    s.build_phase()
    s.msg_size, s.num_devs, s.num_vqs = 64, 8, NUM_VQS
    s.depth = {"to_device": 8, "to_driver": 8}
    return s


def kick(sb, start, end, data=0x8000_0003):
    slot = bytes([0x00, 0x41]) + DEV.to_bytes(2, "little") + (14).to_bytes(2, "little")
    slot += VQ.to_bytes(4, "little") + data.to_bytes(4, "little")
    sb.write(MboxEvent("commit", "drv", end, start, slot=slot.ljust(64, b"\0"), length=16))


def db_read(sb, start, end, value):
    sb.write(MboxEvent("db_read", "dev", end, start, code=0, value=value))


def db_clear(sb, start, end):
    sb.write(MboxEvent("db_clear", "dev", end, start, code=0, value=1 << BIT))


def unseen(sb):
    return [p for p in sb.problems() if "never seen pending" in p]


def test_read_after_kick_response_observes(sb):
    kick(sb, 100, 200)
    db_read(sb, 250, 300, 1 << BIT)
    db_clear(sb, 310, 350)
    assert sb.problems() == []


def test_kick_never_read_is_reported(sb):
    kick(sb, 100, 200)
    assert unseen(sb), sb.problems()


def test_read_overlapping_the_kick_response_observes(sb):
    # the read began after the commit began and finished before its B response
    db_read(sb, 150, 180, 1 << BIT)
    kick(sb, 100, 200)
    db_clear(sb, 210, 250)
    assert sb.problems() == []


def test_overlapping_read_while_an_older_kick_is_pending(sb):
    kick(sb, 10, 50)
    db_read(sb, 60, 90, 1 << BIT)       # sees the first kick
    db_read(sb, 150, 180, 1 << BIT)     # began after the second commit began
    kick(sb, 100, 200)                  # coalesces into the pending bit
    db_clear(sb, 210, 250)
    assert sb.problems() == []


def test_read_begun_before_the_commit_does_not_vouch(sb):
    db_read(sb, 50, 180, 1 << BIT)      # began before the commit began
    kick(sb, 100, 200)
    db_clear(sb, 210, 250)
    assert unseen(sb), sb.problems()


def test_coalesced_kick_between_read_and_clear_is_consumed(sb):
    # RandomSystemTest-many seed 717529865: the firmware reads the bit (first kick), a second
    # kick coalesces into it, then the firmware clears what it read and serves the queue
    kick(sb, 10, 50)
    db_read(sb, 185, 235, 1 << BIT)     # sees the first kick; began before the second commit
    kick(sb, 195, 245)                  # coalesces into the pending, seen bit
    db_clear(sb, 255, 305)              # began after the second kick's response
    db_read(sb, 400, 450, 0)
    assert sb.problems() == []


def test_coalesced_kick_into_an_unseen_notification_is_reported(sb):
    kick(sb, 10, 50)                    # never read
    kick(sb, 100, 200)                  # coalesces
    db_clear(sb, 210, 250)              # a blind clear delivers neither
    assert unseen(sb), sb.problems()


def test_coalesced_kick_with_no_clear_after_it_is_reported(sb):
    kick(sb, 10, 50)
    db_read(sb, 60, 90, 1 << BIT)
    kick(sb, 100, 200)                  # coalesces; nothing reads or clears the bit afterwards
    assert unseen(sb), sb.problems()


def test_coalesced_kick_then_pending_reads_zero_is_an_error(sb):
    kick(sb, 10, 50)
    db_read(sb, 60, 90, 1 << BIT)
    kick(sb, 100, 200)
    db_read(sb, 250, 300, 0)            # no clear since: the bit must still read 1
    assert any("DB_PENDING reads 0" in e for e in sb.errors)


def test_bit_without_any_kick_is_reported(sb):
    db_read(sb, 50, 80, 1 << BIT)
    assert any("without any kick" in p for p in sb.problems())


def test_pending_reads_zero_after_kick_is_an_error(sb):
    kick(sb, 100, 200)
    db_read(sb, 250, 300, 0)
    assert any("DB_PENDING reads 0" in e for e in sb.errors)


# --- FIFO count: OVERFLOW, RX_STATUS, counters -------------------------------------
def msg(dev=1, words=2):
    """A legal to-driver response (GET_DEVICE_STATUS) written as `words` words."""
    slot = bytes([0x01, 0x07]) + dev.to_bytes(2, "little") + (10).to_bytes(2, "little") + bytes(4)
    return slot.ljust(64, b"\0"), 4 * words


def commit(sb, start, end, dev=1):
    slot, length = msg(dev)
    sb.write(MboxEvent("commit", "dev", end, start, slot=slot, length=length))


def pop(sb, start, end, dev=1, whole=False):
    slot, length = msg(dev)
    words = range(16) if whole else range(3)
    sb.write(MboxEvent("pop", "drv", end, start, slot=slot, length=length, read_words=frozenset(words)))


def event_pop(sb, start, end):
    slot = bytes([0x00, 0x42, 1, 0, 10, 0, 0, 0, 0, 0]).ljust(64, b"\0")
    sb.write(MboxEvent("pop", "drv", end, start, slot=slot, length=12, read_words=frozenset(range(3))))


def rx_status(sb, start, end, count, empty=None):
    empty = count == 0 if empty is None else empty
    sb.write(MboxEvent("rx_status", "drv", end, start, value=count | int(empty) << 9))


def fill(sb, n, t=0):
    for i in range(n):
        commit(sb, t + 10 * i, t + 10 * i + 5)


def test_commit_after_a_pop_of_a_full_fifo(sb):
    fill(sb, 8)
    pop(sb, 100, 110)        # the pop's B comes first: the commit saw 7 messages
    commit(sb, 105, 120)
    for i in range(8):
        pop(sb, 200 + 20 * i, 210 + 20 * i)
    assert sb.problems() == []


def test_overfull_commit_with_a_pop_in_flight_is_an_error(sb):
    # A commit the mailbox takes after a pop is answered after it: a commit answered before the
    # pop's response was taken before the pop, into a full FIFO.
    fill(sb, 8)
    commit(sb, 100, 120)
    pop(sb, 110, 130)
    assert any("into a full to_driver FIFO" in p for p in sb.problems()), sb.problems()


def test_overfull_commit_not_forgiven_by_an_event_pop(sb):
    from pyuvm import ConfigDB
    ConfigDB().set(None, sb.get_full_name(), "ENGINE_EVENTS", lambda t: [(1, 0)])  # the checker expects it
    fill(sb, 8)
    event_pop(sb, 100, 110)  # an event head frees no FIFO slot
    commit(sb, 105, 120)
    assert any("into a full to_driver FIFO" in p for p in sb.problems()), sb.problems()


def reject(sb, start, end, dev=1):
    slot, length = msg(dev)
    sb.write(MboxEvent("reject", "dev", end, start, slot=slot, length=length))


@pytest.mark.parametrize("accepted", [False, True])
@pytest.mark.parametrize("pop_first", [True, False])
def test_overflow_with_a_pop_answered_in_the_same_cycle(sb, pop_first, accepted):
    # commit and pop taken in one cycle: the commit saw DEPTH messages (both B responses at
    # 130), whichever event the scoreboard gets first; so it must be refused, and accepting it
    # is an error
    fill(sb, 8)
    if pop_first:
        pop(sb, 110, 130)
    (commit if accepted else reject)(sb, 100, 130)
    if not pop_first:
        pop(sb, 110, 130)
    if accepted:
        assert any("into a full to_driver FIFO" in p for p in sb.problems()), sb.problems()
        return
    assert sb.errors == [] and sb.counts["dev"]["TX_REJ_OVERFLOW"] == 1
    for i in range(7):
        pop(sb, 200 + 20 * i, 210 + 20 * i)
    assert sb.problems() == []


def test_overflow_after_a_pop_answered_earlier_is_an_error(sb):
    fill(sb, 8)
    pop(sb, 100, 120)        # answered before the commit's response: taken before the commit
    reject(sb, 100, 130)
    assert any("refused" in e and "rules accept" in e for e in sb.errors), sb.errors


def test_accepted_with_a_pop_answered_in_the_same_cycle_is_an_error(sb):
    fill(sb, 8)
    pop(sb, 110, 130)        # taken in the commit's cycle: the FIFO was full for the commit
    commit(sb, 100, 130)
    for i in range(8):
        pop(sb, 200 + 20 * i, 210 + 20 * i)
    assert any("DEPTH" in p for p in sb.problems()), sb.problems()


def test_whole_slot_read_sees_zero_fill(sb):
    commit(sb, 0, 10)
    slot, length = msg()
    bad = bytearray(slot)
    bad[40] = 0x5A           # a byte beyond HEAD_LEN that is not zero
    sb.write(MboxEvent("pop", "drv", 30, 20, slot=bytes(bad), length=length, read_words=frozenset(range(16))))
    assert any("unexpected message" in p for p in sb.problems())


def test_rx_status_count_within_what_was_committed(sb):
    fill(sb, 3)
    rx_status(sb, 100, 110, 3)
    commit(sb, 105, 150)     # B well after the read: it may still have been counted (slack)
    rx_status(sb, 300, 310, 4)
    rx_status(sb, 400, 410, 5)   # 4 messages (+1 for a possible event head) : 5 allowed
    sb.allow_leftover = True
    assert sb.problems() == []


def test_rx_status_missing_message_is_reported(sb):
    fill(sb, 3)
    rx_status(sb, 100, 110, 2)
    assert any("RX_STATUS" in p for p in sb.problems()), sb.problems()


def test_rx_status_empty_with_a_message_waiting_is_reported(sb):
    fill(sb, 1)
    rx_status(sb, 100, 110, 1, empty=True)
    assert any("RX_STATUS" in p for p in sb.problems())


def test_counters_predicted(sb):
    fill(sb, 2)
    pop(sb, 100, 110)
    sb.write(MboxEvent("underflow", "dev", 120, 115))
    kick(sb, 200, 210)
    kick(sb, 220, 230)       # bit still set: coalesced
    db_read(sb, 240, 250, 1 << BIT)
    db_clear(sb, 260, 270)
    kick(sb, 265, 280)       # races the clear: coalesced or not
    db_read(sb, 290, 300, 1 << BIT)
    c = sb.expected_counters()
    assert c["dev"]["TX_ACCEPTED"] == (2, 2) and c["drv"]["RX_POPPED"] == (1, 1)
    assert c["dev"]["RX_UNDERFLOW"] == (1, 1) and c["drv"]["TX_DOORBELLS"] == (3, 3)
    assert c["dev"]["DB_KICKS"] == (3, 3) and c["dev"]["DB_COALESCED"] == (1, 2)


def db_data(sb, start, end, value):
    sb.write(MboxEvent("db_data", "dev", end, start, code=BIT, value=value))


def data_errors(sb):
    return [p for p in sb.problems() if "DB_DATA" in p]


def test_db_data_read_after_the_kick_sees_its_data(sb):
    kick(sb, 100, 200, data=4)
    db_data(sb, 210, 260, 4)
    assert not data_errors(sb), sb.problems()
    db_data(sb, 270, 320, 0)
    assert data_errors(sb), "a read begun after the kick's response returned the data before it"


def test_db_data_read_begun_before_the_kick_response_may_see_the_data_before(sb):
    kick(sb, 100, 200, data=0)
    kick(sb, 300, 400, data=4)
    db_data(sb, 390, 410, 0)   # began before the second commit's response: either value
    db_data(sb, 395, 415, 4)
    assert not data_errors(sb), sb.problems()
    db_data(sb, 395, 420, 7)   # but nothing else
    assert data_errors(sb)
