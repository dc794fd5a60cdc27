"""Interoperability of the two header formats: what a user meets when the two sides of the
bus disagree about the wire format or the message size, and a response whose token answers
no request.

- Seed6DriverOnHdr8Test (an 8-byte peripheral, hdr8-*): a host configured for the seed's 6-byte
  header. Its first messages (GET_DEVICES from offset 0, DEVICE_INFO) carry their payload's
  first bytes, zero, where the 8-byte header has msg_size: the framing check refuses each with
  SIZE_SMALL (SLVERR, TX_ERROR.CODE, TX_REJ_SIZE_SMALL) and nothing reaches the device side.
  BUS_INFO.HDR_FORMAT told the host which header the bus speaks.
- Hdr8KernelMsg48Test (hdr8-msg48, QEMU's maximum message): the 2026 kernel transport refuses
  the bus (message size 48 < its minimum 50, EINVAL) before it sends anything for the device;
  the bus itself works at 48 (GET_DEVICES finds the device, PING answers).
- UnmatchedTokenTest (hdr8-*): the device side answers one request twice, first with a token
  that matches no outstanding request, and later sends one more such response with nothing
  outstanding. DriverBus drops both and counts them (each is an error of the bus layer, which
  the test declares); the real response still completes the transfer.
"""

from __future__ import annotations

import errno

import pyuvm

from ..models import BlkDevice, BusError, VirtioError
from ..proto import Message, TransportId
from ..proto import payloads as p
from ..proto.constants import HdrFormat
from . import kernel_expect_hdr8 as kx8
from .transport import BLK_F_FLUSH, EVENT_IDX, VERSION_1, TransportTest, wait_for


def _blk() -> BlkDevice:
    return BlkDevice(capacity=64, queue_size=8, features=VERSION_1 | EVENT_IDX | BLK_F_FLUSH)


@pyuvm.test()
class Seed6DriverOnHdr8Test(TransportTest):
    """A 6-byte-header host on an 8-byte-header peripheral: every request is refused, none
    delivered."""

    def driver_format(self):
        return HdrFormat.SEED6

    async def body(self):
        assert self.fmt is HdrFormat.HDR8, "this test needs an 8-byte-header build (hdr8-*)"
        ops = self.drv_ops
        info = await ops.read("BUS_INFO")
        assert ops.regs.get("BUS_INFO", "HDR_FORMAT", info) == 1, "BUS_INFO.HDR_FORMAT names the 8-byte header"
        self.device_bus.add(1, _blk())
        bd = await self.start_models()
        assert bd.fmt is HdrFormat.SEED6
        before = await ops.read("TX_REJ_SIZE_SMALL")
        # discovery: GET_DEVICES(0, n) in the 6-byte header
        try:
            await bd.scan()
        except BusError as exc:
            assert exc.errno == errno.EIO and "SIZE_SMALL" in str(exc), f"scan failed with {exc!r}"
        else:
            raise AssertionError("a 6-byte GET_DEVICES was accepted by the 8-byte peripheral")
        assert ops.regs.get("TX_ERROR", "CODE", await ops.read("TX_ERROR")) == 1, "TX_ERROR.CODE SIZE_SMALL"
        # the transport's first request: DEVICE_INFO
        self.expect_error(lambda src, err: isinstance(err, VirtioError) and err.errno == errno.EIO,
                          "the 6-byte DEVICE_INFO is refused by the mailbox (EIO)")
        self.expect_error(lambda src, err: "SIZE_SMALL" in str(err),
                          "the transport logs the refused DEVICE_INFO", min_count=0)
        assert await bd.register_device(1) is None, "a 6-byte transport registered on an 8-byte bus"
        assert await ops.read("TX_REJ_SIZE_SMALL") - before == 2, "both requests refused with SIZE_SMALL"
        # nothing delivered
        assert self.firmware.handled == [], f"the device side received {len(self.firmware.handled)} message(s)"
        assert not self.env.trace.slots("to_device"), "a message was accepted towards the device"
        assert (await self.dev_ops.read("RX_STATUS") >> 9) & 1, "the device side's RX FIFO is not empty"
        assert not bd.devices


