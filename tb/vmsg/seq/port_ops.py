"""One-item sequences and PortOps, the handle that higher layers use on a port.

Everything a model or a virtual sequence does on a port goes through these
sequences, and so through the agent's sequencer and driver.
"""

from __future__ import annotations

from pyuvm import uvm_sequence

from ..bfm.axil import OKAY
from ..env.mbox_agent import MboxItem, MboxSequencer, Op


class ItemSeq(uvm_sequence):
    """Runs one prepared MboxItem."""

    def __init__(self, item: MboxItem, name: str = "item_seq"):
        super().__init__(name)
        self.item = item

    async def body(self):
        await self.start_item(self.item)
        await self.finish_item(self.item)


class PortOps:
    """Register and mailbox operations on one port, as sequences on its sequencer."""

    def __init__(self, seqr: MboxSequencer):
        self.seqr = seqr

    @property
    def regs(self):
        return self.seqr.regs

    async def _run(self, item: MboxItem) -> MboxItem:
        await ItemSeq(item).start(self.seqr)
        return item

    async def read(self, reg: str | int) -> int:
        item = await self._run(MboxItem(op=Op.READ, addr=self._addr(reg)))
        if item.resp != OKAY:
            raise BusAccessError(f"{self.seqr.get_full_name()}: read of {reg} answered resp {item.resp}")
        return item.data

    async def read_resp(self, reg: str | int) -> tuple[int, int]:
        item = await self._run(MboxItem(op=Op.READ, addr=self._addr(reg)))
        return item.data, item.resp

    async def write(self, reg: str | int, data: int, strb: int = 0xF, check: bool = True) -> int:
        item = await self._run(MboxItem(op=Op.WRITE, addr=self._addr(reg), data=data, strb=strb))
        if check and item.resp != OKAY:
            raise BusAccessError(f"{self.seqr.get_full_name()}: write of {reg} answered resp {item.resp}")
        return item.resp

    async def send(self, slot: bytes, nwords: int | None = None, keep: bool = False) -> MboxItem:
        """Stage and commit one message; the item carries the commit response and error code.
        A refused message is discarded unless keep=True (then it stays staged)."""
        return await self._run(MboxItem(op=Op.SEND, slot=slot, nwords=nwords, keep=keep))

    async def recv(self) -> MboxItem:
        """Read and pop the head message; item.empty when nothing waits."""
        return await self._run(MboxItem(op=Op.RECV))

    def _addr(self, reg: str | int) -> int:
        return reg if isinstance(reg, int) else self.regs.addr(reg)


class BusAccessError(Exception):
    """A register access that software expected to succeed answered SLVERR/DECERR."""
