"""Where the lake's files live: a local folder, or any fsspec URL (s3://bucket/prefix, gs://,
az://, memory://). The lake's commit protocol needs three things of it, which local folders
and object stores give in different ways:

- write a small file atomically: a temporary file, fsync, rename locally; one PUT on an
  object store (an object appears whole or not at all);
- create a file only if it does not exist (the lock): O_EXCL locally; a conditional PUT
  (`If-None-Match: *`, S3 since 2024) on object stores;
- read a file, check it and replace or delete it as one step (taking over a dead run's
  lock, renewing a lease): an flock on a guard file locally; on object stores the lease
  alone (a takeover needs the holder stalled past its lease);
- move a file into place: an atomic rename locally; copy then delete on object stores,
  which have no rename (each object still appears whole; the journal makes the set of moves
  complete even after a crash).

Credentials come from the file system's own configuration (for S3: the standard AWS_*
environment variables, ~/.aws, an instance role); newsmill never reads, prints or logs them.
"""

# annotations stay strings: a DuckDB type object held by an annotation outlives the
# interpreter's teardown and DuckDB prints a "nanobind: leaked" report at every exit
from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import functools
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import fsspec
import pyarrow.fs as pafs
from fsspec.implementations.local import LocalFileSystem

from newsmill.tasks.extras import require


def is_url(location: str) -> bool:
    """A location fsspec must open (s3://…), rather than a local path."""
    return "://" in location and not location.startswith("file://")


def url_to_fs(url: str) -> tuple[Any, str]:
    """fsspec's file system and path for a URL, listings never cached: other processes
    (workers, later runs) write the same prefixes."""
    if url.startswith(("s3://", "s3a://")):
        require("s3fs", f"{url.split('://')[0]}:// locations")
    fs, path = fsspec.core.url_to_fs(url, use_listings_cache=False)
    return fs, path


class Store:
    def __init__(self, location: str | Path) -> None:
        location = str(location)
        self.fs, base = url_to_fs(location)
        self.local = isinstance(self.fs, LocalFileSystem)
        if self.local:
            self.base = os.path.abspath(base)
            self.url = self.base
            self.arrow_fs: pafs.FileSystem | None = None
        else:
            self.base = base.rstrip("/")
            protocol = (
                self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
            )
            self.url = f"{protocol}://{self.base}"
            self.arrow_fs = pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def uri(self, path: str) -> str:
        """A path as DuckDB and people name it: local paths as they are, else a URL."""
        if self.local:
            return path
        return f"{self.url.split('://', 1)[0]}://{path}"

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def read_bytes(self, path: str) -> bytes:
        data: bytes = self.fs.cat_file(path)
        return data

    def write_atomic(self, path: str, data: bytes) -> None:
        if not self.local:
            self.fs.pipe_file(path, data)
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Write `path` if no file is there; False if one is. Readers see the whole of
        `data` or no file, never an empty or half-written one: locally the data is written
        under a temporary name and hard-linked into place (link fails if `path` exists);
        an object store's conditional PUT makes the object appear whole."""
        if not self.local:
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            return True
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            os.remove(tmp)
        return True

    @contextlib.contextmanager
    def serialised(self, path: str) -> Iterator[None]:
        """Make a read-check-write of `path` one step among processes on this host (an
        flock on `<path>.guard`, a file never deleted). Object stores have no such lock:
        there a takeover relies on the lease having run out, so its holder is stalled."""
        if not self.local:
            yield
            return
        with open(f"{path}.guard", "ab") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(guard, fcntl.LOCK_UN)

    def move(self, source: str, target: str) -> None:
        if self.local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(source, target)
        else:
            self.fs.mv(source, target)

    def remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def remove_tree(self, path: str) -> None:
        if self.local:
            shutil.rmtree(path, ignore_errors=True)
            return
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(path, recursive=True)

    def children(self, path: str) -> list[str]:
        """Names of the folders (prefixes) directly under `path`."""
        try:
            entries = self.fs.ls(path, detail=True)
        except FileNotFoundError:
            return []
        return sorted(
            e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e["type"] == "directory"
        )

    def find(self, path: str, suffix: str = "") -> list[str]:
        """Every file under `path` whose name ends with `suffix`, sorted."""
        try:
            found = self.fs.find(path)
        except FileNotFoundError:
            return []
        return sorted(f for f in found if f.endswith(suffix))

    def has_files(self, path: str, name: str) -> bool:
        """A file under `path` whose name matches the glob `name` (`*.parquet`)."""
        if self.local:
            return any(Path(path).glob(f"**/{name}"))
        return any(fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], name) for p in self.find(path))

    def open_write(self, path: str) -> BinaryIO:
        """A new file to stream into (staging only: nothing reads it before it is closed)."""
        self.makedirs(os.path.dirname(path))
        handle: BinaryIO = self.fs.open(path, "wb")
        return handle

    def makedirs(self, path: str) -> None:
        if self.local:
            os.makedirs(path, exist_ok=True)

    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection that reads this store (remote ones through fsspec: no DuckDB
        extension to download)."""
        connection = duckdb.connect()
        if not self.local:
            self._listing_reader.invalidate_cache()
            connection.register_filesystem(self._listing_reader)
        return connection

    @functools.cached_property
    def _listing_reader(self) -> Any:
        """The store's file system with listings cached, for DuckDB. DuckDB asks fsspec for
        each file's details again and again (on S3, ~7 HEAD requests per file and query);
        cached, they come from the listing its glob made. A new connection clears the
        cache: it never sees files older than itself, and the files it reads, committed
        ones, never change (a commit adds files, and this run's commit is followed by a new
        connection)."""
        options = self.fs.storage_options | {"use_listings_cache": True}
        return type(self.fs)(**options, skip_instance_cache=True)
