"""A set of E.164 numbers held as 64-bit integers, checked and grown a whole chunk at a time.

The import's de-duplication needs every number already in the scope and every number kept
from the file so far: as Python strings in a ``set`` that is ~100 bytes a number (1 GB for
10 M), as integers here 8. ``+12125550143`` is the key 12125550143 (E.164 has no leading zero
after the ``+``, so keys and numbers correspond one to one). The keys live in sorted runs
whose sizes fall geometrically (each added chunk is a run; a run is merged into the one before
it while it is at least half that one's size), so a lookup is a binary search in each of
O(log n) runs and the total merge work is O(n log n).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_E164 = r"^\+[1-9][0-9]{0,17}$"


def number_keys(phones: Sequence[str | None] | pa.Array, *, e164: bool = False) -> np.ndarray:
    """The key of every number: ``-1`` for ``None`` and for anything not ``+`` and digits
    (``e164=True``: every value is ``None`` or E.164, as the normaliser gives them; not checked)."""
    arr = phones if isinstance(phones, pa.Array) else pa.array(phones, pa.string())
    digits = pc.utf8_slice_codeunits(arr, 1)
    if not e164:
        ok = pc.fill_null(pc.match_substring_regex(arr, _E164), False)
        digits = pc.if_else(ok, digits, pa.scalar(None, pa.string()))
    return pc.fill_null(pc.cast(digits, pa.int64()), -1).to_numpy(zero_copy_only=False)


class NumberSet:
    """Keys (see :func:`number_keys`) in sorted runs; immutable runs can be shared by copies."""

    def __init__(self, runs: Iterable[np.ndarray] = ()) -> None:
        self.runs: list[np.ndarray] = [r for r in runs if len(r)]

    @classmethod
    def of(cls, batches: Iterable[Sequence[str]]) -> NumberSet:
        """The numbers of ``batches`` (lists of numbers, e.g. a query's result in partitions)."""
        parts = [keys[keys >= 0] for keys in map(number_keys, batches)]
        return cls([np.unique(np.concatenate(parts))] if parts else [])

    def copy(self) -> NumberSet:
        return NumberSet(self.runs)

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """For each key, whether it is in the set."""
        out = np.zeros(len(keys), bool)
        for run in self.runs:
            pos = np.searchsorted(run, keys)
            np.minimum(pos, len(run) - 1, out=pos)
            out |= run[pos] == keys
        return out

    def add(self, keys: np.ndarray) -> None:
        """Add sorted, unique keys that are not in the set yet."""
        if not len(keys):
            return
        self.runs.append(keys)
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
            last = self.runs.pop()
            merged = np.concatenate([self.runs.pop(), last])
            merged.sort(kind="stable")  # two sorted runs: a linear merge
            self.runs.append(merged)
