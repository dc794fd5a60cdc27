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
