"""Constrained-random sequences over the whole system.

All randomness comes from Python's `random`, which cocotb seeds from the test's
seed, so the same seed replays the same run. The sequences are pyuvm virtual
sequences: they drive the driver model and the device model, whose register
and message traffic runs as items on the two port agents.

- `random_devices`: a random device set (count, types, feature sets, config
  sizes, queue counts and sizes);
- `DeviceOpsSeq`: a random order of legal operations on one device (config
  reads and writes with their generation, status reads, pings, I/O through
  the virtqueues, I/O polled with used-buffer notifications off, extra kicks,
  device reset and re-probe); NOTIFICATION_DATA is offered at random and the
  driver uses the corrected computation (kicks accepted) or the seed's (every
  kick refused with DB_RANGE, declared and checked);
- `DeviceSideSeq`: the device side changing config, hot-plugging new devices
  and removing idle ones;
- `BadInputSeq`: malformed messages from either side mixed into the traffic;
- `SystemVseq`: all of them at once on a random device set.
Every operation checks its own outcome against the device model (what the
device holds) or the test's shadow state (what the driver wrote).
"""

from __future__ import annotations

import errno
import random
from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import Lock, Timer
from cocotb_coverage.coverage import CoverPoint
from pyuvm import uvm_sequence

from ..env import mbox_ref as ref
from ..env.coverage import sample_op
from ..models import BlkDevice, BlkDriver, GenericDevice, GenericDriver, RngDevice, RngDriver, VqInfo
from ..bfm.axil import SLVERR
from ..models.blk_defs import BLK_CFG_WCE, VIRTIO_BLK_F_CONFIG_WCE
from ..models.devices import rng_stream
from ..models.driver import NOTIFY_DATA_FIXED, NOTIFY_DATA_RFC
from ..models.drivers import BlkRequest, RngRequest
from ..models.errors import VirtioError
from ..proto.constants import Feature, feature_bit
from .mailbox_seqs import MessageFactory
from .transport_seqs import (ConfigChangeSeq, DeviceResetSeq, GetConfigSeq, GetStatusSeq, HotplugSeq, NotifySeq,
                             PingSeq, SetConfigSeq, UnplugSeq)

SECTOR = 512
VERSION_1 = feature_bit(Feature.VERSION_1)
EVENT_IDX = feature_bit(Feature.RING_EVENT_IDX)
NOTIF_DATA = feature_bit(Feature.NOTIFICATION_DATA)
BLK_F_FLUSH = 1 << 9
BLK_F_CONFIG_WCE = 1 << VIRTIO_BLK_F_CONFIG_WCE
GENERIC_BASE_ID = 0x60  # generic devices get ids 0x60.. so that each has its own driver spec


# --- system-level coverage, sampled from what crossed the mailbox (the message trace) ---------
RING_BINS = ["1", "2-64", "128-16384", "32768"]


def _ring_bin(size: int) -> str:
    return "1" if size == 1 else "2-64" if size <= 64 else "128-16384" if size < 32768 else "32768"


@CoverPoint("vmsg.sys.kick", xf=lambda kind: kind, bins=["plain", "data_fixed", "data_rfc_refused"])
def sample_sys_kick(kind: str) -> None:
    """A kick of the driver at system level: an EVENT_AVAIL taken as a doorbell without
    notification data (plain) or with it (data_fixed, the corrected computation), or the seed's
    NOTIFICATION_DATA computation refused by the mailbox (its index has bits 15:0 all ones)."""


@CoverPoint("vmsg.sys.doorbell_word", xf=lambda word: word, bins=[0, 1, 2])
def sample_doorbell_word(word: int) -> None:
    """The DB_PENDING word (doorbell index // 32) of an accepted kick: words 1 and 2 exist only
    with more than 32 doorbells (the `many` configuration: 48 devices x 2 queues)."""


@CoverPoint("vmsg.sys.dev_num", xf=lambda n: "0-7" if n < 8 else "8+", bins=["0-7", "8+"])
def sample_dev_num(n: int) -> None:
    """A device number answered by a DEVICE_INFO response with a device (NUM_DEVS > 8 needed for 8+)."""


@CoverPoint("vmsg.sys.ring_size", xf=lambda size: _ring_bin(size), bins=RING_BINS)
def sample_ring_size(size: int) -> None:
    """The size of a ring the driver set up (SET_VQUEUE accepted by the mailbox)."""


