"""Memory the virtqueues live in, and an allocator for rings and buffers.

The models access memory synchronously through `read`/`write` (in simulation the memory is a
cocotbext-axi AxiRam's backing store, accessed directly); a bytearray-backed memory and a bump
allocator serve the unit tests.
"""
from __future__ import annotations

import struct
from typing import Protocol, runtime_checkable


@runtime_checkable
class Memory(Protocol):
    def read(self, addr: int, n: int) -> bytes: ...
    def write(self, addr: int, data: bytes) -> None: ...


@runtime_checkable
class Allocator(Protocol):
    def alloc(self, size: int, align: int) -> int: ...
    def free(self, addr: int) -> None: ...


class ByteMemory:
    """A flat memory of `size` bytes at bus address `base`; out-of-range accesses raise
    IndexError (a model bug or a wild address, never silently wrapped)."""

    def __init__(self, size: int, base: int = 0) -> None:
        self.base = base
        self.data = bytearray(size)

    def _range(self, addr: int, n: int) -> int:
        off = addr - self.base
        if n < 0 or off < 0 or off + n > len(self.data):
            raise IndexError(f"access 0x{addr:x}+{n} outside memory 0x{self.base:x}+{len(self.data)}")
        return off

    def read(self, addr: int, n: int) -> bytes:
        off = self._range(addr, n)
        return bytes(self.data[off:off + n])

    def write(self, addr: int, data: bytes) -> None:
        off = self._range(addr, len(data))
        self.data[off:off + len(data)] = data


class BumpAllocator:
    """Hands out aligned, never reused blocks from [base, base + size). `free` only records
    the release, so a use after free still reads the old bytes (tests can check `freed`)."""

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.end = base + size
        self.next = base
        self.live: dict[int, int] = {}
        self.freed: list[int] = []

    def alloc(self, size: int, align: int = 1) -> int:
        addr = -(-self.next // align) * align
        if addr + size > self.end:
            raise MemoryError(f"allocator exhausted: {size} bytes aligned {align}")
        self.next = addr + size
        self.live[addr] = size
        return addr

    def free(self, addr: int) -> None:
        if addr not in self.live:
            raise ValueError(f"free of 0x{addr:x}, which is not allocated")
        del self.live[addr]
        self.freed.append(addr)


# Little-endian field access, shared by the ring models.
def read_u16(mem: Memory, addr: int) -> int:
    return struct.unpack("<H", mem.read(addr, 2))[0]


def read_u32(mem: Memory, addr: int) -> int:
    return struct.unpack("<I", mem.read(addr, 4))[0]


def read_u64(mem: Memory, addr: int) -> int:
    return struct.unpack("<Q", mem.read(addr, 8))[0]


def write_u16(mem: Memory, addr: int, value: int) -> None:
    mem.write(addr, struct.pack("<H", value & 0xFFFF))


def write_u32(mem: Memory, addr: int, value: int) -> None:
    mem.write(addr, struct.pack("<I", value & 0xFFFFFFFF))


def write_u64(mem: Memory, addr: int, value: int) -> None:
    mem.write(addr, struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))
