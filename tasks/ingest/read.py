"""Read stage: turn file parts into Documents (one per file or JSONL line) or Rejects.

The kind of an input (text, HTML, JSONL) is decided by its content first and its
extension second; gzip is recognised by its magic bytes. JSONL is streamed line by line,
so a JSONL export of any size is read in bounded memory.
"""

import gzip
import itertools
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from newsmill.schemas.reasons import Reason
from newsmill.tasks.ingest.decode import decode_bytes, looks_binary, too_many_control_chars
from newsmill.tasks.ingest.sources import (
    HTML_SUFFIXES,
    JSONL_SUFFIXES,
    READABLE_SUFFIXES,
    WARC_SUFFIXES,
    FilePart,
    Shard,
    SourceFile,
    open_input,
)
from newsmill.tasks.records import (
    Document,
    Reject,
    StageOutput,
    count_stage,
    hash_bytes,
)
from newsmill.tasks.setting import setting

GZIP_MAGIC = b"\x1f\x8b"
ROLE_HEADER = "WARC-Newsmill-Role"  # written by web.rawzone
_STRONG_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_ANY_HTML_TAG = re.compile(
    rb"<(?:p|div|br|article|section|span|a\s+href|h[1-6]|meta|title)[\s>/]", re.I
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.I)
_TEXT_FIELDS = ("text", "html")
_PUBLISHED_FIELDS = ("published", "published_at", "date")
_ByteStream = BinaryIO


@dataclass(frozen=True, slots=True)
class ReadSettings:
    max_input_mb: float = setting(
        20.0,
        "Inputs (files, decompressed files, JSONL lines) larger than this are rejected as read_too_large.",
        unit="MB",
    )
    read_batch_inputs: int = setting(
        5_000,
        "A shard goes through the stages this many inputs at a time, which bounds a worker's memory when one file holds very many records (a .jsonl.gz is one shard however large).",
        unit="inputs",
    )

    @property
    def max_input_bytes(self) -> int:
        return int(self.max_input_mb * 1024 * 1024)


class _TooLarge(Exception):
    pass


def sniff_kind(head: bytes, suffix: str) -> str:
    """'jsonl', 'html' or 'text', from the first bytes of the content and the extension."""
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        first_line = stripped.split(b"\n", 1)[0]
        try:
            if isinstance(json.loads(first_line), dict):
                return "jsonl"
        except (ValueError, RecursionError):  # deep nesting recurses before it fails
            pass
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if _STRONG_HTML.search(head):
        return "html"
    tags = len(_ANY_HTML_TAG.findall(head))
    if tags >= 3 or (tags >= 1 and suffix in HTML_SUFFIXES):
        return "html"
    return "text"


def _read_limited(handle: _ByteStream, limit: int) -> bytes:
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise _TooLarge
    return data


def _open_maybe_gzip(path: str) -> _ByteStream:
    """gzip is recognised by its magic bytes, whatever the file is called."""
    with open_input(path) as probe:
        magic = probe.read(2)
    return open_input(path, gzipped=magic == GZIP_MAGIC)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record of an archive that is not an input: a request, metadata, a response that is
    not an HTML page. Counted (`read.skipped.<kind>`), not a row."""

    kind: str


def _read_warc(file: SourceFile, settings: ReadSettings) -> Iterator[Document | Reject | Skipped]:
    """Each HTML response record of a WARC archive (gzipped per record or not) as a page,
    its source `path@offset` and its url the record's target; other records skipped."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    limit = settings.max_input_bytes
    with open_input(file.path) as handle:
        records = ArchiveIterator(handle)
        try:
            for record in records:
                kind = _warc_skip_kind(record)
                stream = record.content_stream()
                if kind:
                    while stream.read(1 << 16):  # to the record's end, to see it is whole
                        pass
                data = b"" if kind else stream.read(limit + 1)
                # after the read: asking for the offset first skips the record's content
                source = f"{file.source_name}@{records.get_record_offset()}"
                if len(data) <= limit and getattr(record.raw_stream, "limit", 0) > 0:
                    yield Reject(
                        source,
                        Reason.READ_CORRUPT_WARC,
                        "the record ends before its declared length: the archive is truncated",
                    )
                    return
                if kind:
                    yield Skipped(kind)
                    continue
                if len(data) > limit:
                    yield Reject(
                        source,
                        Reason.READ_TOO_LARGE,
                        f"the record's body is over the {limit:,}-byte limit (max_input_mb)",
                    )
                    continue
                page = _document_from_bytes(source, data, "html", hash_bytes(data))
                url = record.rec_headers.get_header("WARC-Target-URI")
                yield replace(page, url=url) if isinstance(page, Document) else page
        except (ArchiveLoadFailed, EOFError, zlib.error, gzip.BadGzipFile) as error:
            yield Reject(
                file.source_name, Reason.READ_CORRUPT_WARC, f"the archive is damaged: {error}"
            )
        except (AttributeError, TypeError, ValueError) as error:
            # warcio fails this way on a record it cannot parse (a response without
            # WARC-Target-URI): the records read so far stay, the rest of the file is rejected
            yield Reject(
                file.source_name,
                Reason.READ_CORRUPT_WARC,
                f"the archive has a record warcio cannot parse ({type(error).__name__}: "
                f"{error}); the records after it are not read",
            )