def sample_wire_coverage(test) -> None:
    """System-level coverage from the message trace (what the mailbox accepted or refused, decoded):
    kicks (plain or with notification data) and their DB_PENDING word, ring sizes of
    SET_VQUEUE, device numbers of DEVICE_INFO responses. Call once, at the end of a test."""
    num_vqs = test.params["NUM_VQS"]
    for r in test.env.trace.records:
        if "payload" not in r:
            continue
        pl, name = r["payload"], r.get("name", "")
        if r.get("rejected"):
            # the seed's NOTIFICATION_DATA kick: index = (avail idx << 16 | queue) | 0xFFFF
            if r["dir"] == "to_device" and name == "EVENT_AVAIL" and pl["index"] & 0xFFFF == 0xFFFF:
                sample_sys_kick("data_rfc_refused")
            continue
        if r["dir"] == "to_device" and r["doorbell"]:
            sample_doorbell_word((r["dev_id"] * num_vqs + pl["index"]) // 32)
            sample_sys_kick("data_fixed" if pl["next_offset_wrap"] else "plain")
        elif r["dir"] == "to_device" and name == "SET_VQUEUE":
            sample_ring_size(pl["size"])
        elif r["dir"] == "to_driver" and name == "DEVICE_INFO response" and pl.get("device_id"):
            sample_dev_num(r["dev_id"])


@dataclass
class DeviceRecord:
    """What the test knows of one device: its model, kind and the expected data."""

    dev_num: int
    kind: str                     # blk | rng | generic
    model: object
    lock: Lock = field(default_factory=Lock)
    reset_lock: Lock = field(default_factory=Lock)  # held by a device reset (an unplug under I/O waits)
    shadow: bytearray | None = None   # blk: what the driver wrote and got acknowledged
    # blk: writes submitted and not (yet) acknowledged, by a token: (first sector, data). A
    # peripheral reset leaves those sectors uncertain (the device may or may not have done them).
    writes_in_flight: dict = field(default_factory=dict)
    # blk, after a reset: sector -> the contents it may hold (the acknowledged one first)
    uncertain: dict = field(default_factory=dict)
    rng_seed: int = 0
    rng_read: int = 0                 # rng: bytes the driver has taken from the stream
    rng_in_flight: int = 0            # rng: bytes asked for and not yet delivered
    rng_positions: set | None = None  # rng, after a reset: where in the stream the device may be
    present: bool = True
    # NOTIFICATION_DATA offered: which computation the driver's transport uses (None: not offered).
    # NOTIFY_DATA_RFC: the seed's byte-exact one, whose every kick the peripheral refuses (DB_RANGE):
    # such a device gets no I/O (nothing could ever reach it), only kicks that must be refused.
    notify_mode: str | None = None
    rfc_waiver: bool = False          # the refused kicks' transport errors are declared

    @property
    def kicks_refused(self) -> bool:
        return self.notify_mode == NOTIFY_DATA_RFC


def queues_of(rec: DeviceRecord) -> int:
    return len(rec.model.queues)


def random_device(dev_num: int, num_vqs: int, kind: str | None = None, max_queues: int = 64,
                  big_ring: bool = False) -> DeviceRecord:
    """A random device using at most max_queues virtqueues (each takes an engine queue).
    Queue sizes are powers of two up to 64; with big_ring the first queue is a large one (128
    up to 32768, the largest a split ring may be). NOTIFICATION_DATA is offered at times, the
    driver then using the corrected computation (mostly) or the seed's."""
    kind = kind or random.choice(["blk", "rng", "generic", "generic"])
    qsize = lambda: 1 << random.randint(0, 6)  # noqa: E731 - any power of two up to 64
    first = (lambda: random.choice([128, 4096, 32768, 32768])) if big_ring else qsize
    notif = random.random() < 0.4
    mode = random.choice([NOTIFY_DATA_FIXED, NOTIFY_DATA_RFC]) if notif else None
    if kind == "blk":
        cap = random.choice([8, 32, 64])
        model = BlkDevice(capacity=cap, queue_size=max(4, first()),
                          features=VERSION_1 | BLK_F_FLUSH | (EVENT_IDX if random.random() < 0.5 else 0)
                          | (BLK_F_CONFIG_WCE if random.random() < 0.5 else 0) | (NOTIF_DATA if notif else 0))
        return DeviceRecord(dev_num, kind, model, shadow=bytearray(cap * SECTOR), notify_mode=mode)
    if kind == "rng":
        seed = random.randrange(1 << 30)
        return DeviceRecord(dev_num, kind, RngDevice(queue_size=first(), event_idx=random.random() < 0.5, seed=seed,
                                                     notification_data=notif),
                            rng_seed=seed, notify_mode=mode)
    features = VERSION_1 | sum(1 << b for b in random.sample(range(24), random.randint(0, 5)))
    if random.random() < 0.5:
        features |= EVENT_IDX
    if notif:
        features |= NOTIF_DATA
    config = random.randbytes(random.choice([0, 4, 12, 40, 64]))
    queues = [qsize() for _ in range(random.randint(1, max(1, min(num_vqs, max_queues))))]
    queues[0] = first()
    model = GenericDevice(GENERIC_BASE_ID + dev_num, features, config, queues)
    return DeviceRecord(dev_num, kind, model, notify_mode=mode)


def driver_factories(records: dict[int, DeviceRecord], wait_until) -> dict:
    """Device id -> driver factory: blk and rng drivers, and a driver per generic device that
    asks for all of its queues and takes every offered feature below 24. Each driver's
    validate hook (run after the features are written, before the queues exist) sets which
    NOTIFICATION_DATA computation its transport uses, from the device's record."""
    async def validate(core) -> None:
        rec = records.get(core.transport.dev_id)
        if rec is not None and rec.notify_mode is not None:
            core.transport.notify_data = rec.notify_mode

    def with_mode(drv):
        drv.validate = validate
        return drv

    out = {2: lambda: with_mode(BlkDriver(wait_until=wait_until)), 4: lambda: with_mode(RngDriver(wait_until=wait_until))}
    for r in records.values():
        if r.kind == "generic":
            m = r.model
            out[m.device_id] = (lambda m=m: with_mode(GenericDriver(
                feature_table=list(range(24)), queues=[VqInfo(f"q{i}") for i in range(len(m.queues))],
                config_read_len=len(m.config))))
    return out


class DeviceOpsSeq(uvm_sequence):
    """A random order of legal operations on one device (the kernel serialises requests per
    device: so does this sequence)."""

    def __init__(self, name: str, test, rec: DeviceRecord, n_ops: int):
        super().__init__(name)
        self.t = test
        self.rec = rec
        self.n_ops = n_ops
        self.done: list[str] = []

    async def body(self):
        for _ in range(self.n_ops):
            async with self.rec.lock:
                core = self.t.bus_driver.devices.get(self.rec.dev_num)
                if not self.rec.present or core is None or not core.probed:
                    return
                op = random.choices(
                    ["config_read", "config_write", "status", "ping", "io", "poll_io", "kick", "reset",
                     "reset_in_flight"],
                    weights=[3, 2, 2, 1, 4, 1, 1, 1, 1])[0]
                try:
                    # each operation returns what it actually sent (a fallback when the device
                    # cannot take the one drawn), which is what is counted
                    done = await getattr(self, f"_{op}")(core)
                except (VirtioError, AssertionError):
                    if self.rec.present:
                        raise
                    return  # unplugged under this operation: its failure is the expected outcome
                if done is not None:
                    sample_op(done, self.rec.kind)
                    self.done.append(done)
            await Timer(random.randint(1, 2000), unit="ns")

    async def _config_read(self, core):
        m = self.rec.model
        if not m.config_size:
            return await self._status(core)
        off = random.randrange(m.config_size)
        await GetConfigSeq(core, off, random.randint(1, m.config_size - off), device=m).start()
        return "config_read"

    async def _config_write(self, core):
        """SET_CONFIG of bytes the device lets the driver write: any of a generic device's, the
        writeback byte of a blk device that negotiated CONFIG_WCE (virtio-blk: the only
        driver-writable field); otherwise a read."""
        m = self.rec.model
        if self.rec.kind == "generic" and m.config_size:
            off = random.randrange(m.config_size)
            data = random.randbytes(random.randint(1, m.config_size - off))
        elif self.rec.kind == "blk" and core.has_feature(VIRTIO_BLK_F_CONFIG_WCE):
            off, data = BLK_CFG_WCE, bytes([random.randint(0, 1)])
        else:
            return await self._config_read(core)
        await SetConfigSeq(core, off, data, device=m).start()
        return "config_write"

    async def _status(self, core):
        await GetStatusSeq(core, device=self.rec.model).start()
        return "status"

    async def _ping(self, core):
        await PingSeq(self.t.bus_driver, random.randrange(1 << 32)).start()
        return "ping"

    async def _io(self, core):
        rec, drv = self.rec, core.driver
        if rec.kicks_refused or rec.kind == "generic":
            return await self._kick(core)
        if rec.kind == "blk":
            cap = len(rec.shadow) // SECTOR
            count = random.randint(1, min(4, cap))
            sector = random.randrange(cap - count + 1)
            if random.random() < 0.5:
                data = random.randbytes(count * SECTOR)
                token = object()
                rec.writes_in_flight[token] = (sector, data)
                await drv.write(sector, data, segments=random.randint(1, 2))
                del rec.writes_in_flight[token]
                rec.shadow[sector * SECTOR:(sector + count) * SECTOR] = data
            else:
                got = await drv.read(sector, count)
                assert got == bytes(rec.shadow[sector * SECTOR:(sector + count) * SECTOR]), \
                    f"dev {rec.dev_num}: blk read differs from what was written"
        else:
            sizes = [random.randint(1, 128) for _ in range(random.randint(1, 4))]
            rec.rng_in_flight = sum(sizes)
            got = b"".join(await drv.read_many(sizes))
            rec.rng_in_flight = 0
            self._check_rng(got)
        return "io"

    def _check_rng(self, got: bytes) -> None:
        rec = self.rec
        if rec.rng_positions is not None:  # after a reset: the stream from one of these positions
            stream = rng_stream(rec.rng_seed, max(rec.rng_positions) + len(got))
            fits = {pos for pos in rec.rng_positions if stream[pos:pos + len(got)] == got}
            assert fits, f"dev {rec.dev_num}: rng bytes after the reset are not the device's stream"
            rec.rng_positions = {pos + len(got) for pos in fits} if len(fits) > 1 else None
            rec.rng_read = min(fits) + len(got)
        else:
            expect = rng_stream(rec.rng_seed, rec.rng_read + len(got))[rec.rng_read:]
            rec.rng_read += len(got)
            assert got == expect, f"dev {rec.dev_num}: rng bytes differ from the device's stream"

    async def _poll_io(self, core):
        """I/O with used-buffer notifications off, as a polling driver does it: with EVENT_IDX
        off, virtqueue_disable_cb publishes VRING_AVAIL_F_NO_INTERRUPT before the requests go
        out; the driver reaps the used ring itself (virtqueue_get_buf) until every request is
        back, then virtqueue_enable_cb. The engine must decide every one of these completions
        without an event (the oracle requires none: the engine checker fails on any). With
        EVENT_IDX, or a device that cannot do I/O, it is plain I/O."""
        rec, drv = self.rec, core.driver
        if rec.kicks_refused or rec.kind == "generic" or drv.vqs[0].event:
            return await self._io(core)
        vq = drv.vqs[0]
        if rec.kind == "blk":
            cap = len(rec.shadow) // SECTOR
            n = min(random.randint(1, 4), max(1, vq.num // 3), cap)
            reqs, writes = [], {}
            for sector in random.sample(range(cap), n):
                if random.random() < 0.5:
                    data = random.randbytes(SECTOR)
                    req = BlkRequest.write(sector, data)
                    token = object()
                    rec.writes_in_flight[token] = (sector, data)
                    writes[id(req)] = (token, data)
                else:
                    req = BlkRequest.read(sector, 1)
                reqs.append(req)
        else:
            reqs = [RngRequest(in_len=random.randint(1, 128)) for _ in range(random.randint(1, min(4, vq.num)))]
            rec.rng_in_flight = sum(r.in_len for r in reqs)

        def reap() -> None:  # virtqueue_get_buf until empty, callbacks left off
            drv.reap(vq)

        async def submit():
            # The submission's failure is returned, and raised below by this sequence, which
            # polls the task instead of awaiting it: a task that raises while nothing awaits it
            # fails the whole test at once (cocotb), before the caller can judge the failure
            # (a request aborted because the device was unplugged under it is expected).
            try:
                await drv.submit(reqs)
            except (VirtioError, AssertionError) as exc:
                return exc
            return None

        vq.disable_cb()
        sub = cocotb.start_soon(submit())
        self.t.tasks.append(sub)  # a peripheral reset stops it with the rest of the traffic
        while not sub.done():
            await Timer(random.randint(100, 1500), unit="ns")
            if not (vq.deleted or vq.broken):
                reap()
        failure = await sub
        if failure is not None:
            raise failure
        if not vq.enable_cb():
            reap()
        if rec.kind == "blk":
            for req in reqs:
                lo, hi = req.sector * SECTOR, (req.sector + 1) * SECTOR
                if id(req) in writes:
                    token, data = writes[id(req)]
                    del rec.writes_in_flight[token]
                    rec.shadow[lo:hi] = data
                else:
                    assert req.result == bytes(rec.shadow[lo:hi]), \
                        f"dev {rec.dev_num}: polled blk read of sector {req.sector} differs"
        else:
            rec.rng_in_flight = 0
            self._check_rng(b"".join(r.result for r in reqs))
        return "io"

    async def _kick(self, core):
        """An extra EVENT_AVAIL (virtqueue_notify). With the seed's NOTIFICATION_DATA computation
        the peripheral refuses it (DB_RANGE): the notify must fail and mark the queue broken (as
        virtqueue_notify does; a broken queue sends nothing more until a reset sets it up
        again), the error the transport logs is declared."""
        vqs = [vq for vq in core.transport.vqs if vq is not None]
        if not vqs:
            return None
        vq = random.choice(vqs)
        if not self.rec.kicks_refused:
            await NotifySeq(core, vq).start()
            return "kick"
        if vq.broken:
            return None  # nothing is sent
        rec = self.rec
        if not rec.rfc_waiver:
            rec.rfc_waiver = True
            self.t.expect_error(lambda src, e, dev=rec.dev_num: getattr(src, "dev_id", None) == dev
                                and getattr(e, "errno", None) == errno.EIO and "DB_RANGE" in str(e),
                                f"dev {rec.dev_num}: kicks with the seed's NOTIFICATION_DATA fields are refused",
                                min_count=0)
        n_err = len(core.transport.errors)
        ok = await vq.notify()
        assert not ok and vq.broken, f"dev {rec.dev_num}: a kick with the seed's NOTIFICATION_DATA fields was accepted"
        errs = core.transport.errors[n_err:]
        assert errs and "DB_RANGE" in str(errs[-1]), f"dev {rec.dev_num}: refused kick logged {errs}"
        return "kick"

    async def _reset(self, core):
        """Device reset by the driver (status 0, RESET_VQUEUE of every queue) and a new probe."""
        async with self.rec.reset_lock:
            await DeviceResetSeq(self.t.bus_driver, self.rec.dev_num).start()
        return "reset"

    async def _reset_in_flight(self, core):
        """Device reset (status 0, RESET_VQUEUE of every queue) while this very device has I/O,
        kicks and EVENT_USED in flight, then a new probe. Requests the reset swallowed end with
        EIO; a write among them may or may not have reached the disk (read back and checked)."""
        rec, t = self.rec, self.t
        vqs = [vq for vq in core.transport.vqs if vq is not None]
        if rec.kicks_refused:  # no I/O can reach such a device: its refused kicks are what is in flight
            burst = cocotb.start_soon(self._kicks(core, random.randint(1, 4)))
        elif rec.kind == "blk":
            burst = cocotb.start_soon(self._blk_burst(core))
        elif rec.kind == "rng":
            burst = cocotb.start_soon(self._rng_burst(core))
        else:
            burst = cocotb.start_soon(self._kicks(core, random.randint(1, 4)))
        t.tasks.append(burst)  # a peripheral reset stops it with the rest of the traffic
        delay = random.randint(0, 2500)  # 0: at once (a cocotb Timer must be positive)
        if delay:
            await Timer(delay, unit="ns")
        outstanding = sum(vq.num - vq.num_free for vq in vqs)
        t.stats["reset_in_flight"] += 1
        t.stats["reset_with_buffers_out"] += outstanding > 0
        async with rec.reset_lock:
            if vqs and random.random() < 0.5:
                # RESET_VQUEUE of one busy queue first (as virtqueue_reset starts), then the
                # device reset that brings the device back.
                t.stats["reset_vqueue_in_flight"] += 1
                await core.transport._vq_reset(random.choice(vqs))
            await DeviceResetSeq(t.bus_driver, rec.dev_num).start()
        await burst
        new = t.bus_driver.devices.get(rec.dev_num)
        if rec.kind == "blk" and rec.uncertain and new is not None and new.probed:
            await settle_blk(rec, new.driver)
        return "reset"

    async def _kicks(self, core, n: int):
        for _ in range(n):
            await self._kick(core)
        return "kick"

    async def _blk_burst(self, core):
        """One-sector requests to distinct sectors, all in flight at once."""
        rec, drv = self.rec, core.driver
        vq = core.transport.vqs[0]
        cap = len(rec.shadow) // SECTOR
        n = min(random.randint(2, 6), vq.num_free // 3, cap)
        if n < 1:
            return
        reqs, tokens = [], {}
        for sector in random.sample(range(cap), n):
            if random.random() < 0.5:
                data = random.randbytes(SECTOR)
                req = BlkRequest.write(sector, data)
                tokens[id(req)] = object()
                rec.writes_in_flight[tokens[id(req)]] = (sector, data)
            else:
                req = BlkRequest.read(sector, 1)
            reqs.append(req)
        try:
            await drv.submit(reqs, check=False)
        except VirtioError:
            pass  # the queue went away under the submission: every request counts as aborted
        for req in reqs:
            token = tokens.get(id(req))
            lo, hi = req.sector * SECTOR, (req.sector + 1) * SECTOR
            if not req.done or req.aborted:
                if token is not None:  # swallowed by the reset: landed or not
                    _first, data = rec.writes_in_flight.pop(token)
                    rec.uncertain.setdefault(req.sector, [bytes(rec.shadow[lo:hi])]).append(data)
                continue
            assert req.status == 0, f"dev {rec.dev_num}: blk request ended with status {req.status}"
            if token is not None:
                _first, data = rec.writes_in_flight.pop(token)
                rec.shadow[lo:hi] = data
                rec.uncertain.pop(req.sector, None)
            else:
                allowed = rec.uncertain.get(req.sector, [bytes(rec.shadow[lo:hi])])
                assert req.result in allowed, f"dev {rec.dev_num}: blk read of sector {req.sector} differs"

    async def _rng_burst(self, core):
        rec, drv = self.rec, core.driver
        vq = core.transport.vqs[0]
        n = min(random.randint(1, 4), vq.num_free)
        if n < 1:
            return
        reqs = [RngRequest(in_len=random.randint(1, 128)) for _ in range(n)]
        rec.rng_in_flight = sum(r.in_len for r in reqs)
        try:
            await drv.submit(reqs, check=False)
        except VirtioError:
            pass
        rec.rng_in_flight = 0
        got = b"".join(r.result for r in reqs if r.done and not r.aborted)
        lost = sum(r.in_len for r in reqs if not r.done or r.aborted)
        positions = rec.rng_positions or {rec.rng_read}
        stream = rng_stream(rec.rng_seed, max(positions) + len(got))
        fits = {pos for pos in positions if stream[pos:pos + len(got)] == got}
        assert fits, f"dev {rec.dev_num}: rng bytes differ from the device's stream"
        if lost:  # the device may have filled buffers whose completion the reset swallowed
            rec.rng_positions = {pos + len(got) + k for pos in fits for k in range(lost + 1)}
        else:
            rec.rng_positions = {pos + len(got) for pos in fits} if len(fits) > 1 else None
        rec.rng_read = min(fits) + len(got)


async def underflow_pops(test) -> int:
    """Pops of an empty FIFO on both ports of the running system, at a moment nothing can
    arrive in either FIFO (before discovery, or after a peripheral reset before software starts
    again: no request is out, so no response, event or doorbell can come). Each must answer
    SLVERR and change nothing (the scoreboard checks that no message waited and counts
    RX_UNDERFLOW against the design's counter). Returns the number of pops."""
    n = 0
    for ops in random.sample([test.drv_ops, test.dev_ops], 2):
        for _ in range(random.randint(1, 2)):
            status = await ops.read("RX_STATUS")
            assert ops.regs.get("RX_STATUS", "EMPTY", status), "a FIFO holds a message although nothing was sent"
            resp = await ops.write("RX_CTRL", ops.regs.value("RX_CTRL", POP=1), check=False)
            assert resp == SLVERR, f"pop of an empty FIFO answered resp {resp}, not SLVERR"
            n += 1
    return n


async def settle_blk(rec: DeviceRecord, drv) -> int:
    """Read the sectors a swallowed write may have changed through the driver: each must hold
    the acknowledged contents or that write's; the shadow takes what was read."""
    n = len(rec.uncertain)
    for s, allowed in sorted(rec.uncertain.items()):
        got = await drv.read(s, 1)
        if got not in allowed:
            raise AssertionError(f"dev {rec.dev_num} sector {s} holds data the driver never wrote there "
                                 f"({len(allowed)} allowed value(s))")
        rec.shadow[s * SECTOR:(s + 1) * SECTOR] = got
    rec.uncertain = {}
    return n


class IdxWrapSeq(uvm_sequence):
    """One blk device's queue past 65536 completions (used->idx and avail->idx wrap past 65535)
    while the rest of the system runs: flush requests in batches of half the ring (two
    descriptors each), polled with VRING_AVAIL_F_NO_INTERRUPT when EVENT_IDX is off (no
    EVENT_USED at all: the engine must suppress every notification), through the queue
    callback when it is on. The device is kept out of the random operations (no reset, no
    removal), so its ring is never set up again."""

    def __init__(self, name: str, test, dev_num: int, total: int = 65536 + 256):
        super().__init__(name)
        self.t, self.dev_num, self.total = test, dev_num, total
        self.completed = 0

    async def body(self):
        core = self.t.bus_driver.devices[self.dev_num]
        drv = core.driver
        vq = drv.vqs[0]
        poll = not vq.event

        def reap() -> None:  # virtqueue_get_buf until empty, callbacks left off
            drv.reap(vq)

        if poll:
            vq.disable_cb()
        while self.completed < self.total:
            n = min(vq.num // 2, self.total - self.completed)
            reqs = [BlkRequest.flush() for _ in range(n)]
            sub = cocotb.start_soon(drv.submit(reqs))
            self.t.tasks.append(sub)
            while poll and not sub.done():
                await Timer(random.randint(500, 3000), unit="ns")
                reap()
            await sub
            assert all(r.status == 0 for r in reqs), f"dev {self.dev_num}: a flush failed"
            self.completed += n
        if poll and not vq.enable_cb():
            reap()
        used = self.t.mem.read_u16(vq.used_addr + 2)
        assert used == self.total & 0xFFFF and vq.last_used_idx & 0xFFFF == used, \
            f"dev {self.dev_num}: used->idx {used} after {self.total} completions"
        sample_op("io", "blk")


class DeviceSideSeq(uvm_sequence):
    """The device side at random: config changes (generation, EVENT_CONFIG), hot-plug of new
    devices at free numbers, removal of devices (waiting for their current operation)."""

    def __init__(self, name: str, test, records: dict[int, DeviceRecord], n_events: int, num_devs: int):
        super().__init__(name)
        self.t = test
        self.records = records
        self.n_events = n_events
        self.num_devs = num_devs
        self.ops_seqs: list = []
        self.reserved_queues = 0  # engine queues taken by devices outside the records

    async def body(self):
        t = self.t
        for _ in range(self.n_events):
            await Timer(random.randint(500, 6000), unit="ns")
            present = [r for r in self.records.values() if r.present]
            choice = random.random()
            if choice < 0.5 and present:
                rec = random.choice(present)
                if rec.model.config_size:
                    off = random.randrange(rec.model.config_size)
                    data = random.randbytes(random.randint(1, min(8, rec.model.config_size - off)))
                    if rec.kind == "blk":  # the capacity stays: it bounds the shadow disk
                        off, data = max(off, 8), data[: max(0, rec.model.config_size - max(off, 8))]
                    if data:
                        await ConfigChangeSeq(t.firmware, t.device_bus, rec.dev_num, off, data).start()
                        sample_op("device_config_change", rec.kind)
            elif choice < 0.8:
                # (a device of the test outside the records, such as IdxWrapSeq's, keeps its number
                # and its engine queue)
                free = [n for n in range(self.num_devs) if n not in self.records and n not in t.device_bus.devices]
                in_use = sum(queues_of(r) for r in self.records.values() if r.present)
                if free and in_use < t.params["ENG_QUEUES"] - self.reserved_queues:
                    rec = random_device(random.choice(free), t.params["NUM_VQS"], kind=random.choice(["blk", "rng"]))
                    self.records[rec.dev_num] = rec
                    await HotplugSeq(t.firmware, t.device_bus, rec.dev_num, rec.model).start()
                    ok = await t.wait_until_true(lambda: rec.dev_num in t.bus_driver.devices
                                                 and t.bus_driver.devices[rec.dev_num].probed)
                    assert ok, f"hot-plugged dev {rec.dev_num} never probed"
                    sample_op("hotplug", rec.kind)
                    seq = DeviceOpsSeq(f"ops{rec.dev_num}", t, rec, random.randint(2, 6))
                    task = cocotb.start_soon(seq.start())
                    self.ops_seqs.append(task)
                    t.tasks.append(task)  # a peripheral reset stops it with the rest of the traffic
            elif present and len(present) > 1:
                rec = random.choice(present)
                # Half the time the device goes while its own operations (I/O, kicks, EVENT_USED,
                # a reset) are in flight; otherwise between two of them.
                under_io = random.random() < 0.5
                await (rec.reset_lock if under_io else rec.lock).acquire()
                try:
                    rec.present = False
                    dev = rec.dev_num
                    # Requests to a device that is gone time out (bounded): its remove path, and a
                    # re-probe or request that was under way, for this device number only.
                    # (EBUSY: the removal's requests meet one of the device's own still in flight,
                    # which the transport model refuses where the kernel's mutex would queue it.)
                    t.expect_error(lambda src, e, dev=dev: e.errno in (errno.ETIMEDOUT, errno.EBUSY) and (
                                   getattr(src, "dev_id", None) == dev or f"dev_id {dev}" in str(e)),
                                   f"requests to unplugged dev {dev} time out", min_count=0)
                    t.stats["unplug_under_io" if under_io else "unplug_idle"] += 1
                    await UnplugSeq(t.firmware, t.device_bus, rec.dev_num).start()
                    # The lock is held until the removal is over, not only begun: the bus driver
                    # drops the device from `devices` when its remove path starts, and that path
                    # still has requests to the device in flight (each until it times out). The
                    # device's next operation (a re-probe: DEVICE_INFO of a new transport) must
                    # not meet them: the kernel's bus driver registers a device number only
                    # after virtio_msg_unregister of its previous device has returned.
                    ok = await t.wait_until_true(lambda: rec.dev_num not in t.bus_driver.devices
                                                 and rec.dev_num not in t.bus_driver.removing)
                    assert ok, f"removed dev {rec.dev_num} still registered"
                    sample_op("removal", rec.kind)
                finally:
                    (rec.reset_lock if under_io else rec.lock).release()


class BadInputSeq(uvm_sequence):
    """Malformed messages from either side, mixed into the traffic: each is refused with its
    code and never delivered (the scoreboard checks the rest)."""

    def __init__(self, name: str, test, n: int):
        super().__init__(name)
        self.t = test
        self.n = n

    async def body(self):
        t = self.t
        p = t.params
        for _ in range(self.n):
            await Timer(random.randint(1000, 8000), unit="ns")
            to_device = random.random() < 0.5
            ops = t.drv_ops if to_device else t.dev_ops
            fac = MessageFactory(to_device, p["MSG_SIZE"], p["NUM_DEVS"], p["NUM_VQS"])
            if to_device and random.random() < 0.25:
                built = fac.doorbell(in_range=False)
            else:
                built = fac.malformed(random.choice([ref.TYPE_RSVD, ref.TYPE_DIR, ref.SIZE_SMALL, ref.SIZE_LARGE]))
            item = await ops.send(built.slot)
            assert item.resp == 2 and item.error_code == built.intent, \
                f"bad input {built.slot[:8].hex()} answered resp {item.resp} code {item.error_code}, expected {built.intent}"
            sample_op(f"bad_{ref.CODE_NAMES[built.intent].lower()}", "driver" if to_device else "device")
