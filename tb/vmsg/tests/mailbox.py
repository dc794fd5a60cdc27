"""Mailbox-level tests through the agents (no driver or device model)."""

from __future__ import annotations

import random
from collections import Counter

import pyuvm

from ..bfm.axil import OKAY, SLVERR
from ..env import mbox_ref as ref
from ..seq.mailbox_seqs import MessageFactory
from .base import VmsgBaseTest

COUNTERS = {ref.SIZE_SMALL: "TX_REJ_SIZE_SMALL", ref.SIZE_LARGE: "TX_REJ_SIZE_LARGE",
            ref.TYPE_RSVD: "TX_REJ_TYPE_RSVD", ref.TYPE_DIR: "TX_REJ_TYPE_DIR",
            ref.OVERFLOW: "TX_REJ_OVERFLOW", ref.DB_RANGE: "TX_REJ_DB_RANGE"}


@pyuvm.test()
class BadInputMixTest(VmsgBaseTest):
    """Constrained-random traffic on both ports with every kind of bad input mixed in:
    malformed framing (each code), doorbells out of range, commits to a full FIFO (the
    staged message is kept and goes through after a pop, without being written again),
    pops of an empty FIFO. Each refusal answers SLVERR with its code and counter; the
    scoreboard checks that nothing refused is delivered and everything accepted is,
    in order, byte for byte."""

    start_firmware = False
    start_driver_bus = False

    async def body(self):
        p = self.params
        ports = {
            "drv": (self.drv_ops, MessageFactory(True, p["MSG_SIZE"], p["NUM_DEVS"], p["NUM_VQS"]), self.dev_ops, p["TO_DEV_DEPTH"]),
            "dev": (self.dev_ops, MessageFactory(False, p["MSG_SIZE"], p["NUM_DEVS"], p["NUM_VQS"]), self.drv_ops, p["TO_DRV_DEPTH"]),
        }
        refused = {"drv": Counter(), "dev": Counter()}
        kicked: dict[int, int] = {}  # doorbell index -> last next_offset_wrap
        queued = {"drv": 0, "dev": 0}
        underflows = {"drv": 0, "dev": 0}
        before = {name: {c: await ops.read(reg) for c, reg in COUNTERS.items()} for name, (ops, *_rest) in ports.items()}
        for _ in range(random.randint(60, 90)):
            name = random.choice(["drv", "dev"])
            ops, fac, reader, depth = ports[name]
            action = random.random()
            if action < 0.35:
                built = fac.legal()
            elif action < 0.45 and name == "drv":
                built = fac.doorbell(in_range=random.random() < 0.6)
            elif action < 0.7:
                built = fac.malformed(random.choice([ref.TYPE_RSVD, ref.TYPE_DIR, ref.SIZE_SMALL, ref.SIZE_LARGE]))
            elif action < 0.85:
                # pop from the other direction (sometimes of an empty FIFO)
                other = "dev" if name == "drv" else "drv"
                item = await ops.recv()
                if item.empty:
                    # a POP anyway: SLVERR and nothing changes
                    resp = await ops.write("RX_CTRL", ops.regs.value("RX_CTRL", POP=1), check=False)
                    assert resp == SLVERR, "pop of an empty FIFO must answer SLVERR"
                    underflows[name] += 1
                else:
                    queued[other] -= 1
                continue
            else:
                await self._overflow(name, ops, fac, depth, queued, refused)
                continue
            if built.intent == ref.NONE and not built.doorbell and queued[name] >= depth:
                built.intent = ref.OVERFLOW  # a legal message meets a full FIFO
            item = await ops.send(built.slot)
            if built.intent == ref.NONE:
                assert item.resp == OKAY, f"{name}: legal message refused with code {item.error_code}: {built.slot[:8].hex()}"
                if built.doorbell:
                    dev, vq = int.from_bytes(built.slot[2:4], "little"), int.from_bytes(built.slot[6:10], "little")
                    kicked[dev * p["NUM_VQS"] + vq] = int.from_bytes(built.slot[10:14], "little")
                else:
                    queued[name] += 1
            else:
                assert item.resp == SLVERR and item.error_code == built.intent, \
                    f"{name}: expected refusal {ref.CODE_NAMES[built.intent]}, got resp {item.resp} code {item.error_code}"
                refused[name][built.intent] += 1
        for name, (ops, _fac, _reader, _depth) in ports.items():
            for code, reg in COUNTERS.items():
                got = await ops.read(reg) - before[name][code]
                assert got == refused[name][code], f"{name} {reg}: counted {got}, injected {refused[name][code]}"
            assert await ops.read("RX_UNDERFLOW") == underflows[name]
        # Doorbells: exactly the kicked queues pend, each with its last kick's data.
        regs = self.dev_ops.regs
        n = p["NUM_DEVS"] * p["NUM_VQS"]
        pending = set()
        for w in range((n + 31) // 32):
            bits = await self.dev_ops.read(regs.addr("DB_PENDING") + 4 * w)
            pending |= {32 * w + b for b in range(32) if bits >> b & 1}
            await self.dev_ops.write(regs.addr("DB_PENDING") + 4 * w, bits)
        assert pending == set(kicked), f"pending {sorted(pending)}, kicked {sorted(kicked)}"
        for q, data in kicked.items():
            assert await self.dev_ops.read(regs.addr("DB_DATA") + 4 * q) == data
        # Drain everything: the scoreboard checks each message as it is popped.
        for name, reader in (("drv", self.dev_ops), ("dev", self.drv_ops)):
            while not (await reader.recv()).empty:
                queued[name] -= 1
            assert queued[name] == 0, f"{name}: {queued[name]} message(s) accepted but not delivered"

    async def _overflow(self, name, ops, fac, depth, queued, refused):
        """Fill the FIFO, commit once more (OVERFLOW, sticky flag, staged message kept), pop one
        on the other side, commit again without writing the message again: accepted."""
        reader = self.dev_ops if name == "drv" else self.drv_ops
        while queued[name] < depth:
            item = await ops.send(fac.legal().slot)
            assert item.resp == OKAY
            queued[name] += 1
        status = await ops.read("TX_STATUS")
        assert ops.regs.get("TX_STATUS", "FULL", status) and ops.regs.get("TX_STATUS", "COUNT", status) == depth
        extra = fac.legal()
        item = await ops.send(extra.slot, keep=True)
        assert item.resp == SLVERR and item.error_code == ref.OVERFLOW
        refused[name][ref.OVERFLOW] += 1
        err = await ops.read("TX_ERROR")
        assert ops.regs.get("TX_ERROR", "OVERFLOW", err), "sticky OVERFLOW flag not set"
        await ops.write("TX_ERROR", ops.regs.value("TX_ERROR", OVERFLOW=1))
        assert not ops.regs.get("TX_ERROR", "OVERFLOW", await ops.read("TX_ERROR")), "OVERFLOW is write-1-to-clear"
        assert not (await reader.recv()).empty
        queued[name] -= 1
        resp = await ops.write("TX_CTRL", ops.regs.value("TX_CTRL", COMMIT=1), check=False)
        assert resp == OKAY, "the kept staged message should commit once there is room"
        queued[name] += 1