def _warc_skip_kind(record: Any) -> str | None:
    """Why a record is not a page to read, or None. Responses newsmill fetched say why they
    were fetched (a feed, a robots.txt: not articles); a body cut off is no page either."""
    if record.rec_type != "response":
        return str(record.rec_type)
    role = record.rec_headers.get_header(ROLE_HEADER)
    if role and role != "article":
        return role
    if record.rec_headers.get_header("WARC-Truncated"):
        return "truncated"
    if record.http_headers is None:
        return "response_without_http"
    status = record.http_headers.get_statuscode()
    if not str(status).startswith("2"):
        return f"http_{status}"
    content_type = (record.http_headers.get_header("Content-Type") or "").lower()
    if "html" not in content_type:
        return "not_html"
    return None


def read_part(part: FilePart, settings: ReadSettings) -> Iterator[Document | Reject | Skipped]:
    """Every input in one file part, each as a Document or a Reject; never raises on bad data."""
    file = part.file
    try:
        if part.end is not None:
            yield from _read_jsonl_range(part, settings)
            return
        if not file.explicit and file.suffix not in READABLE_SUFFIXES:
            yield Reject(
                file.source_name,
                Reason.READ_UNSUPPORTED_TYPE,
                f"extension {file.suffix or '(none)'!r} is not read when walking a directory",
            )
            return
        if file.size == 0:
            yield Reject(file.source_name, Reason.READ_EMPTY_FILE, "the file is empty (0 bytes)")
            return
        if file.suffix in WARC_SUFFIXES:
            yield from _read_warc(file, settings)
            return
        yield from _read_whole_file(file, settings)
    except OSError as error:
        yield Reject(file.source_name, Reason.READ_IO_ERROR, f"could not read the file: {error}")


def _read_whole_file(file: SourceFile, settings: ReadSettings) -> Iterator[Document | Reject]:
    limit = settings.max_input_bytes
    if file.size > limit and file.suffix not in JSONL_SUFFIXES:
        yield Reject(
            file.source_name,
            Reason.READ_TOO_LARGE,
            f"{file.size:,} bytes is over the {limit:,}-byte limit (max_input_mb)",
        )
        return
    with _open_maybe_gzip(file.path) as handle:
        try:
            head = handle.read(4096)
            kind = sniff_kind(head, file.suffix)
            if kind == "jsonl":
                lines = _lines_of(head, handle, 1, settings.max_input_bytes)
                yield from _parse_jsonl_lines(file.source_name, lines, settings)
                return
            data = head + _read_limited(handle, limit - len(head))
        except _TooLarge:
            yield Reject(
                file.source_name,
                Reason.READ_TOO_LARGE,
                f"decompressed content is over the {limit:,}-byte limit (max_input_mb)",
            )
            return
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            yield Reject(
                file.source_name, Reason.READ_CORRUPT_GZIP, f"the gzip stream is damaged: {error}"
            )
            return
    yield _document_from_bytes(file.source_name, data, kind, hash_bytes(data))


