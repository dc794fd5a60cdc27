"""Agent for one AXI4-Lite port of the peripheral (driver port or device port).

Items are either raw register accesses (READ / WRITE) or whole mailbox
operations (SEND: window writes + commit; RECV: status, head words, pop).
A whole-message item runs atomically in the driver, so sequences running
concurrently on one port never interleave two messages' window writes.
The monitor reports every AXI4-Lite transaction seen on the wires; it does
not trust the driver.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from dataclasses import dataclass

from pyuvm import ConfigDB, uvm_agent, uvm_analysis_port, uvm_driver, uvm_monitor, uvm_sequence_item, uvm_sequencer

from ..bfm.axil import FLUSHED, OKAY, AxilPortBfm, AxilTxn
from ..regmap import load as load_regmap


class Op(enum.Enum):
    READ = "read"
    WRITE = "write"
    SEND = "send"
    RECV = "recv"


class MboxItem(uvm_sequence_item):
    """One operation on a port. Results are filled in by the driver."""

    def __init__(self, name: str = "mbox_item", op: Op = Op.READ, addr: int = 0, data: int = 0,
                 strb: int = 0xF, slot: bytes = b"", nwords: int | None = None, keep: bool = False):
        super().__init__(name)
        self.op = op
        self.addr = addr
        self.data = data
        self.strb = strb
        self.slot = slot            # SEND: message to stage; RECV: message received
        self.nwords = nwords        # SEND: words to write (None: up to the last non-zero word)
        self.keep = keep            # SEND refused: keep the staged message (default: DISCARD it, so that
                                    # no byte of it can reach the next sender's message)
        self.resp = OKAY            # READ/WRITE: bus response; SEND: commit response; RECV: pop response; FLUSHED: cut by a reset
        self.error_code = 0         # SEND refused: TX_ERROR.CODE
        self.empty = False          # RECV: nothing was waiting
        self.head_len = 0           # RECV: RX_STATUS.HEAD_LEN

    def __str__(self) -> str:
        if self.op in (Op.READ, Op.WRITE):
            return f"{self.op.value} {self.addr:#x} {self.data:#x} resp={self.resp}"
        return f"{self.op.value} {self.slot[:16].hex()}... resp={self.resp} code={self.error_code}"


class MboxSequencer(uvm_sequencer):
    """Sequencer with access to its port's interrupt line (for reactive sequences)."""

    def end_of_elaboration_phase(self):
        self.bfm: AxilPortBfm = ConfigDB().get(self, "", "BFM")
        self.regs = load_regmap(ConfigDB().get(self, "", "REGMAP"))

    async def wait_irq(self, timeout_ns: float | None = None) -> bool:
        return await self.bfm.wait_irq(timeout_ns)

    def irq_level(self) -> bool:
        return self.bfm.irq_level()

    def flush(self) -> None:
        """Drop the items of sequences that were killed (a peripheral reset): queued items are
        removed; an item the driver already holds is released so that the driver moves on
        (its bus accesses are flushed by the reset)."""
        while not self.seq_q.empty():
            self.seq_q.get_nowait()
        export = self.seq_item_export
        while not export.req_q.empty():
            export.req_q.get_nowait()
        if export.current_item is not None:
            export.current_item.item_ready.set()


