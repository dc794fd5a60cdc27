"""The Linux virtio core on top of the transport: device registration, probe and removal.

Order of operations as drivers/virtio/virtio.c (Linux 6.12) does them:
  register_virtio_device: reset; add ACKNOWLEDGE (get_status, set_status(s | 1)); then, when a
  driver matches, the probe:
  virtio_dev_probe: add DRIVER; get_features; features = driver table & device features (the
  legacy table when the device lacks VERSION_1), plus the device's transport bits 28..41;
  finalize_features; the driver's `validate` hook when it has one, and finalize_features again
  when validate changed the features; virtio_features_ok (the platform's restricted-memory
  check when `restricted_mem_access`; VERSION_1: add FEATURES_OK and re-read the status; FEATURES_OK cleared means the device refused: ENODEV); driver probe; get_status and
  virtio_device_ready when the probe did not set DRIVER_OK; the driver's `scan` hook; enable
  config-change callbacks. Any failure adds FAILED (get_status, set_status) and leaves no driver
  bound.
  virtio_dev_remove (only for a bound driver): driver remove (reset, del_vqs); get_status (should
  read 0); add ACKNOWLEDGE. Unregistering a device whose probe failed, or that no driver
  matched, runs no remove path and sends nothing (device_release_driver finds no driver).

Config accessors (include/linux/virtio_config.h): cread8/16/32 are one `get` each with no
generation read; cread64 is a generation loop around one 8-byte `get`; cread_bytes(len) is a
generation loop around len one-byte `get`s (__virtio_cread_many); `cread(offset, size)` is the
virtio_cread macro (1, 2, 4: one get; otherwise the generation loop) and `cread_feature` its
conditional form (None when the feature was not negotiated).
"""
from __future__ import annotations

import errno
from typing import Optional, Protocol

from ..proto.constants import TRANSPORT_FEATURE_END, TRANSPORT_FEATURE_START, Feature, Status
from .driver import VirtioMsgDevice
from .errors import VirtioError


class VirtioDriverModel(Protocol):
    """A virtio device driver as the core sees it (struct virtio_driver). Optional members, as
    in the kernel: `feature_table_legacy` (list), `async validate(core)` (may clear features in
    core.transport.features; raising VirtioError fails the probe) and `scan(core)`."""
    feature_table: list[int]

    async def probe(self, core: "VirtioCore") -> None: ...
    async def remove(self, core: "VirtioCore") -> None: ...
    def config_changed(self, core: "VirtioCore") -> None: ...


