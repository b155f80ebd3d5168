"""The lake's tables, declared once: columns, types, partitions and what each column means.

Every writer passes these schemas, every test reads back with them, and `docs/tables.md` is
generated from them (`python -m newsmill.schemas.docs`).
"""

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    nullable: bool = True

    @property
    def field(self) -> pa.Field:
        return pa.field(
            self.name,
            self.type,
            nullable=self.nullable,
            metadata={"description": self.description},
        )


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...]

    @property
    def schema(self) -> pa.Schema:
        """All columns, partition columns included (what a reader of the table sees)."""
        return pa.schema([c.field for c in self.columns])

    @property
    def file_schema(self) -> pa.Schema:
        """The columns stored inside each Parquet file: partition values live in the path."""
        return pa.schema([c.field for c in self.columns if c.name not in self.partition_by])

    @property
    def partition_schema(self) -> pa.Schema:
        return pa.schema([c.field for c in self.columns if c.name in self.partition_by])

    @property
    def partitioning(self) -> ds.Partitioning:
        """The Hive partitioning with the declared types: without it pyarrow and pandas read
        partition columns as dictionaries (pandas: categorical), DuckDB as BIGINT."""
        return ds.partitioning(self.partition_schema, flavor="hive")


def _col(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> Column:
    return Column(name, type_, description, nullable)


_PUBLICATION_PARTITION = (
    _col("year", pa.int16(), "Partition: year of `published_at`, else of the ingest date.", False),
    _col("month", pa.int8(), "Partition: month (1-12) matching `year`.", False),
)
_RUN_DATE_PARTITION = (
    _col("run_date", pa.date32(), "Partition: UTC date on which the run started.", False),
)

ARTICLES = TableSpec(
    name="articles",
    description="One row per kept article: cleaned text, paragraph-deduplicated, plus fields.",
    partition_by=("year", "month"),
    columns=(
        _col("doc_id", pa.string(), "Stable id: hash of `source` and `input_hash`.", False),
        _col("source", pa.string(), "File path it came from; `path:line` for a JSONL line.", False),
        _col(
            "source_kind",
            pa.string(),
            "How it was read: text, html, jsonl-text, jsonl-html.",
            False,
        ),
        _col(
            "input_hash", pa.string(), "xxh3-64 hex of the raw input bytes (file or line).", False
        ),
        _col("external_id", pa.string(), "The `id` field of a JSONL record, if any."),
        _col("url", pa.string(), "Canonical URL (HTML metadata or JSONL `url`); null for text."),
        _col("domain", pa.string(), "Host of `url` without a leading `www.`."),
        _col(
            "site",
            pa.string(),
            "Registered domain of `url`: the public suffix and one label before it "
            "(edition.cnn.com → cnn.com, news.bbc.co.uk → bbc.co.uk), so a publisher's hosts "
            "group; by the Public Suffix List that the `tld` package bundles (offline).",
        ),
        _col("site_name", pa.string(), "Publisher name from HTML metadata."),
        _col("title", pa.string(), "Headline (HTML metadata, JSONL `title`, Markdown `# `)."),
        _col("author", pa.string(), "Byline (HTML metadata, JSONL `author`, a leading `By …`)."),
        _col("published_at", UTC_TIMESTAMP, "Publication time in UTC; naive times read as UTC."),
        _col("published_raw", pa.string(), "The publication date exactly as found, if any."),
        _col("language", pa.string(), "ISO 639-1 code from py3langid; null if too little text."),
        _col("language_score", pa.float32(), "py3langid probability of `language` (0-1)."),
        _col(
            "text",
            pa.string(),
            "Cleaned article text; paragraphs separated by a blank line.",
            False,
        ),
        _col("n_paragraphs", pa.int32(), "Paragraphs in `text` (after in-article dedup).", False),
        _col("n_words", pa.int32(), "Whitespace-separated words in `text`.", False),
        _col(
            "content_hash",
            pa.string(),
            "xxh3-64 hex of the normalised text: exact-dedup key.",
            False,
        ),
        _col("encoding", pa.string(), "Encoding the input was decoded from (utf-8, cp1252, …)."),
        _col("mojibake_repaired", pa.bool_(), "True when mojibake was found and repaired.", False),
        _col("extractor", pa.string(), "What produced the text, with its version.", False),
        _col(
            "pipeline_version", pa.string(), "newsmill version and the rule versions used.", False
        ),
        _col("supersedes", pa.string(), "doc_id of the previous version from the same source."),
        _col(
            "partition_from_ingest",
            pa.bool_(),
            "True when year/month come from ingest date.",
            False,
        ),
        _col("run_id", pa.string(), "Run that wrote the row.", False),
        _col("ingested_at", UTC_TIMESTAMP, "When the run that wrote the row started (UTC).", False),
        *_PUBLICATION_PARTITION,
    ),
)

PARAGRAPHS = TableSpec(
    name="paragraphs",
    description="One row per paragraph kept in an article, in order; partitioned like articles.",
    partition_by=("year", "month"),
    columns=(
        _col("doc_id", pa.string(), "Article the paragraph belongs to.", False),
        _col("position", pa.int32(), "0-based position in the article's kept paragraphs.", False),
        _col("text", pa.string(), "Paragraph text.", False),
        _col("paragraph_hash", pa.string(), "xxh3-64 hex of the normalised paragraph.", False),
        _col("n_words", pa.int32(), "Words in the paragraph.", False),
        _col("run_id", pa.string(), "Run that wrote the row.", False),
        *_PUBLICATION_PARTITION,
    ),
)

# entities and quotes: what found them
_MENTIONS_RULES_VERSION = _col(
    "rules_version",
    pa.string(),
    "The entity and quote rule versions that made the row (and the spaCy pipeline "
    "with its version under `--ner spacy:…`).",
    False,
)

ENTITIES = TableSpec(
    name="entities",
    description=(
        "People, organisations and places named in an article, one row per mention, with the "
        "article's fullest name for each; partitioned like articles."
    ),
    partition_by=("year", "month"),
    columns=(
        _col("doc_id", pa.string(), "Article that names it.", False),
        _col(
            "text",
            pa.string(),
            "The mention as written (titles and roles left out), or an office named alone "
            "that stands for its holder (`President`, canonical `Donald Trump`).",
            False,
        ),
        _col(
            "canonical",
            pa.string(),
            "The article's name for it: the fullest mention of a person (`Yoon` → "
            "`Yoon Suk Yeol`), a place's usual name (`DPRK` → `North Korea`), an "
            "organisation's spelled-out name for its acronym when the article has it.",
            False,
        ),
        _col("label", pa.string(), "`PERSON`, `ORG` or `LOC` (countries, cities, regions).", False),
        _col(
            "start",
            pa.int32(),
            "Offset of the mention's first character in `articles.text`.",
            False,
        ),
        _col("end", pa.int32(), "Offset just past its last character.", False),
        _col(
            "role",
            pa.string(),
            "Title or role written before a person's name, lower case (`south korean president`), "
            "or the office of a mention that is one; else null.",
        ),
        _col("mentions", pa.int32(), "Mentions of this canonical entity in the article.", False),
        _col("first_start", pa.int32(), "Offset of the article's first mention of it.", False),
        _MENTIONS_RULES_VERSION,
        _col("run_id", pa.string(), "Run that wrote the row.", False),
        *_PUBLICATION_PARTITION,
    ),
)

QUOTES = TableSpec(
    name="quotes",
    description=("Direct quotes in an article and who said them; partitioned like articles."),
    partition_by=("year", "month"),
    columns=(
        _col("doc_id", pa.string(), "Article that quotes.", False),
        _col("quote", pa.string(), "The quoted words, without the quote marks.", False),
        _col(
            "speaker",
            pa.string(),
            "The speaker's canonical name, as in `entities.canonical`; null when unknown.",
        ),
        _col(
            "speaker_mention",
            pa.string(),
            "The words that name the speaker (`he`, `the South Korean president`, `Peskov`); "
            "null when none does.",
        ),
        _col("verb", pa.string(), "The reporting verb (`said`, `stated`, `called` …), lower case."),
        _col("start", pa.int32(), "Offset of the quote's first word in `articles.text`.", False),
        _col("end", pa.int32(), "Offset just past its last character.", False),
        _MENTIONS_RULES_VERSION,
        _col("run_id", pa.string(), "Run that wrote the row.", False),
        *_PUBLICATION_PARTITION,
    ),
)

DUPLICATES = TableSpec(
    name="duplicates",
    description="Audit trail of everything dropped as a duplicate, and what it duplicates.",
    partition_by=("run_date",),
    columns=(
        _col("source", pa.string(), "Where the duplicate came from.", False),
        _col("input_hash", pa.string(), "xxh3-64 hex of the duplicate's raw input.", False),
        _col(
            "doc_id",
            pa.string(),
            "Document level: the dropped copy's own id. Paragraph level: the article.",
            False,
        ),
        _col(
            "duplicate_of",
            pa.string(),
            "Document level: the document this one copies, as `method` found it: for `exact`, "
            "one with the same `content_hash` (the first kept); for `near`, the cluster's "
            "canonical, or, when this copy joined the cluster through another copy and is "
            "further than `near_threshold` from the canonical, its most similar member. It is "
            "an `articles` row, or a `duplicates` row of a document dropped in its turn. "
            "Paragraph level: the article itself.",
            False,
        ),
        _col("level", pa.string(), "`document` or `paragraph`.", False),
        _col(
            "method",
            pa.string(),
            "How it was found: `exact` (same normalised text), `near` (MinHash, verified).",
            False,
        ),
        _col(
            "similarity",
            pa.float32(),
            "Similarity to `duplicate_of`: 1.0 for exact; for near, the estimated Jaccard of "
            "word (or, for text without spaces, character) shingles, never below "
            "`near_threshold`.",
            False,
        ),
        _col(
            "cluster_id",
            pa.string(),
            "Document level: the doc_id of the article kept for this document and all its "
            "copies (always an `articles` row). Paragraph level: null.",
        ),
        _col("position", pa.int32(), "Paragraph level: position of the dropped paragraph."),
        _col("duplicate_of_position", pa.int32(), "Paragraph level: position of the kept one."),
        _col(
            "content_hash",
            pa.string(),
            "Document level: the dropped document's own content hash (for `exact`, the same "
            "as `duplicate_of`'s). Paragraph level: the repeated paragraph's hash.",
            False,
        ),
        _col("run_id", pa.string(), "Run that found it.", False),
        *_RUN_DATE_PARTITION,
    ),
)

REJECTS = TableSpec(
    name="rejects",
    description="Every input that could not become an article, with the stage and the reason.",
    partition_by=("run_date",),
    columns=(
        _col(
            "source",
            pa.string(),
            "File path, `path:line` for a JSONL line, `path@offset` for a WARC record, or the URL that failed to fetch.",
            False,
        ),
        _col("line_number", pa.int64(), "1-based JSONL line number, else null."),
        _col("input_hash", pa.string(), "xxh3-64 hex of the raw input, when it was read."),
        _col(
            "stage",
            pa.string(),
            "Stage that rejected it: discover, fetch, read, parse, extract, clean, dedup, fields, "
            "boilerplate, mentions, shard.",
            False,
        ),
        _col("reason", pa.string(), "Stable snake_case reason code (see README).", False),
        _col("detail", pa.string(), "A human sentence about this particular input.", False),
        _col("run_id", pa.string(), "Run that rejected it.", False),
        *_RUN_DATE_PARTITION,
    ),
)

FETCHES = TableSpec(
    name="fetches",
    description=(
        "The crawl log: one row per URL a run fetched or tried (articles, feeds, sitemaps, "
        "robots.txt), with where its response lies in the raw zone (`raw/`, WARC files)."
    ),
    partition_by=("run_date",),
    columns=(
        _col("url", pa.string(), "The URL requested (without its #fragment).", False),
        _col(
            "url_key",
            pa.uint64(),
            "xxh3-64 of the normalised URL (courlan): the same page written two ways has one key.",
            False,
        ),
        _col("role", pa.string(), "article, feed, sitemap or robots.", False),
        _col(
            "found_in",
            pa.string(),
            "The feed, sitemap or URL list that named it; null for an argument.",
        ),
        _col("final_url", pa.string(), "The URL of the last response, after redirects."),
        _col("status", pa.int16(), "HTTP status of the last response; null when none came."),
        _col(
            "outcome",
            pa.string(),
            "fetched, not_modified (a 304 to a conditional request), rejected (final), or failed "
            "(transient: the next run tries again).",
            False,
        ),
        _col("reason", pa.string(), "Reject reason code when rejected or failed."),
        _col("detail", pa.string(), "What went wrong, when something did."),
        _col("content_type", pa.string(), "Media type of the last response."),
        _col("body_bytes", pa.int64(), "Bytes of the last response's body (decoded, as kept)."),
        _col("etag", pa.string(), "ETag of the last response: sent as If-None-Match on --refresh."),
        _col(
            "last_modified",
            pa.string(),
            "Last-Modified of the last response: sent as If-Modified-Since on --refresh.",
        ),
        _col("attempts", pa.int16(), "Tries, retries included.", False),
        _col(
            "fetched_at",
            UTC_TIMESTAMP,
            "When the last response started (else the run's start).",
            False,
        ),
        _col(
            "record",
            pa.string(),
            "`<warc file>@<offset>` of the last response's record in the raw zone: the "
            "`source` of the article it became.",
        ),
        _col("run_id", pa.string(), "Run that fetched it.", False),
        *_RUN_DATE_PARTITION,
    ),
)

MINHASH = TableSpec(
    name="minhash",
    description=(
        "Near-duplicate state: the MinHash signature and LSH band keys of every kept article, "
        "so later runs find near copies without re-reading text."
    ),
    partition_by=("run_date",),
    columns=(
        _col(
            "doc_id", pa.string(), "The article (a canonical one: near copies are not kept).", False
        ),
        _col(
            "signature",
            pa.list_(pa.uint16()),
            "MinHash signature over word shingles (low 16 bits of each value).",
            False,
        ),
        _col(
            "band_keys",
            pa.list_(pa.uint64()),
            "One key per LSH band; equal keys make candidates.",
            False,
        ),
        _col(
            "published_at", UTC_TIMESTAMP, "Copied from the article: the canonical rule reads it."
        ),
        _col("n_words", pa.int32(), "Copied from the article: the canonical rule reads it.", False),
        _col(
            "kernel",
            pa.string(),
            "Shingle size, permutations, bands, seed and rule version.",
            False,
        ),
        _col("run_id", pa.string(), "Run that wrote the row.", False),
        *_RUN_DATE_PARTITION,
    ),
)

INPUT_KEYS = TableSpec(
    name="input_keys",
    description=(
        "Exact-dedup state: one row per input the lake accounts for (article, document "
        "duplicate or reject) as 64-bit keys, so a run looks up only the inputs it meets "
        "instead of loading the lake's articles."
    ),
    partition_by=("run_date",),
    columns=(
        _col(
            "input_key",
            pa.uint64(),
            "xxh3-64 of source and input hash: an input with this key is already ingested.",
            False,
        ),
        _col("source_key", pa.uint64(), "Articles only: xxh3-64 of the source (`supersedes`)."),
        _col("content_key", pa.uint64(), "Articles only: the content hash as a number."),
        _col("doc_id", pa.string(), "Articles only: the article."),
        _col("ingested_at", UTC_TIMESTAMP, "Start of the run that wrote the row.", False),
        _col("run_id", pa.string(), "Run that wrote the row.", False),
        *_RUN_DATE_PARTITION,
    ),
)

SITE_PARAGRAPHS = TableSpec(
    name="site_paragraphs",
    description=(
        "Boilerplate state: per run, in how many articles of a site each short paragraph "
        "appeared, so a later run looks up only the paragraphs it meets."
    ),
    partition_by=("run_date",),
    columns=(
        _col("site_key", pa.uint64(), "xxh3-64 of the domain and the paragraph hash.", False),
        _col(
            "articles", pa.int32(), "Articles of that site read in the run that carried it.", False
        ),
        _col("run_id", pa.string(), "Run that wrote the row.", False),
        *_RUN_DATE_PARTITION,
    ),
)

RUNS = TableSpec(
    name="runs",
    description="One row per run, written last: a run's rows are visible only with its runs row.",
    partition_by=("run_date",),
    columns=(
        _col("run_id", pa.string(), "Sortable run id: start time and a random suffix.", False),
        _col("flow_run_id", pa.string(), "Prefect flow run id (find it in the Prefect UI)."),
        _col("started_at", UTC_TIMESTAMP, "Run start (UTC).", False),
        _col("finished_at", UTC_TIMESTAMP, "Run end (UTC).", False),
        _col("status", pa.string(), "`completed` or `failed`.", False),
        _col("error", pa.string(), "Why a failed run failed."),
        _col("sources", pa.list_(pa.string()), "SOURCE arguments as given.", False),
        _col("inputs_seen", pa.int64(), "Inputs read: files plus JSONL lines.", False),
        _col("articles", pa.int64(), "Articles written.", False),
        _col("duplicates_document", pa.int64(), "Document-level duplicates recorded.", False),
        _col("duplicates_paragraph", pa.int64(), "Paragraph-level duplicates recorded.", False),
        _col("rejects", pa.int64(), "Rejects recorded.", False),
        _col("already_ingested", pa.int64(), "Inputs skipped: same source and content.", False),
        _col(
            "counts_json", pa.string(), "Per-stage counts (total, kept, dropped_<reason>).", False
        ),
        _col("settings_json", pa.string(), "Settings the run used.", False),
        _col("newsmill_version", pa.string(), "newsmill version.", False),
        *_RUN_DATE_PARTITION,
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        ARTICLES,
        PARAGRAPHS,
        ENTITIES,
        QUOTES,
        DUPLICATES,
        REJECTS,
        FETCHES,
        MINHASH,
        INPUT_KEYS,
        SITE_PARAGRAPHS,
        RUNS,
    )
}