class MboxDriver(uvm_driver):
    def end_of_elaboration_phase(self):
        self.bfm: AxilPortBfm = ConfigDB().get(self, "", "BFM")
        self.regs = load_regmap(ConfigDB().get(self, "", "REGMAP"))
        self.msg_size: int = ConfigDB().get(self, "", "MSG_SIZE")
        # Share of RECVs that read the whole slot instead of HEAD_LEN bytes, so that the zero
        # fill beyond the written length is observed (random tests set it; `random` is seeded).
        self.whole_slot_rate = 0.0

    async def run_phase(self):
        self.busy = False
        while True:
            item = await self.seq_item_port.get_next_item()
            self.busy = True
            try:
                await self._execute(item)
            finally:
                self.busy = False
                self.seq_item_port.item_done()

    async def _execute(self, item: MboxItem) -> None:
        bfm = self.bfm
        if item.op is Op.WRITE:
            item.resp = await bfm.write(item.addr, item.data, item.strb)
        elif item.op is Op.READ:
            item.data, item.resp = await bfm.read(item.addr)
        elif item.op is Op.SEND:
            await self._send(item)
        elif item.op is Op.RECV:
            await self._recv(item)

    async def _send(self, item: MboxItem) -> None:
        regs = self.regs
        slot = item.slot
        if item.nwords is None:
            # The mailbox sends never-written words as zero, so trailing zero
            # words need no bus cycles: the slot that arrives is the same.
            nz = [i for i in range(0, len(slot), 4) if any(slot[i:i + 4])]
            nwords = max(2, (nz[-1] // 4 + 1) if nz else 0)
        else:
            nwords = item.nwords
        base = regs.addr("TX_MSG")
        padded = slot.ljust(nwords * 4, b"\0")
        # An access cut by a reset ends the item: the rest of it (commit included) must not reach
        # the peripheral after the reset (the BFM would issue it once the reset is released).
        for w in range(nwords):
            if await self.bfm.write(base + 4 * w, int.from_bytes(padded[4 * w:4 * w + 4], "little")) == FLUSHED:
                item.resp = FLUSHED
                return
        item.resp = await self.bfm.write(regs.addr("TX_CTRL"), regs.value("TX_CTRL", COMMIT=1))
        if item.resp not in (OKAY, FLUSHED):
            err, _ = await self.bfm.read(regs.addr("TX_ERROR"))
            item.error_code = regs.get("TX_ERROR", "CODE", err)
            if not item.keep:
                await self.bfm.write(regs.addr("TX_CTRL"), regs.value("TX_CTRL", DISCARD=1))

    async def _recv(self, item: MboxItem) -> None:
        regs = self.regs
        status, resp = await self.bfm.read(regs.addr("RX_STATUS"))
        if resp == FLUSHED:
            item.resp = FLUSHED
            return
        if regs.get("RX_STATUS", "EMPTY", status):
            item.empty = True
            return
        item.head_len = regs.get("RX_STATUS", "HEAD_LEN", status)
        base = regs.addr("RX_MSG")
        words = []
        whole = self.whole_slot_rate and random.random() < self.whole_slot_rate
        for w in range(self.msg_size // 4 if whole else (item.head_len + 3) // 4):
            data, resp = await self.bfm.read(base + 4 * w)
            if resp == FLUSHED:  # no POP after a reset
                item.resp = FLUSHED
                return
            words.append(data.to_bytes(4, "little"))
        item.slot = b"".join(words).ljust(self.msg_size, b"\0")[: self.msg_size]
        item.resp = await self.bfm.write(regs.addr("RX_CTRL"), regs.value("RX_CTRL", POP=1))


@dataclass
class PortTxn(AxilTxn):
    """A monitored AXI4-Lite transaction, tagged with its port."""

    port: str = ""  # "drv" or "dev"


class MboxMonitor(uvm_monitor):
    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    def end_of_elaboration_phase(self):
        bfm: AxilPortBfm = ConfigDB().get(self, "", "BFM")
        port = ConfigDB().get(self, "", "PORT")
        bfm.monitor.subscribe(lambda t: self.ap.write(PortTxn(**effective(dataclasses.asdict(t)), port=port)))


def effective(txn: dict) -> dict:
    """A write's data as the registers take it: bytes whose strobe is low carry nothing (a
    control bit or W1C bit in an unstrobed byte has no effect; window bytes keep their
    documented first-write zeroing, which the decoder applies from the strobes)."""
    if txn["write"]:
        mask = sum(0xFF << (8 * lane) for lane in range(4) if txn["strb"] >> lane & 1)
        txn["data"] &= mask
    return txn


class MboxAgent(uvm_agent):
    def build_phase(self):
        self.seqr = MboxSequencer("seqr", self)
        self.driver = MboxDriver("driver", self)
        self.monitor = MboxMonitor("monitor", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
