"""Records to rows: every row has exactly its table's columns (a misspelt or missing key
would otherwise be written as null), with values of the declared types."""

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from newsmill.schemas.reasons import Reason
from newsmill.schemas.tables import ARTICLES, DUPLICATES, ENTITIES, PARAGRAPHS, QUOTES, REJECTS
from newsmill.tasks.lake import rows
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.mentions.entity import PERSON, Entity
from newsmill.tasks.mentions.quotes import Quote
from newsmill.tasks.records import (
    Document,
    DocumentDuplicate,
    ParagraphDuplicate,
    Reject,
    hash_text,
)
from newsmill.tasks.text.words import count_paragraph_words

CTX = RunContext("20261202T010000Z-abc123", datetime(2026, 12, 2, 1, tzinfo=UTC), "test rules")


def article(published: datetime | None = datetime(2025, 3, 9, 12, tzinfo=UTC)) -> Document:
    body = "Ana Silva said the bridge would open.\n\nIt opens in May."
    doc = Document("a.txt", hash_text(body), "text", body, published_at=published)
    doc.paragraphs = body.split("\n\n")
    doc.paragraph_hashes = [hash_text(p) for p in doc.paragraphs]
    doc.content_hash = hash_text(doc.text)
    doc.entities = [Entity("Ana Silva", "Ana Silva", PERSON, 0, 9)]
    doc.quotes = [Quote("the bridge would open", 15, 36, "Ana Silva", 0, "said", "Ana Silva")]
    doc.dropped_paragraphs = [ParagraphDuplicate(2, 0, doc.paragraph_hashes[0])]
    doc.boilerplate_paragraphs = [ParagraphDuplicate(3, None, hash_text("Subscribe now"))]
    return doc


def test_every_row_has_exactly_its_tables_columns_and_types() -> None:
    doc = article()
    duplicate = DocumentDuplicate(article(), "kept-id", doc.content_hash or "")
    reject = Reject("b.txt", Reason.READ_EMPTY_FILE, "empty file", None, None)
    built = rows.batch_rows(CTX, [doc], [duplicate], [reject], {"a.txt": "older-id"})
    assert {name: len(found) for name, found in built.items()} == {
        ARTICLES.name: 1,
        PARAGRAPHS.name: 2,
        ENTITIES.name: 1,
        QUOTES.name: 1,
        DUPLICATES.name: 3,  # the document copy, a repeated and a boilerplate paragraph
        REJECTS.name: 1,
    }
    for spec in (ARTICLES, PARAGRAPHS, ENTITIES, QUOTES, DUPLICATES, REJECTS):
        for row in built[spec.name]:
            assert set(row) == set(spec.schema.names), spec.name
        # the declared types take the values as they are, non-nullable columns are filled
        pa.Table.from_pylist(built[spec.name], schema=spec.schema).validate(full=True)
    [row] = built[ARTICLES.name]
    assert (row["supersedes"], row["pipeline_version"], row["n_words"]) == (
        "older-id",
        "test rules",
        11,
    )
    methods = sorted((d["level"], d["method"]) for d in built[DUPLICATES.name])
    assert methods == [("document", "exact"), ("paragraph", "boilerplate"), ("paragraph", "exact")]


@pytest.mark.parametrize(
    ("published", "partition"),
    [
        (datetime(2025, 3, 9, 12, tzinfo=UTC), (2025, 3, False)),
        (None, (2026, 12, True)),  # no date in the input: the ingest date, and a flag saying so
    ],
)
def test_articles_are_partitioned_by_publication_else_ingest_date(
    published: datetime | None, partition: tuple[int, int, bool]
) -> None:
    doc = article(published)
    per_paragraph, n_words = count_paragraph_words(doc.paragraphs)
    row = rows.article_row(doc, CTX, None, n_words)
    assert (row["year"], row["month"], row["partition_from_ingest"]) == partition
    paragraph = rows.paragraph_rows(doc, CTX, per_paragraph)[0]
    assert (paragraph["year"], paragraph["month"]) == partition[:2]


def test_an_entity_row_counts_the_mentions_of_its_canonical_name() -> None:
    doc = article()
    doc.entities = [
        Entity("Ana Silva", "Ana Silva", PERSON, 0, 9),
        Entity("Silva", "Ana Silva", PERSON, 60, 65),
    ]
    found = rows.entity_rows(doc, CTX)
    assert [(r["text"], r["mentions"], r["first_start"]) for r in found] == [
        ("Ana Silva", 2, 0),
        ("Silva", 2, 0),
    ]
