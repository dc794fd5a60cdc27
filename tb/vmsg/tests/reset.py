"""Peripheral reset (rst_ni) in the middle of traffic.

Documented behaviour: a peripheral reset discards everything the peripheral holds (queued
messages both ways, the staged messages, doorbell pending bits and data, engine queues and
whatever they had in flight, counters); every register returns to its reset value; software
starts again from discovery. What lives outside the peripheral (the driver's memory, the
device's disk) is untouched.
"""

from __future__ import annotations

import random

import pyuvm
from cocotb.triggers import Timer

from ..models import BlkDevice
from .io import IoTest, blk_workout
from .mailbox import COUNTERS
from .smoke import request
from .transport import BLK_F_FLUSH, EVENT_IDX, VERSION_1


@pyuvm.test()
class PeripheralResetTest(IoTest):
    whole_slot_rate = 0.25  # some reads cover the whole slot: the zero fill is observed

    async def body(self):
        p = self.params
        capacity = 16
        blk = BlkDevice(capacity=capacity, queue_size=8, features=VERSION_1 | BLK_F_FLUSH | EVENT_IDX)
        self.device_bus.add(1, blk)
        bd = await self.start_models()
        await bd.scan()
        shadow = await blk_workout(bd.devices[1].driver, capacity, 6)
        # Leave the peripheral full of state: software stops, then raw traffic stays queued.
        self.bus.stop()
        self.firmware.stop()
        await Timer(2000, unit="ns")
        # raw messages, no exchange: requests and responses are not paired (the response rule rests)
        self.env.scoreboard.check_responses = False
        ms, fmt = p["MSG_SIZE"], self.fmt
        for i in range(random.randint(1, p["TO_DEV_DEPTH"])):
            assert (await self.drv_ops.send(request(0x07, 1, b"", ms, fmt=fmt))).resp == 0
        for i in range(random.randint(1, p["TO_DRV_DEPTH"])):
            assert (await self.dev_ops.send(request(0x07, 1, b"\x0f\0\0\0", ms, rsp=True, fmt=fmt))).resp == 0
        kick = request(0x41, 1, bytes(8), ms, fmt=fmt)  # EVENT_AVAIL of device 1, queue 0
        assert (await self.drv_ops.send(kick)).resp == 0
        await self.drv_ops.write(self.drv_ops.regs.addr("TX_MSG"), 0x12345678)  # a staged word
        assert await self.dev_ops.read("ENG.ERR_QUEUES_LO") == 0

        await self.peripheral_reset(discard=False)  # nothing in flight: the reset alone must clear the staged word
        self.env.scoreboard.check_responses = True

        # Every register back to its reset value, on both ports.
        for ops in (self.drv_ops, self.dev_ops):
            regs = ops.regs
            assert regs.get("RX_STATUS", "EMPTY", await ops.read("RX_STATUS")) == 1
            assert await ops.read("TX_STATUS") == 0, "TX_STATUS not cleared (count, staged length)"
            assert await ops.read("INTR_STATE") == 0 and await ops.read("INTR_ENABLE") == 0
            assert await ops.read("TX_ERROR") == 0
            for reg in list(COUNTERS.values()) + ["TX_ACCEPTED", "RX_POPPED", "RX_UNDERFLOW"]:
                assert await ops.read(reg) == 0, f"{reg} not cleared by reset"
        regs = self.dev_ops.regs
        for w in range((p["NUM_DEVS"] * p["NUM_VQS"] + 31) // 32):
            assert await self.dev_ops.read(regs.addr("DB_PENDING") + 4 * w) == 0
        assert await self.dev_ops.read("DB_KICKS") == 0
        for q in range(p["ENG_QUEUES"]):
            assert await self.dev_ops.read(f"ENG.Q[{q}].CTRL") == 0
            status = await self.dev_ops.read(f"ENG.Q[{q}].STATUS")
            assert status == 0, f"engine queue {q} STATUS {status:#x} after reset"
            assert await self.dev_ops.read(f"ENG.Q[{q}].CPL_CNT") == 0
        # The staged word is gone: a fresh message carries only its own bytes.
        await self.check_configuration()

        # Software starts again: discovery, probe, I/O; the disk kept its data.
        bd = await self.restart_software(self.bus_driver.drivers)
        assert await bd.scan() == [1]
        core = bd.devices[1]
        assert core.probed, core.probe_error
        assert await core.driver.read(0, capacity) == bytes(shadow)
        await blk_workout(core.driver, capacity, 6, shadow)
        assert bytes(blk.storage) == bytes(shadow)