@pyuvm.test()
class Hdr8KernelMsg48Test(TransportTest):
    """An 8-byte kernel transport on a 48-byte bus: the kernel refuses the bus."""

    async def body(self):
        ms = self.params["MSG_SIZE"]
        assert self.fmt is HdrFormat.HDR8 and ms < kx8.MIN_SIZE, "this test needs hdr8-msg48"
        assert not kx8.kernel_accepts_bus(ms), "the 2026 kernel's rule accepts this message size"
        self.env.scoreboard.require_every_response = True
        self.device_bus.add(1, _blk())
        bd = await self.start_models()
        assert bd.fmt is HdrFormat.HDR8
        # the bus works at 48: discovery and PING
        assert await bd.get_devices() == [1]
        assert await bd.ping(0x1234_5678) == 0x1234_5678
        self.expect_error(lambda src, err: isinstance(err, VirtioError) and err.errno == errno.EINVAL
                          and "msg_size 48" in str(err), "the 2026 transport refuses a 48-byte bus")
        assert await bd.register_device(1) is None, "the 8-byte transport accepted a 48-byte bus"
        transport_reqs = [s for s in self.env.trace.slots("to_device") if not s[0] & 2]
        assert transport_reqs == [], f"{len(transport_reqs)} transport request(s) sent after the refusal"
        assert self.device_bus.devices[1].status == 0


@pyuvm.test()
class UnmatchedTokenTest(TransportTest):
    """Responses whose token matches no outstanding request are dropped and counted."""

    async def body(self):
        assert self.fmt is HdrFormat.HDR8, "this test needs an 8-byte-header build (hdr8-*)"
        self.env.scoreboard.require_every_response = True
        dev = _blk()
        self.device_bus.add(1, dev)
        bd = await self.start_models()
        await bd.scan()
        core = bd.devices[1]
        assert core.probed and core.probe_error is None, core.probe_error
        planted: list[int] = []
        handle = self.device_bus.handle

        async def handle_twice(slot: bytes) -> list[bytes]:
            out = await handle(slot)
            req = Message.decode(slot, fmt=HdrFormat.HDR8)
            if req.msg_id == TransportId.GET_DEVICE_STATUS and not planted:
                bad = (req.token ^ 0x5A5A) or 1
                planted.append(bad)
                forged = Message.make(TransportId.GET_DEVICE_STATUS, p.GetDeviceStatusResp(0xAB), dev_id=req.dev_id,
                                      response=True, fmt=HdrFormat.HDR8, token=bad).encode(self.params["MSG_SIZE"])
                out = [forged] + out
            return out

        self.device_bus.handle = handle_twice
        self.env.scoreboard.planted_responses = 2
        self.expect_error(lambda src, err: src is self.bus and "matches no outstanding request" in str(err),
                          "two planted responses with tokens of no outstanding request", min_count=2)
        status = await core.transport.get_status()
        assert planted, "the forged response was not planted"
        assert status == dev.status == 0x0F, f"get_status read {status:#x} (the forged answer is 0xab)"
        assert len(self.bus.dropped_responses) == 1, f"{len(self.bus.dropped_responses)} response(s) dropped"
        # one more with nothing outstanding at all
        self.device_bus.handle = handle
        stray = Message.make(TransportId.GET_DEVICE_STATUS, p.GetDeviceStatusResp(0xCD), dev_id=1, response=True,
                             fmt=HdrFormat.HDR8, token=0x7777).encode(self.params["MSG_SIZE"])
        await self.firmware.send(stray)
        assert await wait_for(lambda: len(self.bus.dropped_responses) == 2), "the stray response was not dropped"
        assert await core.transport.get_status() == 0x0F, "the bus no longer answers after the drops"
