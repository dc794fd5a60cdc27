"""The device firmware's side of the used-index engine: a QueueBackend for the device model.

When the device model accepts SET_VQUEUE it asks for the queue to be served: the backend
takes a free engine queue, resets it, programs the used and avail ring addresses, the device
and queue numbers, the ring size and EVENT_IDX, and enables it. RESET_VQUEUE and device reset
reset the engine queue and free it once STATUS.RESETTING reads 0 (the reset's register ack
comes at once; RESETTING stays 1 until no transaction of the queue is in flight), so the
device's answer to the reset is committed only after every EVENT_USED of the old queue was
handed to the mailbox (docs/engine.md, queue reset). Completions go to the engine through the completion stream (hardware
back ends, `path="stream"`) or the firmware register path (`path="regs"`: CPL_ID, CPL_LEN,
CPL_PUSH, retried while the firmware FIFO is full). A completion of a queue the firmware has
reset meanwhile (a RESET_VQUEUE, a device reset or the device's removal racing with the device
still completing buffers of it) is discarded, as the reset discards pending queue work: it is
never pushed to the engine queue, which may already serve another ring.

A reset also discards the doorbells it overtook: on RESET_VQUEUE, a device reset or the
device's removal the firmware reads DB_PENDING and clears (W1C) the bits of the queues it
resets. A kick is turned into a pending bit when its EVENT_AVAIL is committed, so a kick the
driver sent before the reset is pending by the time the firmware pops the reset; doorbells
keep no order with messages, and without the discard the firmware could deliver it to the
next driver of the device, before DRIVER_OK (a kick the device model answers with
DEVICE_NEEDS_RESET). A driver sends no kick between the reset and its answer, so the clear
never drops a kick of the next driver.
"""

from __future__ import annotations

import errno
from collections import Counter

from cocotb.triggers import Lock, Timer

from ..bfm.axil import OKAY
from ..bfm.eng_ports import Completion, CplSource
from ..models.errors import VirtioError
from .port_ops import PortOps