def _document_from_bytes(source: str, data: bytes, kind: str, input_hash: str) -> Document | Reject:
    if not data:
        return Reject(
            source, Reason.READ_EMPTY_FILE, "the file is empty after decompression", input_hash
        )
    if looks_binary(data):
        return Reject(
            source,
            Reason.READ_NOT_TEXT,
            "binary content (file signature or NUL bytes), not text",
            input_hash,
        )
    declared = _META_CHARSET.search(data[:4096]) if kind == "html" else None
    decoded = decode_bytes(data, declared.group(1).decode("ascii") if declared else None)
    if decoded is None:
        return Reject(
            source, Reason.READ_UNDECODABLE, "no text encoding decodes these bytes", input_hash
        )
    if too_many_control_chars(decoded.text):
        return Reject(
            source,
            Reason.READ_NOT_TEXT,
            f"too many control characters for text (decoded as {decoded.encoding})",
            input_hash,
        )
    extractor = "trafilatura" if kind == "html" else "plain-text"
    return Document(
        source, input_hash, kind, decoded.text, encoding=decoded.encoding, extractor=extractor
    )


@dataclass(frozen=True, slots=True)
class _LongLine:
    """A line past the size limit: only its start is kept, never the whole of it."""

    start: bytes
    size: int


def _lines_of(
    head: bytes, handle: _ByteStream, first_line: int, max_line_bytes: int
) -> Iterator[tuple[int, bytes | _LongLine]]:
    """(line number, line bytes) from a stream whose first bytes were already read. A line
    is gathered as a list of pieces (a growing bytes object costs quadratic time on a 100 MB
    line) and, once past `max_line_bytes`, no longer kept: memory stays within the limit."""
    line_number = first_line
    pieces: list[bytes] = []
    size = 0
    # read1: a damaged gzip raises only after handing over what it decoded before the damage
    read = getattr(handle, "read1", handle.read)  # some remote files have no read1
    for chunk in itertools.chain([head], iter(lambda: read(1 << 16), b""), [b"\n"]):
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            piece = chunk[start:end]
            size += len(piece)
            if size > max_line_bytes:
                yield line_number, _LongLine(b"".join(pieces)[:4096] + piece[:4096], size)
            else:
                yield line_number, b"".join(pieces) + piece
            line_number += 1
            pieces, size, start = [], 0, end + 1
        rest = chunk[start:]
        size += len(rest)
        if size <= max_line_bytes:
            pieces.append(rest)
        elif pieces and sum(map(len, pieces)) > 4096:
            pieces = [b"".join(pieces)[:4096]]  # the start of a long line, for its reject


def _read_jsonl_range(part: FilePart, settings: ReadSettings) -> Iterator[Document | Reject]:
    assert part.end is not None
    assert part.first_line is not None, "a JSONL part is read after `number_lines`"
    with open_input(part.file.path) as handle:
        handle.seek(part.start)
        data = handle.read(part.end - part.start)
    lines = ((part.first_line + i, line) for i, line in enumerate(data.split(b"\n")))
    yield from _parse_jsonl_lines(part.file.source_name, lines, settings)


def _parse_jsonl_lines(
    path: str, lines: Iterable[tuple[int, bytes | _LongLine]], settings: ReadSettings
) -> Iterator[Document | Reject]:
    """One Document or Reject per non-blank line; a damaged gzip ends with a file reject."""
    try:
        for line_number, raw in lines:
            if isinstance(raw, _LongLine):
                yield Reject(
                    f"{path}:{line_number}",
                    Reason.READ_TOO_LARGE,
                    f"line of over {raw.size:,} bytes is over the limit (max_input_mb)",
                    hash_bytes(raw.start),
                    line_number,
                )
                continue
            line = raw.rstrip(b"\r")
            if not line.strip():
                continue
            yield parse_jsonl_record(path, line_number, line, settings)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        yield Reject(
            path,
            Reason.READ_CORRUPT_GZIP,
            f"the gzip stream is damaged after the lines already read: {error}",
        )


