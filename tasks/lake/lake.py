"""The lake: the only module that knows its layout, staging area, commit and lock.

Layout under the lake root:

    <table>/<key>=<value>/.../part-<run_id>.parquet   committed data, Hive partitions
    _staging/<run_id>/<table>/...                      a run's files before its commit
    _staging/<run_id>/_COMMIT.json                     the commit journal
    _staging/<run_id>/_RUN.json, _shards/<n>.arrow     a run's plan and staged shards,
                                                       so a run that died can be resumed
    _lock                                              who is writing (pid, host, run)

Commit protocol: a run writes everything under `_staging/<run_id>/`, then writes the
journal (atomically) listing its files, then moves each file into place with an atomic
rename, the `runs` row last, then deletes its staging folder. A crash before the journal
leaves nothing visible (the next run resumes from the staged shards, or deletes them); a
crash after it is rolled forward by the next run. Names starting with `_` are ignored by DuckDB globs on
`<table>/**` and by pyarrow/pandas dataset discovery.

The lake is a local folder or any fsspec URL (`lake.store`): on object stores the renames
are copies then deletes, and the journal makes them complete as it does locally.
"""

import contextlib
import functools
import json
import operator
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from newsmill.schemas.tables import (
    ARTICLES,
    DUPLICATES,
    ENTITIES,
    MINHASH,
    PARAGRAPHS,
    QUOTES,
    REJECTS,
    RUNS,
    TABLES,
    TableSpec,
)
from newsmill.tasks.errors import LakeError, SchemaError
from newsmill.tasks.idset import IdSet
from newsmill.tasks.ingest.sources import SourceFile
from newsmill.tasks.lake import lock
from newsmill.tasks.lake.store import Store, is_url

STAGING_DIR = "_staging"
JOURNAL_NAME = "_COMMIT.json"
RUN_PLAN_NAME = "_RUN.json"  # a run that can be resumed: its plan
CHECKPOINT_DIR = "_shards"  # and one checkpoint per staged shard
CRAWL_CHECKPOINT = "_CRAWL.json"  # and what its fetch stage staged
RAW_DIR = "raw"  # the raw zone: every fetched response, in WARC files
ROW_GROUP_ROWS = 65_536  # merged files' row groups: this many rows or bytes, whichever first
ROW_GROUP_BYTES = 32 << 20
# The tables a run merges before its commit (`RunWriter.merge_parts`): every staged file of
# theirs is read once and written again. On a local lake they are staged with lz4 and no
# dictionaries: on the 20k benchmark corpus a shard's write took 143 ms instead of 170 and
# the merge 0.9-1.1 s instead of 1.3, for staging files ~1.6x the size (~2.5x with no
# compression at all, which measured no faster), kept until the commit. A remote lake
# stages them as it keeps them: its uploads are the cost there.
MERGED_TABLES = (ARTICLES, PARAGRAPHS, ENTITIES, QUOTES, DUPLICATES, REJECTS)
_MERGED_NAMES = frozenset(spec.name for spec in MERGED_TABLES)


def parquet_writer(
    path: str, schema: pa.Schema, filesystem: Any, plain: bool = False
) -> pq.ParquetWriter:
    """Every table file: zstd, and dictionary pages for every column but lists. A list
    holds a signature's hash values, all distinct: trying a dictionary for them took ~3x
    the time of writing the `minhash` table without one, and reading it ~2x. `plain`: a
    staging file read once by the merge, lz4 and no dictionaries (see `MERGED_TABLES`)."""
    if plain:
        return pq.ParquetWriter(
            path, schema, compression="lz4", use_dictionary=False, filesystem=filesystem
        )
    dictionary = [field.name for field in schema if not pa.types.is_list(field.type)]
    return pq.ParquetWriter(
        path, schema, compression="zstd", use_dictionary=dictionary, filesystem=filesystem
    )


