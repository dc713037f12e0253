"""A set of 64-bit hashes in one flat array: 8 to 16 bytes per address where a Python set of
ints takes about 70, so de-duplicating a million-row list stays small."""

from __future__ import annotations

from array import array

_START = 1 << 12


class HashSet64:
    """Open addressing with linear probing over an array of signed 64-bit ints; 0 is empty."""

    __slots__ = ("_count", "_mask", "_table")

    def __init__(self) -> None:
        self._table = array("q", bytes(8 * _START))
        self._mask = _START - 1
        self._count = 0

    def add(self, value: int) -> bool:
        """Add `value` (any int that fits 64 bits); False when it was there already."""
        value = value or 1
        table, mask = self._table, self._mask
        slot = value & mask
        while (held := table[slot]) != 0:
            if held == value:
                return False
            slot = (slot + 1) & mask
        table[slot] = value
        self._count += 1
        if self._count * 2 > mask:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._table
        self._table = array("q", bytes(16 * len(old)))
        self._mask = 2 * len(old) - 1
        self._count = 0
        for value in old:
            if value:
                self.add(value)

    def __len__(self) -> int:
        return self._count
