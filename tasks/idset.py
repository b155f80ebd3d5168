"""A set of ids that many Arrow columns are tested against, hashed once.

`pc.is_in` builds its hash table of the set again on every call. Run-level steps test
every staged batch of a run (a file per shard and partition: thousands on a large run)
against the run's dropped documents (~20% of it), so per-call hashing grew with the
product of the two: with the square of the run's size.

A set of ASCII ids of one length (the pipeline's doc_ids: 32 hex digits) is looked up in
the column's own buffers: each value hashed to 64 bits from its bytes, found by binary
search among the set's sorted hashes, and a hash found compared byte for byte with the
member. No Python string is made per row, as a pandas index needs (100k rows against 4k
ids: 45 ms with the index, 9 ms; a 1M run's `finish` 26.0 → 23.6 s). Other sets and
columns (ids of mixed lengths, nulls) take a pandas index.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from newsmill.tasks.records import mix_columns


class IdSet:
    def __init__(self, ids: Iterable[str]) -> None:
        self._ids = list(dict.fromkeys(ids))
        self._fixed = _FixedWidthIds.of(self._ids)

    def mask(self, column: pa.Array | pa.ChunkedArray) -> pa.Array:
        """True where the column's id is in the set."""
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        masks = [self._mask(chunk) for chunk in chunks]
        return pa.array(np.concatenate(masks) if masks else np.zeros(0, dtype=bool))

    def _mask(self, array: pa.Array) -> np.ndarray:
        if (
            self._fixed is not None
            and (rows := _fixed_width_rows(array, self._fixed.width)) is not None
        ):
            return self._fixed.contains(rows)
        return self._index.get_indexer(array.to_numpy(zero_copy_only=False)) >= 0

    @functools.cached_property
    def _index(self) -> pd.Index:
        return pd.Index(self._ids, dtype=object)


@dataclass(frozen=True)
class _FixedWidthIds:
    width: int  # bytes (ASCII characters) of every member
    hashes: np.ndarray  # (n,) uint64, sorted, all distinct
    members: np.ndarray  # (n, width) uint8: the members' bytes, in the hashes' order

    @classmethod
    def of(cls, ids: list[str]) -> "_FixedWidthIds | None":
        """The set, if its ids are ASCII of one length and their hashes distinct."""
        widths = {len(i) for i in ids}
        joined = "".join(ids)
        if len(widths) != 1 or not (width := widths.pop()) or not joined.isascii():
            return None
        members = np.frombuffer(joined.encode(), dtype=np.uint8).reshape(len(ids), width)
        hashes = row_hashes(members)
        order = np.argsort(hashes)
        hashes = hashes[order]
        if (hashes[1:] == hashes[:-1]).any():
            return None
        return cls(width, hashes, members[order])

    def contains(self, rows: np.ndarray) -> np.ndarray:
        """(n,) bool: which of the (n, width) byte rows are members."""
        hashes = row_hashes(rows)
        position = np.searchsorted(self.hashes, hashes)
        position[position == len(self.hashes)] = 0
        found = self.hashes[position] == hashes
        candidates = np.flatnonzero(found)
        found[candidates] = (self.members[position[candidates]] == rows[candidates]).all(axis=1)
        return found


def row_hashes(rows: np.ndarray) -> np.ndarray:
    """(n,) uint64: a hash of each row of an (n, width) uint8 array."""
    if rows.shape[1] % 8:
        rows = np.pad(rows, ((0, 0), (0, 8 - rows.shape[1] % 8)))
    return mix_columns(np.ascontiguousarray(rows).view(np.uint64))


def _fixed_width_rows(array: pa.Array, width: int) -> np.ndarray | None:
    """The (n, width) bytes of a string array whose values are all `width` bytes long and
    none null, read from its buffers; None for any other array."""
    if array.null_count or not (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    ):
        return None
    n = len(array)
    if not n:
        return np.zeros((0, width), dtype=np.uint8)
    offset_type = np.int32 if pa.types.is_string(array.type) else np.int64
    _, offset_buffer, data = array.buffers()
    offsets = np.frombuffer(
        offset_buffer, dtype=offset_type, count=n + 1, offset=array.offset * offset_type().itemsize
    )
    if (np.diff(offsets) != width).any():
        return None
    return np.frombuffer(data, dtype=np.uint8, count=n * width, offset=int(offsets[0])).reshape(
        n, width
    )
