"""What stage code may ask of the committed lake: its rows by key, read-only. Stages take a
`Lookup` (the wiring passes the `Lake`, or `NO_LAKE` where there is none) and never open
the lake themselves, so they run and test without one."""

from typing import Protocol

import numpy as np
import pyarrow as pa

from newsmill.schemas.tables import TableSpec


class Lookup(Protocol):
    def look_up(
        self, spec: TableSpec, column: str, keys: np.ndarray, columns: list[str]
    ) -> pa.Table:
        """Committed rows of `spec` whose uint64 `column` is one of `keys`, with `columns`."""
        ...


class EmptyLake:
    """A lake with nothing committed: every lookup finds no rows."""

    def look_up(
        self, spec: TableSpec, column: str, keys: np.ndarray, columns: list[str]
    ) -> pa.Table:
        return spec.schema.empty_table().select(columns)


NO_LAKE = EmptyLake()
