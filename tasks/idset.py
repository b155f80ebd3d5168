"""A set of ids that many Arrow columns are tested against, hashed once.

`pc.is_in` builds its hash table of the set again on every call. Run-level steps test
every staged batch of a run (a file per shard and partition: thousands on a large run)
against the run's dropped documents (~20% of it), so per-call hashing grew with the
product of the two: with the square of the run's size.
"""

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa


class IdSet:
    def __init__(self, ids: Iterable[str]) -> None:
        self._index = pd.Index(list(dict.fromkeys(ids)), dtype=object)

    def mask(self, column: pa.Array | pa.ChunkedArray) -> pa.Array:
        """True where the column's id is in the set."""
        return pa.array(self._index.get_indexer(column.to_numpy(zero_copy_only=False)) >= 0)