class VirtioCore:
    """One struct virtio_device: the transport plus the driver bound to it."""

    def __init__(self, transport: VirtioMsgDevice, driver: Optional[VirtioDriverModel] = None, *,
                 restricted_mem_access: bool = False) -> None:
        self.transport = transport
        self.restricted_mem_access = restricted_mem_access   # the platform's mem_acc callback
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
        """virtio_device_ready: set DRIVER_OK on top of the current status (the kernel WARNs when
        it is already set; the model records that as an error)."""
        status = await self.transport.get_status()
        if status & Status.DRIVER_OK:
            self.transport.errors.append(VirtioError(errno.EINVAL, "virtio_device_ready: DRIVER_OK already set"))
        await self.transport.set_status(status | Status.DRIVER_OK)

    async def cread_many(self, offset: int, count: int, size: int) -> bytes:
        """__virtio_cread_many: generation, `count` gets of `size` bytes, generation, repeated
        until the generation is stable (a config change in between makes it read again)."""
        gen = await self.transport.generation()
        while True:
            old = gen
            data = b"".join([await self.transport.get(offset + size * i, size) for i in range(count)])
            gen = await self.transport.generation()
            if gen == old:
                return data

    async def cread_bytes(self, offset: int, length: int) -> bytes:
        """virtio_cread_bytes: `length` one-byte gets inside one generation loop."""
        return await self.cread_many(offset, length, 1)

    async def _cread_one(self, offset: int, size: int) -> int:
        return int.from_bytes(await self.transport.get(offset, size), "little")

    async def cread8(self, offset: int) -> int:
        """virtio_cread8: one get, no generation read."""
        return await self._cread_one(offset, 1)

    async def cread16(self, offset: int) -> int:
        return await self._cread_one(offset, 2)

    async def cread32(self, offset: int) -> int:
        return await self._cread_one(offset, 4)

    async def cread64(self, offset: int) -> int:
        """virtio_cread64: one 8-byte get inside a generation loop."""
        return int.from_bytes(await self.cread_many(offset, 1, 8), "little")

    async def cread(self, offset: int, size: int) -> int:
        """virtio_cread / virtio_cread_le of a member of `size` bytes."""
        if size in (1, 2, 4):
            return await self._cread_one(offset, size)
        return int.from_bytes(await self.cread_many(offset, 1, size), "little")

    async def cread_feature(self, bit: int, offset: int, size: int) -> Optional[int]:
        """virtio_cread_feature: None (-ENOENT) without the feature, else virtio_cread."""
        if not self.has_feature(bit):
            return None
        return await self.cread(offset, size)

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
        """virtio_dev_probe, step by step."""
        assert self.driver is not None
        drv = self.driver
        try:
            await self.add_status(Status.DRIVER)
            self.device_features = device_features = await self.transport.get_features()
            driver_features = 0
            for bit in drv.feature_table:
                driver_features |= 1 << bit
            legacy_table = getattr(drv, "feature_table_legacy", None)
            driver_features_legacy = driver_features
            if legacy_table is not None:
                driver_features_legacy = 0
                for bit in legacy_table:
                    driver_features_legacy |= 1 << bit
            if device_features >> Feature.VERSION_1 & 1:
                features = driver_features & device_features
            else:
                features = driver_features_legacy & device_features
            # Transport features always preserved to pass to finalize_features.
            for bit in range(TRANSPORT_FEATURE_START, TRANSPORT_FEATURE_END):
                if device_features >> bit & 1:
                    features |= 1 << bit
            self.transport.features = features
            await self.transport.finalize_features()
            validate = getattr(drv, "validate", None)
            if validate is not None:
                before = self.transport.features
                await validate(self)
                if self.transport.features != before:   # validation changed them: write again
                    await self.transport.finalize_features()
            await self._features_ok()
            await drv.probe(self)
            if not (await self.transport.get_status() & Status.DRIVER_OK):
                await self.device_ready()
            scan = getattr(drv, "scan", None)
            if scan is not None:
                scan(self)
            self.probed = True
            self._config_enable()
        except VirtioError:
            await self.add_status(Status.FAILED)
            raise

    async def _features_ok(self) -> None:
        """virtio_features_ok: a platform that restricts memory access (virtio_check_mem_acc_cb,
        `restricted_mem_access`) needs VERSION_1 and ACCESS_PLATFORM (ENODEV, nothing sent);
        without VERSION_1 there is no FEATURES_OK handshake."""
        if self.restricted_mem_access:
            for bit in (Feature.VERSION_1, Feature.ACCESS_PLATFORM):
                if not self.has_feature(bit):
                    raise VirtioError(errno.ENODEV, f"device must provide {Feature(bit).name}")
        if not self.has_feature(Feature.VERSION_1):
            return
        await self.add_status(Status.FEATURES_OK)
        status = await self.transport.get_status()
        if not status & Status.FEATURES_OK:
            raise VirtioError(errno.ENODEV, f"device refuses features: status 0x{status:x}")

    async def remove(self) -> None:
        """Unregister: virtio_dev_remove when a driver is bound (the driver resets the device
        and deletes its queues; the core checks the status reads 0 and acknowledges the device
        again). Without a bound driver (none matched, or its probe failed) the driver core calls
        no remove and nothing is sent."""
        self.config_core_enabled = False
        if self.driver is None or not self.probed:
            return
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
