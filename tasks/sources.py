"""Find the input files behind SOURCE arguments and cut them into shards of bounded size.

A shard is the unit a task processes: several small files, or one byte range of a large
plain JSONL file (cut on line boundaries, with the line number it starts at, so every
record keeps its `path:line` source whichever shard reads it).
"""

import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
READABLE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    size: int
    explicit: bool  # named on the command line (sniffed whatever its extension)

    @property
    def suffix(self) -> str:
        """The meaningful extension: `.jsonl` for `a.jsonl.gz`."""
        name = self.path.lower()
        if name.endswith(".gz"):
            name = name[:-3]
        return os.path.splitext(name)[1]

    @property
    def is_gzip_name(self) -> bool:
        return self.path.lower().endswith(".gz")


@dataclass(frozen=True, slots=True)
class FilePart:
    """A whole file (`end` None) or the byte range [start, end) of a plain JSONL file."""

    file: SourceFile
    start: int = 0
    end: int | None = None
    first_line: int = 1


@dataclass(frozen=True, slots=True)
class Shard:
    index: int
    parts: tuple[FilePart, ...]


@dataclass(frozen=True, slots=True)
class Discovery:
    files: list[SourceFile]
    unmatched: list[str]  # arguments that named nothing


def _walk(directory: Path) -> Iterator[Path]:
    """Files under `directory`, recursively, skipping hidden files and folders."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def discover_sources(arguments: Iterable[str], exclude: Path | None = None) -> Discovery:
    """Expand files, directories (recursive) and globs; sorted, each file once.

    Files under `exclude` (the lake being written) are never inputs.
    """
    excluded = f"{exclude.resolve()}{os.sep}" if exclude is not None else None
    seen: dict[str, SourceFile] = {}
    unmatched: list[str] = []
    for argument in arguments:
        path = Path(argument).expanduser()
        if path.exists():
            candidates = [(path, True)]
        else:
            candidates = [(Path(p), True) for p in sorted(glob.glob(str(path), recursive=True))]
        found = False
        for candidate, explicit in candidates:
            files = (
                ((f, False) for f in _walk(candidate))
                if candidate.is_dir()
                else [(candidate, explicit)]
            )
            for file, is_explicit in files:
                if not file.is_file():
                    continue
                resolved = str(file.resolve())
                if excluded and resolved.startswith(excluded):
                    continue
                found = True
                if resolved not in seen or is_explicit:
                    seen[resolved] = SourceFile(resolved, file.stat().st_size, is_explicit)
        if not found:
            unmatched.append(argument)
    return Discovery(files=sorted(seen.values(), key=lambda f: f.path), unmatched=unmatched)


def _split_jsonl(file: SourceFile, target_bytes: int) -> Iterator[FilePart]:
    """Cut a plain JSONL file into ~target_bytes ranges on line boundaries, in one pass."""
    start, line = 0, 1
    with open(file.path, "rb") as handle:
        while start < file.size:
            handle.seek(start)
            block = handle.read(target_bytes)
            end = start + len(block)
            if end < file.size and not block.endswith(b"\n"):
                rest = handle.readline()
                block += rest
                end += len(rest)
            yield FilePart(file, start, end, line)
            line += block.count(b"\n")
            start = end


def plan_shards(files: Iterable[SourceFile], shard_bytes: int, shard_max_files: int) -> list[Shard]:
    """Group small files and split large plain JSONL files into shards of ~shard_bytes."""
    shards: list[Shard] = []
    pending: list[FilePart] = []
    pending_bytes = 0

    def flush() -> None:
        nonlocal pending, pending_bytes
        if pending:
            shards.append(Shard(len(shards), tuple(pending)))
            pending, pending_bytes = [], 0

    for file in files:
        splittable = file.suffix in JSONL_SUFFIXES and not file.is_gzip_name
        if splittable and file.size > shard_bytes:
            flush()
            for part in _split_jsonl(file, shard_bytes):
                shards.append(Shard(len(shards), (part,)))
            continue
        pending.append(FilePart(file))
        pending_bytes += file.size
        if pending_bytes >= shard_bytes or len(pending) >= shard_max_files:
            flush()
    flush()
    return shards
