"""Errors of the models, carrying the Linux errno the kernel would return."""
from __future__ import annotations

import errno as _errno


class VirtioError(Exception):
    """An operation failed the way the kernel fails it: `errno` is the positive errno value
    (errno.ENODEV, ...) and `name` its symbolic name ("ENODEV")."""

    def __init__(self, err: int, detail: str = "") -> None:
        self.errno = err
        self.name = _errno.errorcode.get(err, str(err))
        super().__init__(f"{self.name}: {detail}" if detail else self.name)

    @property
    def code(self) -> int:
        """The kernel's return value (-errno)."""
        return -self.errno


class BusError(VirtioError):
    """A bus transfer failed: ETIMEDOUT when no response came, EIO for a bus fault."""


class VirtqueueError(VirtioError):
    """A virtqueue operation failed (ENOSPC when the ring is full, EIO for a broken ring)."""


class IoStatusError(VirtioError):
    """A request completed with an error status (EIO): `status` is the device's status byte
    (VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP, ...), None when the device wrote none."""

    def __init__(self, status: "int | None", detail: str = "") -> None:
        self.status = status
        what = f"status {status}" if status is not None else "no status written"
        super().__init__(_errno.EIO, f"{what}: {detail}" if detail else what)
