"""An id set tests Arrow columns, plain and chunked, the way `pc.is_in` would."""

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from newsmill.tasks.idset import IdSet


@pytest.mark.parametrize(
    "column",
    [
        pa.array(["d1", "d2", "d3", "d1", "d9"]),
        pa.chunked_array([["d1", "d2"], ["d3", "d1", "d9"]]),
        pa.array([], pa.string()),
    ],
)
def test_the_mask_is_is_in_with_the_set_hashed_once(column: pa.Array) -> None:
    ids = ["d3", "d1", "d1", "d7"]  # repeats and ids the column lacks
    expected = pc.is_in(column, value_set=pa.array(sorted(set(ids))))
    assert IdSet(ids).mask(column).to_pylist() == expected.to_pylist()


def test_an_empty_set_masks_nothing() -> None:
    assert IdSet([]).mask(pa.array(["d1", "d2"])).to_pylist() == [False, False]