def parse_jsonl_record(
    path: str, line_number: int, line: bytes, settings: ReadSettings
) -> Document | Reject:
    source = f"{path}:{line_number}"
    input_hash = hash_bytes(line)

    def reject(reason: Reason, detail: str) -> Reject:
        return Reject(source, reason, detail, input_hash, line_number)

    if len(line) > settings.max_input_bytes:
        return reject(
            Reason.READ_TOO_LARGE, f"line of {len(line):,} bytes is over the limit (max_input_mb)"
        )
    if line_number == 1 and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    decoded = decode_bytes(line)
    if decoded is None:
        return reject(Reason.READ_UNDECODABLE, "no text encoding decodes this line")
    try:
        record: Any = json.loads(decoded.text)
    except RecursionError:
        return reject(Reason.PARSE_INVALID_JSON, "not valid JSON: nested too deep to read")
    except ValueError as error:
        text = decoded.text.strip()
        hint = " (truncated record?)" if text.startswith("{") and not text.endswith("}") else ""
        return reject(Reason.PARSE_INVALID_JSON, f"not valid JSON{hint}: {error}")
    if not isinstance(record, dict):
        return reject(Reason.PARSE_NOT_OBJECT, f"a JSON {type(record).__name__}, not an object")
    if _ESCAPED_SURROGATE.search(decoded.text):
        record = _without_lone_surrogates(record)
    return _document_from_record(record, source, input_hash, line_number, decoded.encoding, reject)


# JSON may escape half of a UTF-16 pair ("\ud800"), which no UTF-8 text can hold
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _without_lone_surrogates(value: Any) -> Any:
    """The record with each lone surrogate replaced by U+FFFD, as a decoder does."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def _string_field(record: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return ", ".join(v.strip() for v in value if v.strip()) or None
    return None


def _document_from_record(
    record: dict[str, Any],
    source: str,
    input_hash: str,
    line_number: int,
    encoding: str,
    reject: Any,
) -> Document | Reject:
    text = record.get("text")
    html = record.get("html")
    if isinstance(text, str) and text.strip():
        kind, body, extractor = "jsonl-text", text, "jsonl-text"
    elif isinstance(html, str) and html.strip():
        kind, body, extractor = "jsonl-html", html, "trafilatura"
    else:
        return reject(
            Reason.PARSE_MISSING_TEXT, "the record has no non-empty 'text' or 'html' field"
        )
    return Document(
        source=source,
        input_hash=input_hash,
        source_kind=kind,
        body=body,
        encoding=encoding,
        line_number=line_number,
        external_id=_string_field(record, "id"),
        url=_string_field(record, "url"),
        title=_string_field(record, "title"),
        author=_string_field(record, "author", "authors"),
        published_raw=_string_field(record, *_PUBLISHED_FIELDS),
        extractor=extractor,
    )


def read_shard_batches(shard: Shard, settings: ReadSettings) -> Iterator[StageOutput]:
    """Every input of a shard, `read_batch_inputs` at a time (at least one batch, maybe
    empty): one file can hold millions of records (a .jsonl.gz is not split into shards),
    and a worker holds only one batch of them."""
    docs: list[Document] = []
    rejects: list[Reject] = []
    skipped: Counter[str] = Counter()
    yielded = False
    items = (item for part in shard.parts for item in read_part(part, settings))
    for item in itertools.chain(items, [None]):
        if isinstance(item, Skipped):
            skipped[f"read.skipped.{item.kind}"] += 1
        elif isinstance(item, Reject):
            rejects.append(item)
        elif item is not None:
            docs.append(item)
        full = len(docs) + len(rejects) >= settings.read_batch_inputs
        if full or (item is None and (docs or rejects or skipped or not yielded)):
            counts = count_stage("read", len(docs) + len(rejects), docs, rejects)
            yield StageOutput(docs, rejects, {**counts, **skipped})
            docs, rejects, skipped, yielded = [], [], Counter(), True


def read_shard(shard: Shard, settings: ReadSettings) -> StageOutput:
    """Every input of a shard at once: for shards known to be small."""
    docs: list[Document] = []
    rejects: list[Reject] = []
    counts: Counter[str] = Counter()
    for batch in read_shard_batches(shard, settings):
        docs += batch.docs
        rejects += batch.rejects
        counts.update(batch.counts)
    return StageOutput(docs, rejects, dict(counts))
