"""Site boilerplate: short paragraphs that recur across many articles of the same site
(subscribe prompts, standard footers, photo credits) are removed from the article text.

A paragraph is boilerplate for a site once `boilerplate_min_articles` earlier articles of
that site (in earlier runs or earlier in the same shard) carried it; from then on it is removed and
recorded as a paragraph duplicate with method `boilerplate`. Counting is streamed, so the
first occurrences of a new template stay in their articles: nothing is rewritten after
it was staged. Only paragraphs of at most `boilerplate_max_words` words are counted,
which keeps the state small (a counter per site and short paragraph) and leaves real
wire copy, which `shared_paragraphs` shows, alone.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import xxhash

from newsmill.schemas.tables import SITE_PARAGRAPHS
from newsmill.tasks.lookup import NO_LAKE, Lookup
from newsmill.tasks.records import Document, ParagraphDuplicate
from newsmill.tasks.setting import setting

BOILERPLATE_VERSION = "boilerplate_v1"


@dataclass(frozen=True, slots=True)
class BoilerplateSettings:
    boilerplate_min_articles: int = setting(
        5,
        "A short paragraph seen in this many earlier articles of the same site is boilerplate and removed (0: off).",
        unit="articles",
        zero="off",
    )
    boilerplate_max_words: int = setting(
        40,
        "Only paragraphs of at most this many words are counted as possible boilerplate.",
        unit="words",
    )


def site_paragraph_key(domain: str, paragraph_hash: str) -> int:
    return xxhash.xxh3_64_intdigest(f"{domain}\0{paragraph_hash}".encode())


class SiteParagraphCounts:
    """In how many articles of a site each short paragraph appeared: the lake's counts for
    the paragraphs this run meets (looked up batch by batch), plus this run's own."""

    def __init__(self, lake: Lookup = NO_LAKE) -> None:
        self._lake = lake
        self._in_lake: dict[int, int] = {}
        self.in_run: dict[int, int] = {}

    def meet(self, keys: Iterable[int]) -> None:
        """Fetch the lake's counts of these keys (those not met before)."""
        wanted = np.fromiter((k for k in set(keys) if k not in self._in_lake), np.uint64)
        self._in_lake.update(dict.fromkeys(wanted.tolist(), 0))
        if not len(wanted):
            return
        found = self._lake.look_up(SITE_PARAGRAPHS, "site_key", wanted, ["site_key", "articles"])
        totals = found.group_by("site_key").aggregate([("articles", "sum")])
        self._in_lake.update(
            zip(totals["site_key"].to_pylist(), totals["articles_sum"].to_pylist(), strict=True)
        )

    def count(self, key: int) -> int:
        return self._in_lake.get(key, 0) + self.in_run.get(key, 0)

    def add(self, key: int) -> None:
        self.in_run[key] = self.in_run.get(key, 0) + 1


def short_paragraph_keys(doc: Document, settings: BoilerplateSettings) -> list[tuple[int, int]]:
    """(position, site key) of the paragraphs short enough to count as boilerplate."""
    if not doc.domain:
        return []
    return [
        (position, site_paragraph_key(doc.domain, paragraph_hash))
        for position, (paragraph, paragraph_hash) in enumerate(
            zip(doc.paragraphs, doc.paragraph_hashes, strict=True)
        )
        # at most n words ⇔ at most n pieces when splitting stops after n cuts: a long
        # paragraph is not split into all its words
        if len(paragraph.split(None, settings.boilerplate_max_words))
        <= settings.boilerplate_max_words
    ]


def remove_boilerplate(
    doc: Document, counts: SiteParagraphCounts, settings: BoilerplateSettings
) -> Document:
    """Drop this site's known boilerplate paragraphs from `doc`, then count its short ones.

    An article that would be left empty keeps its text: its paragraphs are then its content.
    """
    if settings.boilerplate_min_articles <= 0:
        return doc
    short = short_paragraph_keys(doc, settings)
    removed = {
        position
        for position, key in short
        if counts.count(key) >= settings.boilerplate_min_articles
    }
    for key in {key for _, key in short}:
        counts.add(key)
    if not removed or len(removed) == len(doc.paragraphs):
        return doc
    keep = [i for i in range(len(doc.paragraphs)) if i not in removed]
    return replace(
        doc,
        paragraphs=[doc.paragraphs[i] for i in keep],
        paragraph_hashes=[doc.paragraph_hashes[i] for i in keep],
        boilerplate_paragraphs=[
            ParagraphDuplicate(i, None, doc.paragraph_hashes[i]) for i in sorted(removed)
        ],
    )
