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

    whole_slot_rate = 0.25  # some reads cover the whole slot: the zero fill is observed
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
                    dev, vq = int.from_bytes(built.slot[2:4], "little"), ref.payload_u32(built.slot, 0)
                    kicked[dev * p["NUM_VQS"] + vq] = ref.payload_u32(built.slot, 4)
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


@pyuvm.test()
class PartialStrobeControlTest(VmsgBaseTest):
    """Partial strobes on control registers (docs/architecture.md): a control or W1C bit takes
    effect only when the write strobes its byte. COMMIT, DISCARD (TX_CTRL) and POP (RX_CTRL)
    written without lane 0 do nothing; INTR_STATE and DB_PENDING W1C clear only the bits of
    the strobed bytes. Both ports; the scoreboard follows the effective writes. The masters
    here put the strobed byte on every lane, as a CPU's narrow store does, so an unstrobed
    byte carries the very bit that must not take effect."""

    start_firmware = False
    start_driver_bus = False

    @staticmethod
    def replicate_lanes(bfm) -> None:
        channel = bfm.master.write_if.w_channel
        send = channel.send

        async def replicated(w):
            strb, val = int(w.wstrb), int(w.wdata)
            if strb and strb != 0xF:
                lane = min(i for i in range(4) if strb >> i & 1)
                byte = val >> (8 * lane) & 0xFF
                for i in range(4):
                    if not strb >> i & 1:
                        val |= byte << (8 * i)
                w.wdata = val
            await send(w)

        channel.send = replicated

    async def body(self):
        p = self.params
        for bfm in (self.drv_bfm, self.dev_bfm):
            self.replicate_lanes(bfm)
        for to_device in (True, False):
            ops, reader = (self.drv_ops, self.dev_ops) if to_device else (self.dev_ops, self.drv_ops)
            regs = ops.regs
            slot = MessageFactory(to_device, p["MSG_SIZE"], p["NUM_DEVS"], p["NUM_VQS"]).legal().slot
            nz = [i for i in range(0, len(slot), 4) if any(slot[i:i + 4])]
            nwords = max(2, nz[-1] // 4 + 1)
            for w in range(nwords):
                await ops.write(regs.addr("TX_MSG") + 4 * w, int.from_bytes(slot[4 * w:4 * w + 4], "little"))
            staged = await ops.read("TX_STATUS")
            assert regs.get("TX_STATUS", "STAGED_LEN", staged) == 4 * nwords
            await ops.write("INTR_STATE", regs.value("INTR_STATE", RX_MSG=1, TX_ERR=1))  # start clean
            commit, discard = regs.value("TX_CTRL", COMMIT=1), regs.value("TX_CTRL", DISCARD=1)
            for data in (commit, discard, commit | discard):
                # the control bits sit in byte 0: written with lanes 1..3 only (lane 0 carrying
                # the same byte, unstrobed), nothing happens
                assert await ops.write("TX_CTRL", data * 0x01010101, strb=0b1110) == OKAY
                assert await ops.read("TX_STATUS") == staged, f"TX_CTRL {data:#x} without lane 0 acted"
            assert await ops.write("TX_CTRL", commit, strb=0b0001) == OKAY
            after = await ops.read("TX_STATUS")
            assert regs.get("TX_STATUS", "COUNT", after) == regs.get("TX_STATUS", "COUNT", staged) + 1
            assert regs.get("TX_STATUS", "STAGED_LEN", after) == 0
            # The reader: POP without lane 0 leaves the head; RX_MSG in INTR_STATE clears only
            # with lane 0 strobed.
            rregs = reader.regs
            status = await reader.read("RX_STATUS")
            assert rregs.get("RX_STATUS", "COUNT", status) == 1
            assert await reader.write("RX_CTRL", rregs.value("RX_CTRL", POP=1) * 0x01010101, strb=0b1110) == OKAY
            assert await reader.read("RX_STATUS") == status, "RX_CTRL.POP without lane 0 popped"
            rx_bit = rregs.value("INTR_STATE", RX_MSG=1)
            assert await reader.read("INTR_STATE") & rx_bit
            await reader.write("INTR_STATE", rx_bit * 0x01010101, strb=0b1110)
            assert await reader.read("INTR_STATE") & rx_bit, "INTR_STATE W1C without lane 0 cleared RX_MSG"
            await reader.write("INTR_STATE", rx_bit, strb=0b0001)
            assert not await reader.read("INTR_STATE") & rx_bit
            assert not (await reader.recv()).empty  # the scoreboard checks its bytes
            assert rregs.get("RX_STATUS", "EMPTY", await reader.read("RX_STATUS"))
        # DB_PENDING W1C honours the strobes bit for bit: bits 0 and 8 of word 0 pend; a
        # clear of 0xFFFF with lane 1 only clears bit 8.
        n = p["NUM_DEVS"] * p["NUM_VQS"]
        assert n > 8, "the configuration has fewer than 9 doorbells"
        dregs = self.dev_ops.regs
        pend = dregs.addr("DB_PENDING")
        for q in (0, 8):
            dev, vq = divmod(q, p["NUM_VQS"])
            kick = bytes([0, 0x41]) + dev.to_bytes(2, "little") + (14).to_bytes(2, "little") + vq.to_bytes(4, "little")
            assert (await self.drv_ops.send(kick + bytes(4))).resp == OKAY
        assert await self.dev_ops.read(pend) & 0x101 == 0x101
        await self.dev_ops.write(pend, 0xFFFF, strb=0b0010)  # lane 0 carries 0xFF too, unstrobed
        assert await self.dev_ops.read(pend) & 0x101 == 0x001, "DB_PENDING W1C cleared a byte it did not strobe"
        await self.dev_ops.write(pend, 0xFFFF, strb=0b0001)
        assert await self.dev_ops.read(pend) & 0x101 == 0


@pyuvm.test()
class KickInClearCycleTest(VmsgBaseTest):
    """A kick in the cycle of its bit's clear (docs/architecture.md, Doorbells): the kick wins
    (the bit stays set) and counts as a new notification, not as coalesced. The commit of a
    staged kick and the DB_PENDING clear of its (already pending) bit are issued at every
    relative offset from -12 to +12 cycles, so one offset puts both in the same cycle. Each
    outcome must be one of the two orders: kick first (coalesced, then cleared: bit 0) or
    clear first (bit 1, not coalesced); the sweep must see both."""

    start_firmware = False
    start_driver_bus = False

    async def body(self):
        from cocotb.triggers import ClockCycles

        import cocotb

        p = self.params
        self.env.scoreboard.require_db_observed = False  # the clears here are blind
        dev, vq = p["NUM_DEVS"] - 1, p["NUM_VQS"] - 1
        q = dev * p["NUM_VQS"] + vq
        pend = self.dev_ops.regs.addr("DB_PENDING") + 4 * (q // 32)
        bit = 1 << (q % 32)
        drv = self.drv_ops
        kick = bytes([0, 0x41]) + dev.to_bytes(2, "little") + (14).to_bytes(2, "little") + vq.to_bytes(4, "little")
        commit = drv.regs.value("TX_CTRL", COMMIT=1)
        clk = self.dut.clk_i
        outcomes = Counter()
        for offset in range(-12, 13):
            if not await self.dev_ops.read(pend) & bit:
                assert (await drv.send(kick + (0x100 + offset + 12).to_bytes(4, "little"))).resp == OKAY
            assert await self.dev_ops.read(pend) & bit
            for w, word in enumerate((kick + (offset + 12).to_bytes(4, "little")).ljust(16, b"\0")[i:i + 4]
                                     for i in range(0, 16, 4)):
                await drv.write(drv.regs.addr("TX_MSG") + 4 * w, int.from_bytes(word, "little"))
            kicks0, coal0 = await self.dev_ops.read("DB_KICKS"), await self.dev_ops.read("DB_COALESCED")

            async def after(cycles, action):
                await ClockCycles(clk, cycles)
                return await action()

            a = cocotb.start_soon(after(max(offset, 0), lambda: drv.write("TX_CTRL", commit)))
            b = cocotb.start_soon(after(max(-offset, 0), lambda: self.dev_ops.write(pend, bit)))
            await a
            await b
            pending = bool(await self.dev_ops.read(pend) & bit)
            coalesced = await self.dev_ops.read("DB_COALESCED") - coal0
            assert await self.dev_ops.read("DB_KICKS") - kicks0 == 1
            assert (coalesced, pending) in ((1, False), (0, True)), \
                f"commit {offset:+d} cycles after the clear: coalesced {coalesced}, bit {int(pending)} (no order gives that)"
            outcomes["kick first" if coalesced else "clear first"] += 1
        self.logger.info("kick / clear sweep: %s", dict(outcomes))
        assert len(outcomes) == 2, f"the sweep never crossed from one order to the other: {dict(outcomes)}"
        await self.dev_ops.write(pend, bit)


@pyuvm.test()
class CommitInPopCycleTest(VmsgBaseTest):
    """A commit into a full FIFO around the pop that makes room (docs/architecture.md,
    "Mailbox"), in both directions: the writer's TX_CTRL commit of a staged message and the
    reader's RX_CTRL pop are issued at every relative offset from -12 to +12 cycles, so one
    offset puts both in the same cycle and the next has the commit one cycle after the pop.
    A commit the mailbox takes after the pop is accepted; one taken in the pop's cycle or
    before it is refused with OVERFLOW (then committed again, without writing it again, and
    accepted). The scoreboard judges every outcome from the wires; the sweep must see both
    outcomes in each direction, refused below one offset and accepted from it on."""

    start_firmware = False
    start_driver_bus = False

    async def body(self):
        import cocotb
        from cocotb.triggers import ClockCycles

        p = self.params
        clk = self.dut.clk_i
        for name, writer, reader, depth in (("drv", self.drv_ops, self.dev_ops, p["TO_DEV_DEPTH"]),
                                            ("dev", self.dev_ops, self.drv_ops, p["TO_DRV_DEPTH"])):
            fac = MessageFactory(name == "drv", p["MSG_SIZE"], p["NUM_DEVS"], p["NUM_VQS"])
            commit = writer.regs.value("TX_CTRL", COMMIT=1)
            pop = reader.regs.value("RX_CTRL", POP=1)
            outcomes = []
            for offset in range(-12, 13):
                while not writer.regs.get("TX_STATUS", "FULL", await writer.read("TX_STATUS")):
                    assert (await writer.send(fac.legal().slot)).resp == OKAY
                slot = fac.legal().slot
                for w in range(p["MSG_SIZE"] // 4):
                    await writer.write(writer.regs.addr("TX_MSG") + 4 * w, int.from_bytes(slot[4 * w:4 * w + 4], "little"))
                # the reader reads the head first (the scoreboard checks it at the pop)
                head_len = reader.regs.get("RX_STATUS", "HEAD_LEN", await reader.read("RX_STATUS"))
                for w in range((head_len + 3) // 4):
                    await reader.read(reader.regs.addr("RX_MSG") + 4 * w)

                async def after(cycles, action):
                    if cycles:
                        await ClockCycles(clk, cycles)
                    return await action()

                a = cocotb.start_soon(after(max(offset, 0), lambda: writer.write("TX_CTRL", commit, check=False)))
                b = cocotb.start_soon(after(max(-offset, 0), lambda: reader.write("RX_CTRL", pop, check=False)))
                resp, pop_resp = await a, await b
                assert pop_resp == OKAY, f"{name}: pop of a full FIFO refused"
                if resp == OKAY:
                    outcomes.append("accepted")
                else:
                    assert resp == SLVERR
                    code = writer.regs.get("TX_ERROR", "CODE", await writer.read("TX_ERROR"))
                    assert code == ref.OVERFLOW, f"{name}: commit {offset:+d} cycles after the pop refused with {code}"
                    await writer.write("TX_ERROR", writer.regs.value("TX_ERROR", OVERFLOW=1))
                    outcomes.append("refused")
                    assert await writer.write("TX_CTRL", commit, check=False) == OKAY, \
                        f"{name}: the kept message should commit once there is room"
            self.logger.info("%s commit / pop sweep: %s", name, " ".join(o[0] for o in outcomes))
            first = outcomes.index("accepted") if "accepted" in outcomes else len(outcomes)
            assert 0 < first < len(outcomes) and outcomes == ["refused"] * first + ["accepted"] * (len(outcomes) - first), \
                f"{name}: commits -12..+12 cycles after the pop: {outcomes} (refused, then accepted, both seen)"
            while not (await reader.recv()).empty:
                pass
