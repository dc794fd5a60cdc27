"""Reference model of one split virtqueue's used ring (virtio 1.x, 2.7.8).

Layout at the used ring address `base`: flags u16, idx u16, ring[size] of {id le32, len le32},
avail_event u16. The device appends each completion at ring[idx % size] and then publishes the
new idx (u16, wrapping). The model keeps every completion in order so that the expected ring
contents after any published idx can be computed and compared with memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class UsedElem:
    id: int
    len: int

    def pack(self) -> bytes:
        return struct.pack("<II", self.id & 0xFFFFFFFF, self.len & 0xFFFFFFFF)


class UsedRingModel:
    """Expected used ring of one queue."""

    def __init__(self, base: int, size: int) -> None:
        if size < 1 or size > 32768 or size & (size - 1):
            raise ValueError(f"ring size {size} is not a power of two in 1..32768")
        if base % 4:
            raise ValueError(f"used ring address {base:#x} is not 4-byte aligned")
        self.base = base
        self.size = size
        self.elems: list[UsedElem] = []  # every completion, in ring-index order (index = position)
        self.published = 0  # count of elements covered by the last published idx (not wrapped)

    # -- layout ---------------------------------------------------------------------------
    @property
    def idx_addr(self) -> int:
        return self.base + 2

    def slot(self, index: int) -> int:
        return index % self.size

    def elem_addr(self, index: int) -> int:
        return self.base + 4 + 8 * self.slot(index)

    @property
    def ring_bytes(self) -> tuple[int, int]:
        """[start, end) of the ring array."""
        return self.base + 4, self.base + 4 + 8 * self.size

    # -- completions ----------------------------------------------------------------------
    def complete(self, id_: int, len_: int) -> int:
        """Append a completion; returns its (unwrapped) ring index."""
        self.elems.append(UsedElem(id_ & 0xFFFFFFFF, len_ & 0xFFFFFFFF))
        return len(self.elems) - 1

    @property
    def accepted(self) -> int:
        return len(self.elems)

    def elem(self, index: int) -> UsedElem:
        return self.elems[index]

    # -- publication ----------------------------------------------------------------------
    def unwrap(self, idx16: int, floor: int | None = None) -> int:
        """The unwrapped element count whose low 16 bits are idx16, at or above `floor`
        (default: the last published count) and not beyond the accepted count."""
        floor = self.published if floor is None else floor
        cand = floor + ((idx16 - floor) & 0xFFFF)
        return cand

    def check_publish(self, idx16: int) -> list[str]:
        """Validate a used->idx value about to be published; returns problems (empty if fine)
        and advances the published count when it is valid."""
        problems: list[str] = []
        new = self.unwrap(idx16)
        if new == self.published:
            problems.append(f"idx write {idx16} publishes nothing new (already {self.published & 0xFFFF})")
        if new > self.accepted:
            problems.append(f"idx {idx16} (= {new}) beyond the {self.accepted} completions accepted")
        elif new - self.published > self.size:
            problems.append(f"idx moved by {new - self.published} > ring size {self.size}")
        if not problems:
            self.published = new
        return problems

    def expected_slots(self, start: int, end: int) -> dict[int, UsedElem]:
        """slot -> element for the elements with index in [start, end), the last one per slot."""
        out: dict[int, UsedElem] = {}
        for i in range(max(start, end - self.size), end):
            out[self.slot(i)] = self.elems[i]
        return out

    def compare_memory(self, read, start: int, end: int) -> list[str]:
        """Compare the ring slots of elements [start, end) with memory; `read(addr, n)`."""
        problems = []
        for i in range(max(start, end - self.size), end):
            exp = self.elems[i].pack()
            got = bytes(read(self.elem_addr(i), 8))
            if got != exp:
                gid, glen = struct.unpack("<II", got)
                e = self.elems[i]
                problems.append(
                    f"ring[{self.slot(i)}] (element {i}) = id {gid:#x} len {glen:#x}, expected id {e.id:#x} len {e.len:#x}")
        return problems

    def compare_idx(self, read) -> list[str]:
        got = struct.unpack("<H", bytes(read(self.idx_addr, 2)))[0]
        exp = self.published & 0xFFFF
        return [] if got == exp else [f"used->idx in memory {got}, expected {exp}"]
