"""The Linux virtio core on top of the transport: device registration, probe and removal.

Order of operations as drivers/virtio/virtio.c does them:
  register_virtio_device: reset; add ACKNOWLEDGE (get_status, set_status(s | 1)); then the probe
  of a matching driver:
  virtio_dev_probe: add DRIVER; get_features; features = driver table & device features, plus
  the device's transport bits 28..41; finalize_features; (VERSION_1) add FEATURES_OK and re-read
  the status: FEATURES_OK cleared means the device refused (ENODEV); driver probe (config reads,
  find_vqs, usually device_ready); if DRIVER_OK is still not set, device_ready; on any failure
  add FAILED.
  virtio_dev_remove: driver remove (reset, del_vqs); get_status (should read 0); add ACKNOWLEDGE.
"""
from __future__ import annotations

import errno
from typing import Optional, Protocol

from ..proto.constants import TRANSPORT_FEATURE_END, TRANSPORT_FEATURE_START, Feature, Status
from .driver import VirtioMsgDevice
from .errors import VirtioError


class VirtioDriverModel(Protocol):
    """A virtio device driver as the core sees it (struct virtio_driver)."""
    feature_table: list[int]

    async def probe(self, core: "VirtioCore") -> None: ...
    async def remove(self, core: "VirtioCore") -> None: ...
    def config_changed(self, core: "VirtioCore") -> None: ...


class VirtioCore:
    """One struct virtio_device: the transport plus the driver bound to it."""

    def __init__(self, transport: VirtioMsgDevice, driver: Optional[VirtioDriverModel] = None) -> None:
        self.transport = transport
        self.driver = driver
        self.probed = False
        self.probe_error: Optional[VirtioError] = None
        self.device_features = 0
        self.config_core_enabled = False
        self.config_change_pending = False
        self.config_change_count = 0
        transport.config_changed = self.config_changed

    # --- helpers of include/linux/virtio_config.h ----------------------------------------------
    @property
    def features(self) -> int:
        return self.transport.features

    def has_feature(self, bit: int) -> bool:
        return self.transport.has_feature(bit)

    async def add_status(self, bit: int) -> None:
        """virtio_add_status: read, OR in the bit, write back."""
        await self.transport.set_status(await self.transport.get_status() | bit)

    async def device_ready(self) -> None:
        """virtio_device_ready: set DRIVER_OK on top of the current status."""
        status = await self.transport.get_status()
        await self.transport.set_status(status | Status.DRIVER_OK)

    async def cread_bytes(self, offset: int, length: int) -> bytes:
        """__virtio_cread_many with one element: generation, get, generation, repeated until
        the generation is stable (a config change in between makes it read again)."""
        gen = await self.transport.generation()
        while True:
            old = gen
            data = await self.transport.get(offset, length)
            gen = await self.transport.generation()
            if gen == old:
                return data

    async def cwrite_bytes(self, offset: int, data: bytes) -> None:
        await self.transport.set(offset, data)

    # --- registration and probe ----------------------------------------------------------------
    async def register(self) -> None:
        """register_virtio_device (after the transport's register): reset, ACKNOWLEDGE, and the
        probe when a driver is bound. A failed probe is recorded in probe_error (the device stays
        registered, as in Linux)."""
        self.config_core_enabled = False
        self.config_change_pending = False
        await self.transport.reset()
        await self.add_status(Status.ACKNOWLEDGE)
        if self.driver is not None:
            try:
                await self.probe()
            except VirtioError as exc:
                self.probe_error = exc

    async def probe(self) -> None:
        """virtio_dev_probe."""
        assert self.driver is not None
        try:
            await self.add_status(Status.DRIVER)
            self.device_features = device_features = await self.transport.get_features()
            driver_features = 0
            for bit in self.driver.feature_table:
                driver_features |= 1 << bit
            # Linux drivers list modern features only; legacy negotiation is not modelled.
            features = driver_features & device_features
            for bit in range(TRANSPORT_FEATURE_START, TRANSPORT_FEATURE_END):
                if device_features >> bit & 1:
                    features |= 1 << bit
            self.transport.features = features
            await self.transport.finalize_features()
            await self._features_ok()
            await self.driver.probe(self)
            if not (await self.transport.get_status() & Status.DRIVER_OK):
                await self.device_ready()
            self.probed = True
            self._config_enable()
        except VirtioError:
            await self.add_status(Status.FAILED)
            raise

    async def _features_ok(self) -> None:
        """virtio_features_ok: without VERSION_1 there is no FEATURES_OK handshake."""
        if not self.has_feature(Feature.VERSION_1):
            return
        await self.add_status(Status.FEATURES_OK)
        status = await self.transport.get_status()
        if not status & Status.FEATURES_OK:
            raise VirtioError(errno.ENODEV, f"device refuses features: status 0x{status:x}")

    async def remove(self) -> None:
        """virtio_dev_remove: the driver resets the device and deletes its queues; the core
        checks the status reads 0 and acknowledges the device again."""
        self.config_core_enabled = False
        if self.driver is not None and self.probed:
            await self.driver.remove(self)
        self.probed = False
        if await self.transport.get_status():
            self.transport.errors.append(VirtioError(errno.EIO, "device status not 0 after remove"))
        await self.add_status(Status.ACKNOWLEDGE)

    # --- config change notification ------------------------------------------------------------
    def _config_enable(self) -> None:
        self.config_core_enabled = True
        if self.config_change_pending:
            self.config_change_pending = False
            self.config_changed()

    def config_changed(self) -> None:
        """virtio_config_changed: the driver's handler, or pending until probe completes."""
        if not self.config_core_enabled:
            self.config_change_pending = True
        elif self.driver is not None:
            self.driver.config_changed(self)
            self.config_change_count += 1
