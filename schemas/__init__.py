"""Table contracts of the newsmill lake: schemas, partitions and reject reason codes."""

from schemas.reasons import REASONS, Reason
from schemas.tables import (
    ARTICLES,
    DUPLICATES,
    PARAGRAPHS,
    REJECTS,
    RUNS,
    TABLES,
    Column,
    TableSpec,
)

__all__ = [
    "ARTICLES",
    "DUPLICATES",
    "MINHASH",
    "PARAGRAPHS",
    "REASONS",
    "REJECTS",
    "RUNS",
    "TABLES",
    "Column",
    "Reason",
    "TableSpec",
]
