"""Table contracts of the newsmill lake: schemas, partitions and reject reason codes."""

from newsmill.schemas.reasons import REASONS, Reason
from newsmill.schemas.tables import (
    ARTICLES,
    DUPLICATES,
    ENTITIES,
    INPUT_KEYS,
    MINHASH,
    PARAGRAPHS,
    QUOTES,
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
    "ENTITIES",
    "INPUT_KEYS",
    "MINHASH",
    "PARAGRAPHS",
    "QUOTES",
    "REASONS",
    "REJECTS",
    "RUNS",
    "SITE_PARAGRAPHS",
    "TABLES",
    "Column",
    "Reason",
    "TableSpec",
]