class EngineBackend:
    def __init__(self, ops: PortOps, cpl: CplSource, num_q: int, num_vqs: int, retry_ns: float = 100,
                 timeout_ns: float = 200_000, reset_wait_ns: float = 2_000_000):
        self.ops = ops
        self.cpl = cpl
        self.num_vqs = num_vqs  # doorbell of (dev, vq): bit dev * num_vqs + vq of DB_PENDING
        self.discarded: list[tuple[int, int]] = []  # (dev, vq) doorbells a reset discarded
        self.free = list(range(num_q))
        self.queues: dict[tuple[int, int], int] = {}
        self.retry_ns = retry_ns
        self.timeout_ns = timeout_ns
        self.reset_wait_ns = reset_wait_ns  # longer than the engine's MEM_TIMEOUT (65536 cycles)
        self.calls: list[tuple] = []
        self.refused = 0  # CPL_PUSH answered SLVERR (FIFO full) and was retried
        self.dropped = 0  # completions of a queue the firmware reset meanwhile (discarded)
        self.resets: Counter = Counter()  # (dev, vq) -> resets of its engine queue so far
        self._cpl_regs = Lock()  # CPL_ID / CPL_LEN / CPL_PUSH belong together
        self.reported: set[int] = set()   # engine queues whose error state was reported
        self.error_log: list[dict] = []

    def _q(self, dev: int, vq: int) -> int:
        return self.queues[(dev, vq)]

    def _reg(self, q: int, name: str) -> str:
        return f"ENG.Q[{q}].{name}"

    async def configure_queue(self, dev: int, vq: int, size: int, desc: int, driver: int,
                              device: int, event_idx: bool) -> None:
        self.calls.append(("configure_queue", dev, vq, size, desc, driver, device, event_idx))
        if (dev, vq) in self.queues:
            await self._reset_engine_queue(dev, vq)  # a new ring, not a reset: the doorbell stays
        if not self.free:
            raise VirtioError(errno.ENOSPC, f"no free engine queue for dev {dev} vq {vq}")
        q = self.free.pop(0)
        self.queues[(dev, vq)] = q
        regs = self.ops.regs
        ctrl = self._reg(q, "CTRL")
        await self.ops.write(ctrl, regs.value(ctrl, RESET=1))
        await self.ops.write(self._reg(q, "USED_LO"), device & 0xFFFFFFFF)
        await self.ops.write(self._reg(q, "USED_HI"), device >> 32)
        await self.ops.write(self._reg(q, "AVAIL_LO"), driver & 0xFFFFFFFF)
        await self.ops.write(self._reg(q, "AVAIL_HI"), driver >> 32)
        await self.ops.write(self._reg(q, "DEV"), regs.value(self._reg(q, "DEV"), DEV_ID=dev, VQ_INDEX=vq))
        await self.ops.write(ctrl, regs.value(ctrl, ENABLE=1, EVENT_IDX=int(event_idx),
                                              SIZE_LOG2=size.bit_length() - 1))

    async def discard_doorbells(self, dev: int, vqs) -> None:
        """Clear the pending doorbells of these queues of dev (read DB_PENDING, W1C the bits
        found set): kicks sent before the reset being handled."""
        words: dict[int, int] = {}
        for vq in vqs:
            p = dev * self.num_vqs + vq
            words[p // 32] = words.get(p // 32, 0) | 1 << (p % 32)
        base = self.ops.regs.addr("DB_PENDING")
        for word, mask in sorted(words.items()):
            found = await self.ops.read(base + 4 * word) & mask
            if found:
                await self.ops.write(base + 4 * word, found)
                self.discarded += [divmod(word * 32 + b, self.num_vqs) for b in range(32) if found >> b & 1]

    async def reset_queue(self, dev: int, vq: int) -> None:
        """RESET_VQUEUE: the queue's doorbell and its engine queue."""
        await self.discard_doorbells(dev, [vq])
        await self._reset_engine_queue(dev, vq)

    async def _reset_engine_queue(self, dev: int, vq: int) -> None:
        self.calls.append(("reset_queue", dev, vq))
        q = self.queues.pop((dev, vq), None)
        if q is None:
            return
        self.resets[(dev, vq)] += 1
        ctrl = self._reg(q, "CTRL")
        await self.ops.write(ctrl, self.ops.regs.value(ctrl, RESET=1))
        await self._reset_done(q)
        self.reported.discard(q)
        self.free.append(q)

    async def _reset_done(self, q: int) -> None:
        """Poll STATUS.RESETTING until the queue's reset finished. A memory that never answers
        keeps it 1: after `reset_wait_ns` the reset counts as failed (VirtioError EIO), and
        the engine queue is not reused."""
        status = self._reg(q, "STATUS")
        waited = 0.0
        while self.ops.regs.get(status, "RESETTING", await self.ops.read(status)):
            if waited >= self.reset_wait_ns:
                raise VirtioError(errno.EIO, f"engine queue {q}: reset not finished after {waited:.0f} ns")
            await Timer(self.retry_ns, unit="ns")
            waited += self.retry_ns

    async def device_reset(self, dev: int) -> None:
        self.calls.append(("device_reset", dev))
        await self.discard_doorbells(dev, range(self.num_vqs))
        for d, vq in [k for k in self.queues if k[0] == dev]:
            await self._reset_engine_queue(d, vq)

    async def engine_errors(self) -> list[dict]:
        """ENG_ERR interrupt: which queues are in the error state, where and why (read from
        ERR_QUEUES, STATUS.ERR_KIND and ERR_ADDR). Each is reported once per error state."""
        found = []
        bits = await self.ops.read("ENG.ERR_QUEUES_LO") | await self.ops.read("ENG.ERR_QUEUES_HI") << 32
        for (dev, vq), q in self.queues.items():
            if not bits >> q & 1 or q in self.reported:
                continue
            status = await self.ops.read(self._reg(q, "STATUS"))
            addr = await self.ops.read(self._reg(q, "ERR_ADDR_LO")) | await self.ops.read(self._reg(q, "ERR_ADDR_HI")) << 32
            err = {"dev": dev, "vq": vq, "q": q, "addr": addr,
                   "kind": self.ops.regs.get(self._reg(q, "STATUS"), "ERR_KIND", status),
                   "used_idx": self.ops.regs.get(self._reg(q, "STATUS"), "USED_IDX", status)}
            self.reported.add(q)
            self.error_log.append(err)
            found.append(err)
        return found

    def _serves(self, dev: int, vq: int, q: int, resets: int) -> bool:
        """Engine queue q still serves the (dev, vq) it served when the completion was made:
        the firmware has not reset that queue meanwhile (not even to set it up again)."""
        return self.queues.get((dev, vq)) == q and self.resets[(dev, vq)] == resets

    async def complete(self, dev: int, vq: int, head: int, length: int, path: str = "stream") -> None:
        resets = self.resets[(dev, vq)]
        if (dev, vq) not in self.queues and resets:
            # The firmware reset the queue (RESET_VQUEUE, device reset or the device's removal)
            # while the device was still completing its buffers: the reset discards them.
            self.dropped += 1
            return
        q = self._q(dev, vq)  # (a queue never set up is the device model's bug: KeyError)
        if path == "stream":
            self.cpl.send(Completion(q, head, length))
            return
        async with self._cpl_regs:
            await self._push(dev, vq, q, head, length, resets)

    async def _push(self, dev: int, vq: int, q: int, head: int, length: int, resets: int) -> None:
        await self.ops.write("ENG.CPL_ID", head)
        await self.ops.write("ENG.CPL_LEN", length)
        waited = 0.0
        while True:
            if not self._serves(dev, vq, q, resets):
                # Reset by the firmware meanwhile (the queue may even serve another device once
                # its reset finished): the completion is discarded, never pushed to it. Without
                # this the refused pushes of a queue under reset were retried as if the FIFO were
                # full, for timeout_ns, holding up the whole firmware (every device's answers).
                self.dropped += 1
                return
            if await self.ops.write("ENG.CPL_PUSH", q, check=False) == OKAY:
                return
            # Refused: FIFO full (wait and retry), or the queue is not enabled / in error.
            status = await self.ops.read(self._reg(q, "STATUS"))
            if self.ops.regs.get(self._reg(q, "STATUS"), "ERROR", status):
                raise VirtioError(errno.EIO, f"engine queue {q} (dev {dev} vq {vq}) is in the error state")
            self.refused += 1
            if waited > self.timeout_ns:
                raise VirtioError(errno.ETIMEDOUT, f"engine firmware FIFO stayed full for {waited:.0f} ns")
            await Timer(self.retry_ns, unit="ns")
            waited += self.retry_ns
