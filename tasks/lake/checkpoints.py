"""Resume checkpoints as data, never code: a shard's as an Arrow IPC file, the fetch stage's
as JSON, both with a format version.

Anyone who can write a shared lake can write its `_staging/`; a checkpoint read with
`pickle` would run their code in every later run. These formats only describe values, and
a checkpoint that is not one of ours (another format version, torn, hand-made) raises
`CheckpointError`: the run discards it and processes that shard again.
"""

import io
import json
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa

from newsmill.tasks.dedup.near import SIGNATURE_DTYPE, ArticleChunk
from newsmill.tasks.errors import CheckpointError
from newsmill.tasks.shard import ShardResult
from newsmill.tasks.web.crawl import CrawlResult
from newsmill.tasks.web.rawzone import RawFile

FORMAT = "newsmill-checkpoint/1"
_NUMBERS = 6  # ArticleChunk.numbers columns
_NUMBER_TYPE = pa.list_(pa.int32(), _NUMBERS)


def encode_shard(result: ShardResult) -> bytes:
    articles = result.articles
    columns: dict[str, pa.Array] = {
        "doc_id": pa.array(articles.doc_ids, pa.string()),
        "content_hash": pa.array(articles.content_hashes, pa.string()),
        "numbers": pa.FixedSizeListArray.from_arrays(
            pa.array(articles.numbers.reshape(-1), pa.int32()), _NUMBERS
        ),
        "published": pa.array(articles.published, pa.float64()),
    }
    if articles.signatures is not None:
        width = articles.signatures.shape[1]
        columns["signature"] = pa.FixedSizeListArray.from_arrays(
            pa.array(articles.signatures.reshape(-1), pa.uint16()), width
        )
    header = {
        "format": FORMAT,
        "index": result.index,
        "files": result.files,
        "counts": dict(result.counts),
        "site_counts": [[key, n] for key, n in result.site_counts.items()],
    }
    table = pa.table(columns).replace_schema_metadata({"newsmill": json.dumps(header)})
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def decode_shard(payload: bytes) -> ShardResult:
    try:
        table = pa.ipc.open_file(pa.py_buffer(payload)).read_all()
        header = _header(json.loads((table.schema.metadata or {})[b"newsmill"]))
        n = table.num_rows
        numbers = table["numbers"].combine_chunks().flatten().to_numpy()
        signatures = None
        if "signature" in table.column_names:
            column = table["signature"].combine_chunks()
            signatures = column.flatten().to_numpy().astype(SIGNATURE_DTYPE).reshape(n, -1)
        articles = ArticleChunk(
            table["doc_id"].to_pylist(),
            table["content_hash"].to_pylist(),
            numbers.astype(np.int32).reshape(n, _NUMBERS),
            table["published"].to_numpy(),
            signatures,
        )
        return ShardResult(
            int(header["index"]),
            [str(f) for f in header["files"]],
            Counter({str(k): int(v) for k, v in header["counts"].items()}),
            articles,
            {int(key): int(count) for key, count in header["site_counts"]},
        )
    except CheckpointError:
        raise
    except (pa.ArrowException, KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"not a newsmill shard checkpoint: {error}") from error


def encode_crawl(crawl: CrawlResult) -> bytes:
    return json.dumps(
        {
            "format": FORMAT,
            "files": crawl.files,
            "raw": [[f.relative, f.staged, f.committed, f.size] for f in crawl.raw],
            "counts": dict(crawl.counts),
        }
    ).encode()


def decode_crawl(payload: bytes) -> CrawlResult:
    try:
        header = _header(json.loads(payload))
        return CrawlResult(
            [str(f) for f in header["files"]],
            [RawFile(str(r), str(s), str(c), int(n)) for r, s, c, n in header["raw"]],
            Counter({str(k): int(v) for k, v in header["counts"].items()}),
        )
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"not a newsmill fetch checkpoint: {error}") from error


def _header(header: Any) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise CheckpointError(f"checkpoint format {found!r}, this newsmill reads {FORMAT!r}")
    return header
