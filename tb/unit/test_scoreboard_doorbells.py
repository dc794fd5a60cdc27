"""The mailbox scoreboard's doorbell rules, on hand-made event sequences (no simulator).

A kick counts as seen by the device side when a DB_PENDING read that began after the kick's
commit began shows the bit set: such a read may complete before the commit's own B response,
since the bit is set before the response leaves. A read that began before the commit began
cannot vouch for it; a read that began after the commit's response and shows 0 is an error."""
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


def test_bit_without_any_kick_is_reported(sb):
    db_read(sb, 50, 80, 1 << BIT)
    assert any("without any kick" in p for p in sb.problems())


def test_pending_reads_zero_after_kick_is_an_error(sb):
    kick(sb, 100, 200)
    db_read(sb, 250, 300, 0)
    assert any("DB_PENDING reads 0" in e for e in sb.errors)
