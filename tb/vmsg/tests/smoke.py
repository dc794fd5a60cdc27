"""Smoke tests of the environment on the whole peripheral, without the models:
raw messages both ways through the agents, checked by the scoreboard."""

from __future__ import annotations

import random

import pyuvm

from ..env import mbox_ref as ref
from ..proto.constants import HdrFormat
from ..proto.header import Header
from .base import VmsgBaseTest


def request(msg_id: int, dev_id: int, payload: bytes, msg_size: int, rsp: bool = False,
            fmt: HdrFormat = HdrFormat.SEED6) -> bytes:
    """A transport message of `fmt`'s header (token 0), zero-filled to the slot size."""
    hdr = Header(1 if rsp else 0, msg_id, dev_id, fmt.header_size + len(payload), fmt=fmt).encode()
    return (hdr + payload).ljust(msg_size, b"\0")


@pyuvm.test()
class SmokeRawTest(VmsgBaseTest):
    """Messages both ways, the scoreboard checks them; no models involved."""

    start_firmware = False
    start_driver_bus = False

    async def body(self):
        ms = self.params["MSG_SIZE"]
        sent = []
        for i in range(5):
            payload = bytes(random.randrange(256) for _ in range(random.randrange(0, ms - 6)))
            slot = request(0x05, i, payload, ms)
            item = await self.drv_ops.send(slot)
            assert item.resp == 0, f"commit refused: code {item.error_code}"
            sent.append(slot)
        for slot in sent:
            item = await self.dev_ops.recv()
            assert not item.empty
            assert item.slot == slot, f"\n{item.slot.hex()}\n{slot.hex()}"
        item = await self.dev_ops.recv()
        assert item.empty
        rsp = request(0x05, 3, b"\x01\x02\x03", ms, rsp=True)
        assert (await self.dev_ops.send(rsp)).resp == 0
        got = await self.drv_ops.recv()
        assert got.slot == rsp
        # A response sent by the driver is refused with TYPE_DIR and never delivered.
        bad = await self.drv_ops.send(rsp)
        assert bad.resp == 2 and bad.error_code == ref.TYPE_DIR
        await self.drv_ops.write("TX_CTRL", self.drv_ops.regs.value("TX_CTRL", DISCARD=1))
        assert (await self.dev_ops.recv()).empty
