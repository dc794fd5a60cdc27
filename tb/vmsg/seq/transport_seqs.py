"""Directed sequences, one per transport and bus operation.

Each is a pyuvm virtual sequence around one operation of the driver model (which runs its
messages through the driver-port agent) or of the device side, with the check a caller
almost always wants. Tests and the random sequences compose them.

    await GetConfigSeq(core, 0, 8).start()          # .result: the bytes, checked against the device
    await PingSeq(bus_driver, 0x1234).start()
"""

from __future__ import annotations

from pyuvm import uvm_sequence


class _OpSeq(uvm_sequence):
    result = None


class GetDevicesSeq(_OpSeq):
    """GET_DEVICES paging; result: the device numbers found."""

    def __init__(self, bus_driver, expect: list[int] | None = None, name: str = "get_devices"):
        super().__init__(name)
        self.bd, self.expect = bus_driver, expect

    async def body(self):
        self.result = await self.bd.get_devices()
        if self.expect is not None:
            assert self.result == sorted(self.expect), f"GET_DEVICES found {self.result}, expected {sorted(self.expect)}"


class PingSeq(_OpSeq):
    def __init__(self, bus_driver, data: int, name: str = "ping"):
        super().__init__(name)
        self.bd, self.data = bus_driver, data

    async def body(self):
        self.result = await self.bd.ping(self.data)
        assert self.result == self.data, f"PING {self.data:#x} answered {self.result:#x}"


class ProbeSeq(_OpSeq):
    """Register a device (DEVICE_INFO) and probe it as the Linux core does; result: the core."""

    def __init__(self, bus_driver, dev_num: int, name: str = "probe"):
        super().__init__(name)
        self.bd, self.dev_num = bus_driver, dev_num

    async def body(self):
        self.result = await self.bd.register_device(self.dev_num)
        assert self.result is not None and self.result.probed, \
            f"dev {self.dev_num}: probe failed ({self.result.probe_error if self.result else self.bd.errors[-1:]})"


class RemoveSeq(_OpSeq):
    """Driver removal: reset, del_vqs (RESET_VQUEUE per queue), ACKNOWLEDGE again."""

    def __init__(self, bus_driver, dev_num: int, name: str = "remove"):
        super().__init__(name)
        self.bd, self.dev_num = bus_driver, dev_num

    async def body(self):
        await self.bd.unregister_device(self.dev_num)
        assert self.dev_num not in self.bd.devices


class GetConfigSeq(_OpSeq):
    """virtio_cread-style read (generation before and after); checked against the device's
    config when the generation did not move meanwhile."""

    def __init__(self, core, offset: int, length: int, device=None, name: str = "get_config"):
        super().__init__(name)
        self.core, self.offset, self.length, self.device = core, offset, length, device

    async def body(self):
        gen0 = self.device.generation if self.device is not None else None
        self.result = await self.core.cread_bytes(self.offset, self.length)
        if self.device is not None and self.device.generation == gen0:
            want = bytes(self.device.config[self.offset:self.offset + self.length])
            assert self.result == want, f"config {self.offset}+{self.length}: read {self.result.hex()}, device holds {want.hex()}"


class SetConfigSeq(_OpSeq):
    """SET_CONFIG with the current generation; applied unless the device changed meanwhile."""

    def __init__(self, core, offset: int, data: bytes, device=None, name: str = "set_config"):
        super().__init__(name)
        self.core, self.offset, self.data, self.device = core, offset, data, device

    async def body(self):
        gen = await self.core.transport.generation()
        await self.core.transport.set(self.offset, self.data)
        if self.device is not None and self.device.generation == gen:
            got = bytes(self.device.config[self.offset:self.offset + len(self.data)])
            assert got == self.data, f"SET_CONFIG {self.offset}+{len(self.data)} not applied"


class GenerationSeq(_OpSeq):
    def __init__(self, core, name: str = "generation"):
        super().__init__(name)
        self.core = core

    async def body(self):
        self.result = await self.core.transport.generation()


class GetStatusSeq(_OpSeq):
    def __init__(self, core, device=None, name: str = "get_status"):
        super().__init__(name)
        self.core, self.device = core, device

    async def body(self):
        self.result = await self.core.transport.get_status()
        if self.device is not None:
            assert self.result == self.device.status & 0xFF, f"status {self.result:#x}, device holds {self.device.status:#x}"


class SetStatusSeq(_OpSeq):
    def __init__(self, core, status: int, name: str = "set_status"):
        super().__init__(name)
        self.core, self.status = core, status

    async def body(self):
        await self.core.transport.set_status(self.status)


class FeaturesSeq(_OpSeq):
    """GET_DEV_FEATURES; result: the 64 feature bits, checked against the device's offer."""

    def __init__(self, core, device=None, name: str = "features"):
        super().__init__(name)
        self.core, self.device = core, device

    async def body(self):
        self.result = await self.core.transport.get_features()
        if self.device is not None:
            assert self.result == self.device.features


class NotifySeq(_OpSeq):
    """EVENT_AVAIL for one of the device's queues (becomes a doorbell), sent as
    virtqueue_notify does: through the queue's notify callback, which the transport chose for
    the negotiated features (with NOTIFICATION_DATA the kick carries the avail index)."""

    def __init__(self, core, vq, name: str = "notify"):
        super().__init__(name)
        self.core, self.vq = core, vq

    async def body(self):
        self.result = await self.vq.notify()
        assert self.result, "EVENT_AVAIL could not be sent"


class DeviceResetSeq(_OpSeq):
    """Device reset by the driver and a new probe (status 0 resets queues and features)."""

    def __init__(self, bus_driver, dev_num: int, name: str = "device_reset"):
        super().__init__(name)
        self.bd, self.dev_num = bus_driver, dev_num

    async def body(self):
        await RemoveSeq(self.bd, self.dev_num).start()
        probe = ProbeSeq(self.bd, self.dev_num)
        await probe.start()
        self.result = probe.result


class ConfigChangeSeq(_OpSeq):
    """Device side: a config change (generation first) announced with EVENT_CONFIG."""

    def __init__(self, firmware, device_bus, dev_num: int, offset: int, data: bytes, name: str = "config_change"):
        super().__init__(name)
        self.fw, self.dbus, self.dev_num, self.offset, self.data = firmware, device_bus, dev_num, offset, data

    async def body(self):
        await self.fw.send(await self.dbus.change_config(self.dev_num, self.offset, self.data))


class HotplugSeq(_OpSeq):
    """Device side: a new device and its EVENT_DEVICE (ready)."""

    def __init__(self, firmware, device_bus, dev_num: int, model, name: str = "hotplug"):
        super().__init__(name)
        self.fw, self.dbus, self.dev_num, self.model = firmware, device_bus, dev_num, model

    async def body(self):
        await self.fw.send(await self.dbus.hotplug(self.dev_num, self.model))


class UnplugSeq(_OpSeq):
    """Device side: a device goes away with EVENT_DEVICE (removed)."""

    def __init__(self, firmware, device_bus, dev_num: int, name: str = "unplug"):
        super().__init__(name)
        self.fw, self.dbus, self.dev_num = firmware, device_bus, dev_num

    async def body(self):
        await self.fw.send(await self.dbus.remove(self.dev_num))
