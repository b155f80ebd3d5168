"""Table contracts of the newsmill lake: schemas, partitions and reject reason codes."""

from schemas.reasons import REASONS, Reason
from schemas.tables import (
    ARTICLES,
    DUPLICATES,
    INPUT_KEYS,
    MINHASH,
    PARAGRAPHS,
    REJECTS,
    RUNS,
    SITE_PARAGRAPHS,
    TABLES,
    Column,
    TableSpec,
)

__all__ = [
    "ARTICLES",
    "DUPLICATES",
    "INPUT_KEYS",
    "MINHASH",
    "PARAGRAPHS",
    "REASONS",
    "REJECTS",
    "RUNS",
    "SITE_PARAGRAPHS",
    "TABLES",
    "Column",
    "Reason",
    "TableSpec",
]
