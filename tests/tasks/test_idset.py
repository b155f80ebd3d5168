"""An id set tests Arrow columns, plain and chunked, the way `pc.is_in` would."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from newsmill.tasks import idset
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


HEX_IDS = [f"{i * 0x9E3779B97F4A7C15 % (1 << 128):032x}" for i in range(1, 400)]


@pytest.mark.parametrize(
    "column",
    [
        pa.array(HEX_IDS[100:300]),
        pa.array(HEX_IDS[100:300]).slice(17, 150),  # an offset into shared buffers
        pa.chunked_array([HEX_IDS[:50], HEX_IDS[250:], []]),
        pa.array(HEX_IDS[150:250], pa.large_string()),
        pa.array([*HEX_IDS[190:210], "short", "é" * 16]),  # other widths: the general path
        pa.array([*HEX_IDS[190:210], None]),  # nulls: the general path
    ],
)
def test_ids_of_one_width_are_read_from_the_column_buffers(column: pa.Array) -> None:
    ids = HEX_IDS[::3][:100]
    expected = pc.is_in(column, value_set=pa.array(ids), skip_nulls=True)
    assert IdSet(ids).mask(column).to_pylist() == expected.to_pylist()


def test_a_hash_shared_with_a_member_is_not_membership(monkeypatch: pytest.MonkeyPatch) -> None:
    # a hash of the first byte alone: every probe below collides with a member
    monkeypatch.setattr(idset, "row_hashes", lambda rows: rows[:, 0].astype(np.uint64))
    members = ["a-member", "b-member", "c-member"]
    column = pa.array(["a-member", "a-nobody", "b-nobody", "c-member", "z-nobody"])
    assert IdSet(members).mask(column).to_pylist() == [True, False, False, True, False]


def test_members_whose_hashes_collide_are_still_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idset, "row_hashes", lambda rows: rows[:, 0].astype(np.uint64))
    members = ["a-member", "a-other1", "b-member"]
    column = pa.array(["a-other1", "a-member", "a-nobody", "b-member"])
    assert IdSet(members).mask(column).to_pylist() == [True, True, False, True]


def test_ids_beyond_ascii_are_found_too() -> None:
    ids = ["Łódź-01", "Zürich1", "plain-1"]  # one length in characters, not in bytes
    column = pa.array(["Zürich1", "Łódź-01", "plain-1", "Zurich1", "plain-2"])
    assert IdSet(ids).mask(column).to_pylist() == [True, True, True, False, False]