def _partition_path(spec: TableSpec, row: dict[str, Any]) -> str:
    parts = []
    for key in spec.partition_by:
        value = row[key]
        # No zero padding: DuckDB's Hive type inference reads `month=05` as text.
        text = value.isoformat() if isinstance(value, date) else str(value)
        parts.append(f"{key}={text}")
    return "/".join(parts)


class Lake:
    def __init__(self, root: str | Path) -> None:
        self.store = Store(root)
        self.root = self.store.url  # an absolute local path, or a URL

    @property
    def local_root(self) -> Path | None:
        return Path(self.root) if self.store.local else None

    def table_path(self, spec: TableSpec) -> str:
        return self.store.path(spec.name)

    def _staging(self, *parts: str) -> str:
        return self.store.path(STAGING_DIR, *parts)

    def ensure_writable(self) -> None:
        probe = self.store.path(f".write-probe-{os.getpid()}")
        try:
            self.store.makedirs(self.store.base)
            self.store.write_atomic(probe, b"")
            self.store.remove(probe)
        except Exception as error:  # OSError locally; the object store's client errors remotely
            detail = getattr(error, "strerror", None) or str(error).splitlines()[0]
            raise LakeError(f"lake {self.root} is not writable: {detail}") from error

    def lock(
        self,
        run_id: str,
        wait_s: float = 0.0,
        on_wait: Callable[[dict[str, Any]], None] | None = None,
        lease_s: float = lock.DEFAULT_LEASE_S,
    ) -> contextlib.AbstractContextManager[None]:
        """Hold the lake for one run (see `lock.hold`)."""
        return lock.hold(self.store, run_id, wait_s, on_wait, lease_s)

    def sources_inside(self, files: Iterable[SourceFile]) -> list[str]:
        """Those source files that are the lake's own (a local lake only)."""
        if self.local_root is None:
            return []
        root = f"{self.local_root.resolve()}{os.sep}"
        return [
            f.path
            for f in files
            if not is_url(f.path) and os.path.realpath(f.path).startswith(root)
        ]

    def ensure_exists(self) -> None:
        """A lake some run has written to: a table folder is there."""
        if not any(self.store.exists(self.table_path(spec)) for spec in TABLES.values()):
            raise LakeError(
                f"no lake at {self.root}: run `newsmill run SOURCE... --lake {self.root}` first"
            )

    def refuse_if_held(self) -> None:
        lock.refuse_if_held(self.store)

    def recover(self) -> list[str]:
        """Finish journaled commits; delete staging of runs that died before committing,
        but for runs that can be resumed (see `staged_runs`)."""
        actions: list[str] = []
        for run_id in self.store.children(self._staging()):
            journal = self._staging(run_id, JOURNAL_NAME)
            if self.store.exists(journal):
                self._apply_journal(run_id, json.loads(self.store.read_bytes(journal)))
                actions.append(f"completed the interrupted commit of run {run_id}")
            elif self.store.exists(self._staging(run_id, RUN_PLAN_NAME)):
                continue
            else:
                actions.append(f"discarded the uncommitted files of run {run_id}")
            self.store.remove_tree(self._staging(run_id))
        return actions

    def staged_runs(self) -> list[str]:
        """Runs that died after staging some shards, oldest first (call after `recover`)."""
        return [
            run_id
            for run_id in self.store.children(self._staging())
            if self.store.exists(self._staging(run_id, RUN_PLAN_NAME))
        ]

    def staged_plan(self, run_id: str) -> dict[str, Any]:
        plan: dict[str, Any] = json.loads(
            self.store.read_bytes(self._staging(run_id, RUN_PLAN_NAME))
        )
        return plan

    def staged_checkpoints(self, run_id: str) -> Iterator[bytes]:
        for path in self.store.find(self._staging(run_id, CHECKPOINT_DIR), ".arrow"):
            yield self.store.read_bytes(path)

    def staged_crawl(self, run_id: str) -> bytes | None:
        path = self._staging(run_id, CRAWL_CHECKPOINT)
        return self.store.read_bytes(path) if self.store.exists(path) else None

    def staged_file_exists(self, run_id: str, relative: str, size: int) -> bool:
        path = self._staging(run_id, relative)
        return self.store.exists(path) and self.store.fs.size(path) == size

    def staged_file_is_whole(self, run_id: str, relative: str) -> bool:
        """A staged Parquet file is there and has its footer (it was closed)."""
        try:
            pq.read_metadata(self._staging(run_id, relative), filesystem=self.store.arrow_fs)
        except (OSError, pa.ArrowInvalid):
            return False
        return True

    def discard_staging(self, run_id: str) -> None:
        self.store.remove_tree(self._staging(run_id))

    def committed_runs(self) -> list[str]:
        """The committed runs' files: they change whenever a run commits."""
        return sorted(
            p.rsplit("/", 1)[-1] for p in self.store.find(self.table_path(RUNS), ".parquet")
        )

    def _apply_journal(self, run_id: str, files: list[str]) -> None:
        for relative in files:
            source = self._staging(run_id, relative)
            if self.store.exists(source):
                self.store.move(source, self.store.path(relative))

    def read_table(self, spec: TableSpec, columns: list[str] | None = None) -> pa.Table:
        """Committed rows of a table (empty when the table has none yet)."""
        path = self.table_path(spec)
        if not self.store.has_files(path, table_files()):
            return spec.schema.empty_table().select(columns or spec.schema.names)
        dataset = ds.dataset(
            path,
            filesystem=self.store.arrow_fs,
            format="parquet",
            schema=spec.schema,
            partitioning=spec.partitioning,
        )
        return dataset.to_table(columns=columns)

    def related_signatures(self, band_keys: Iterable[np.ndarray]) -> pa.Table:
        """Committed `minhash` rows sharing at least one band key with `band_keys` (arrays
        of keys, e.g. one per batch; consumed only when the lake has signatures at all).

        DuckDB scans the key column, then fetches the matching rows; no article text is
        read. Two scans, not one CTE: DuckDB would materialise a CTE used twice, which is
        the whole table.
        """
        if not self.store.has_files(self.table_path(MINHASH), table_files()):
            return MINHASH.schema.empty_table()
        keys = [np.unique(k[k != 0]) for k in band_keys]
        if not keys or not sum(len(k) for k in keys):
            return MINHASH.schema.empty_table()
        wanted = pa.table({"key": pa.chunked_array([pa.array(k, pa.uint64()) for k in keys])})
        with self.store.duckdb() as connection:
            connection.register("wanted", wanted)
            related = connection.sql(
                f"""
                with hits as (
                    select distinct doc_id
                    from (select doc_id, unnest(band_keys) as key from {self.scan(MINHASH)})
                    semi join wanted using (key)
                )
                select t.* from {self.scan(MINHASH)} as t semi join hits using (doc_id)
                """
            ).to_arrow_table()
        return related.cast(MINHASH.schema) if related.num_rows else MINHASH.schema.empty_table()

    def look_up(
        self, spec: TableSpec, column: str, keys: np.ndarray, columns: list[str]
    ) -> pa.Table:
        """Committed rows of `spec` whose uint64 `column` is one of `keys`.

        DuckDB scans only the key column and fetches the matching rows, so a run pays for
        the keys it meets (and a cheap columnar scan), not for loading the table.
        """
        if not len(keys) or not self.store.has_files(self.table_path(spec), table_files()):
            return spec.schema.empty_table().select(columns)
        with self.store.duckdb() as connection:
            connection.register("wanted", pa.table({"key": pa.array(np.unique(keys), pa.uint64())}))
            found = connection.sql(
                f"""
                select {", ".join(f'"{c}"' for c in columns)} from {self.scan(spec)} as t
                semi join wanted on t."{column}" = wanted.key
                """
            ).to_arrow_table()
        return found.cast(pa.schema([spec.schema.field(c) for c in columns]))

    def scan(self, spec: TableSpec, run_id: str | None = None) -> str:
        """DuckDB's `read_parquet` of a table (of one run's files only, given `run_id`), for
        a connection from `store.duckdb()`."""
        files = f"{self.table_path(spec)}/**/{table_files(run_id)}"
        pattern = self.store.uri(files).replace("'", "''")
        # by name: files written before a column was added read it as null
        return f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"

    def raw_file(self, fetch_date: date, run_id: str, number: int) -> str:
        """A raw-zone WARC file's path, relative to the lake (and to a run's staging)."""
        return f"{RAW_DIR}/fetch_date={fetch_date.isoformat()}/part-{run_id}-{number:04d}.warc.gz"

    def start_run(self, run_id: str, buffer_rows: int = 20_000, part: str = "") -> "RunWriter":
        """A writer into the run's staging area; writers of one run that stage at once (one
        per shard, in worker processes) each take their own `part` of the file names."""
        return RunWriter(self, run_id, buffer_rows, part)


