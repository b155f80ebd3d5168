"""The lake's file operations behave the same on a local folder and on an fsspec file
system (fsspec's in-memory one here; S3 is covered in test_lake_s3.py)."""

import uuid
from pathlib import Path

import pytest

from newsmill.tasks.lake.store import Store, is_url


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return Store(tmp_path / "lake")
    return Store(f"memory://newsmill-{uuid.uuid4().hex}/lake")


def test_atomic_write_read_move_and_remove(store: Store) -> None:
    path = store.path("_staging", "r1", "_RUN.json")
    store.write_atomic(path, b'{"plan": 1}')
    store.write_atomic(path, b'{"plan": 2}')  # replaced whole
    assert store.read_bytes(path) == b'{"plan": 2}'
    target = store.path("runs", "part-r1.json")
    store.move(path, target)
    assert not store.exists(path) and store.read_bytes(target) == b'{"plan": 2}'
    store.remove(target)
    store.remove(target)  # already gone: not an error
    assert not store.exists(target)


def test_only_the_first_exclusive_create_wins(store: Store) -> None:
    path = store.path("_lock")
    store.makedirs(store.base)
    assert store.create_exclusive(path, b"first")
    assert not store.create_exclusive(path, b"second")
    assert store.read_bytes(path) == b"first"


def test_listing_finds_files_and_folders_and_nothing_where_there_is_nothing(store: Store) -> None:
    for name in ("articles/year=2026/a.parquet", "articles/year=2025/b.parquet", "runs/c.json"):
        with store.open_write(store.path(name)) as handle:
            handle.write(b"x")
    assert store.children(store.base) == ["articles", "runs"]
    assert [p.rsplit("/", 1)[-1] for p in store.find(store.path("articles"), ".parquet")] == [
        "b.parquet",
        "a.parquet",
    ]
    assert store.has_files(store.path("articles"), "*.parquet")
    assert not store.has_files(store.path("runs"), "*.parquet")
    assert store.has_files(store.base, "a.*") and not store.has_files(store.base, "c.parquet")
    assert store.find(store.path("missing")) == [] and store.children(store.path("missing")) == []
    store.remove_tree(store.path("articles"))
    assert store.children(store.base) == ["runs"]


def test_duckdb_reads_the_store_where_the_uri_points(store: Store) -> None:
    path = store.path("t", "rows.csv")
    store.write_atomic(path, b"n\n1\n2\n")
    with store.duckdb() as connection:
        assert connection.sql(f"select sum(n) from '{store.uri(path)}'").fetchall() == [(3,)]
    assert is_url(store.url) != store.local


def test_a_local_store_has_an_absolute_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store("relative/lake")
    assert store.local and store.url == str(tmp_path / "relative" / "lake")