def table_files(run_id: str | None = None) -> str:
    """The glob of a table's files, or of the files one run committed (a run writes its
    rows only to files named after it, `part-<run_id>[-<shard>].parquet`)."""
    return f"part-{run_id}*.parquet" if run_id else "*.parquet"


def _schema_error(spec: TableSpec, columns: Iterable[str]) -> SchemaError:
    given, declared = set(columns), set(spec.schema.names)
    return SchemaError(
        f"rows for {spec.name} do not match its columns: unknown {sorted(given - declared)}, "
        f"missing {sorted(declared - given)}"
    )


class RunWriter:
    """Buffers a run's rows and writes them to staging: one file per table and partition."""

    def __init__(self, lake: Lake, run_id: str, buffer_rows: int, part: str = "") -> None:
        self._lake = lake
        self._store = lake.store
        self._file_name = f"part-{run_id}-{part}.parquet" if part else f"part-{run_id}.parquet"
        self._buffer_rows = buffer_rows
        self.run_id = run_id
        self.staging = lake.store.path(STAGING_DIR, run_id)
        self._buffers: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        # per table, each partition's folder by its values: rows of a run share a few
        self._partition_paths: dict[str, dict[Any, str]] = {}
        self._specs: dict[str, TableSpec] = {}
        self._writers: dict[tuple[str, str], pq.ParquetWriter] = {}
        # the run's staged files in staging order, as an ordered set: a large run stages
        # thousands, and list lookups made adopting and merging them quadratic
        self._files: dict[str, None] = {}
        self._files_lock = threading.Lock()
        self._buffered = 0
        self.journaled = False  # the commit's journal is written: the run is committed

    def _staged(self, relative: str) -> str:
        return f"{self.staging}/{relative}"

    def _parquet_file(self, relative: str) -> pq.ParquetFile:
        return pq.ParquetFile(self._staged(relative), filesystem=self._store.arrow_fs)

    def _relative_file(self, spec: TableSpec, partition: str) -> str:
        return f"{spec.name}/{partition}/{self._file_name}"

    def write(self, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
        """Buffer rows, each with exactly the table's columns (partition columns too):
        Arrow would drop a misspelt key and write null for a missing nullable one."""
        columns = frozenset(spec.schema.names)
        if wrong := next((row for row in rows if row.keys() != columns), None):
            raise _schema_error(spec, wrong.keys())  # before any row of the call is kept
        self._specs[spec.name] = spec
        values_of = operator.itemgetter(*spec.partition_by)
        paths = self._partition_paths.setdefault(spec.name, {})
        for row in rows:
            values = values_of(row)
            path = paths.get(values)
            if path is None:
                path = paths[values] = _partition_path(spec, row)
            self._buffers[(spec.name, path)].append(row)
        self._buffered += len(rows)
        if self._buffered >= self._buffer_rows:
            self.flush()

    def write_table(self, spec: TableSpec, table: pa.Table) -> None:
        """Arrow rows, for tables built column-wise; grouped into partitions like `write`."""
        if set(table.column_names) != set(spec.schema.names):
            raise _schema_error(spec, table.column_names)
        self.flush()
        self._specs[spec.name] = spec
        if not table.num_rows:
            return
        keys = list(spec.partition_by)
        for partition in table.select(keys).group_by(keys).aggregate([]).to_pylist():
            mask = functools.reduce(
                pc.and_,
                (pc.equal(table[k], pa.scalar(v, table[k].type)) for k, v in partition.items()),
            )
            self._writer_for(spec, _partition_path(spec, partition)).write_table(
                table.filter(mask).select(spec.file_schema.names).cast(spec.file_schema)
            )

    def _writer_for(self, spec: TableSpec, partition: str) -> pq.ParquetWriter:
        key = (spec.name, partition)
        if key not in self._writers:
            relative = self._relative_file(spec, partition)
            if relative in self._files:  # reopening would overwrite the closed file
                raise RuntimeError(f"{spec.name} was closed for this run; it takes no more rows")
            path = self._staged(relative)
            self._store.makedirs(path.rsplit("/", 1)[0])
            self._writers[key] = parquet_writer(
                path, spec.file_schema, self._store.arrow_fs, self._staged_plain(spec.name)
            )
            self._files[relative] = None
        return self._writers[key]

    def flush(self) -> None:
        for (table, partition), rows in self._buffers.items():
            if not rows:
                continue
            spec = self._specs[table]
            self._writer_for(spec, partition).write_table(
                pa.Table.from_pylist(rows, schema=spec.file_schema)
            )
        self._buffers.clear()
        self._buffered = 0

    def close(self) -> list[str]:
        """Write out and close every file; returns them (relative to the staging folder)
        for the run's main writer to `adopt`."""
        self.flush()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        return list(self._files)

    def open_staged(self, relative: str) -> BinaryIO:
        """Stream a file other than a table's (raw-zone WARC) into staging; `adopt` it once
        closed to commit it with the run. Returns the handle."""
        return self._store.open_write(self._staged(relative))

    def staged_uri(self, relative: str) -> str:
        """Where a staged file is read until the commit (a path, or a URL remotely)."""
        return self._store.uri(self._staged(relative))

    def committed_uri(self, relative: str) -> str:
        """Where a staged file will be once the run commits."""
        return self._store.uri(self._store.path(relative))

    def adopt(self, files: list[str]) -> None:
        """Take over files another writer of this run staged, so they are committed,
        read and rewritten with this writer's own."""
        self._files.update(dict.fromkeys(files))

    def iter_staged(self, spec: TableSpec, columns: list[str]) -> Iterator[pa.RecordBatch]:
        """The run's staged rows of a table, batch by batch; closes the table's files, so
        write no more to it."""
        self.flush()
        for key in [k for k in self._writers if k[0] == spec.name]:
            self._writers.pop(key).close()
        for relative in [f for f in self._files if f.split("/", 1)[0] == spec.name]:
            yield from self._parquet_file(relative).iter_batches(columns=columns)

    def read_staged(
        self, spec: TableSpec, doc_ids: set[str], columns: list[str]
    ) -> list[dict[str, Any]]:
        """Staged rows of these documents; closes the table's files, so write no more to it."""
        wanted = IdSet(doc_ids)
        found: list[dict[str, Any]] = []
        for batch in self.iter_staged(spec, columns):
            found.extend(batch.filter(wanted.mask(batch["doc_id"])).to_pylist())
        return found

    def merge_parts(
        self,
        tables: tuple[TableSpec, ...],
        transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
    ) -> int:
        """Merge the run's staged files of each partition of these tables into one file
        (shards stage a file each), each batch passed through `transform` (which may drop
        or change rows: the dedup stage's rules, for one).

        Rows keep their staging order; files are streamed batch by batch, so memory stays
        bounded. Call it after the last write of those tables. Returns the number of rows
        `transform` removed.
        """
        self.flush()
        names = {spec.name for spec in tables}
        for key in [k for k in self._writers if k[0] in names]:
            self._writers.pop(key).close()
        partitions: dict[str, list[str]] = defaultdict(list)
        for relative in self._files:
            table, partition = relative.split("/", 1)[0], relative.rsplit("/", 1)[0]
            if table in names:
                partitions[partition].append(relative)
        # partitions are independent and pyarrow reads and writes without the GIL
        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
            return sum(pool.map(lambda p: self._merge(p, partitions[p], transform), partitions))

    def _staged_plain(self, table: str) -> bool:
        return self._store.local and table in _MERGED_NAMES

    def _merge(
        self,
        partition: str,
        parts: list[str],
        transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None,
    ) -> int:
        if (
            len(parts) == 1
            and transform is None
            and not self._staged_plain(partition.split("/")[0])
        ):
            return 0
        merged = f"{partition}/{self._file_name}"
        target = self._staged(merged + ".merging")
        removed = 0
        # shards' parts are small: gather them into row groups of a useful size for readers
        pending: list[pa.RecordBatch] = []
        pending_rows = pending_bytes = 0
        writer: pq.ParquetWriter | None = None
        for relative in parts:
            source = self._parquet_file(relative)
            writer = writer or parquet_writer(target, source.schema_arrow, self._store.arrow_fs)
            # one reading thread per merge: partitions already merge side by side, and
            # Arrow's own reader threads on top of them made a 20k run's merge ~20% slower
            for batch in source.iter_batches(use_threads=False):
                kept = transform(batch) if transform else batch
                removed += batch.num_rows - kept.num_rows
                pending.append(kept)
                pending_rows += kept.num_rows
                pending_bytes += kept.nbytes
                if pending_rows >= ROW_GROUP_ROWS or pending_bytes >= ROW_GROUP_BYTES:
                    writer.write_table(pa.Table.from_batches(pending))
                    pending.clear()
                    pending_rows = pending_bytes = 0
        if writer is not None:
            if pending:
                writer.write_table(pa.Table.from_batches(pending))
            writer.close()
        for relative in parts:
            self._store.remove(self._staged(relative))
        self._store.move(target, self._staged(merged))
        merged_away = set(parts)
        with self._files_lock:
            self._files = {f: None for f in self._files if f not in merged_away or f == merged}
            self._files[merged] = None
        return removed

    def commit(self, runs_row: dict[str, Any]) -> None:
        """Make the run visible: journal, then atomic renames, the runs row last."""
        self.write(RUNS, [runs_row])
        self.flush()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        runs_files = [f for f in self._files if f.startswith(f"{RUNS.name}/")]
        ordered = [f for f in self._files if f not in runs_files] + runs_files
        self._store.write_atomic(self._staged(JOURNAL_NAME), json.dumps(ordered).encode())
        # From here the run is committed: if a rename fails (a full disk, a file in the way),
        # the journal stays, and the next run's `recover` finishes the renames
        self.journaled = True
        self._lake._apply_journal(self.run_id, ordered)
        self._store.remove_tree(self.staging)

    def save_plan(self, plan: dict[str, Any]) -> None:
        """Mark the run resumable: if it dies, a run with the same plan takes it over."""
        self._store.write_atomic(self._staged(RUN_PLAN_NAME), json.dumps(plan).encode())

    def checkpoint(self, index: int, payload: bytes) -> None:
        """Durably record that shard `index` is staged, with what the run-level steps
        need of it."""
        self._store.write_atomic(self._staged(f"{CHECKPOINT_DIR}/{index:06d}.arrow"), payload)

    def checkpoint_crawl(self, payload: bytes) -> None:
        """Durably record that the run's fetch stage is staged, with its results."""
        self._store.write_atomic(self._staged(CRAWL_CHECKPOINT), payload)

    def abort(self) -> None:
        """Drop the run's staged files; once its journal exists they are the commit's to
        finish (by the next run's `recover`), never to drop."""
        if self.journaled:
            return
        for writer in self._writers.values():
            with contextlib.suppress(Exception):
                writer.close()
        self._writers.clear()
        self._store.remove_tree(self.staging)
