"""Site boilerplate: short paragraphs that recur across many articles of the same site
(subscribe prompts, standard footers, photo credits) are removed from the article text.

A paragraph is boilerplate for a site once `boilerplate_min_articles` earlier articles of
that site (in the lake or earlier in this run) carried it; from then on it is removed and
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

from tasks.records import Document, ParagraphDuplicate


@dataclass(frozen=True, slots=True)
class BoilerplateSettings:
    boilerplate_min_articles: int = 5  # 0 switches removal off
    boilerplate_max_words: int = 40


def site_paragraph_key(domain: str, paragraph_hash: str) -> int:
    return xxhash.xxh3_64_intdigest(f"{domain}\0{paragraph_hash}".encode())


class SiteParagraphCounts:
    """In how many articles of a site each short paragraph appeared: lake plus this run."""

    def __init__(self, lake_counts: Iterable[tuple[str, str, int]] = ()) -> None:
        pairs = sorted((site_paragraph_key(d, h), n) for d, h, n in lake_counts)
        self._lake_keys = np.array([k for k, _ in pairs], dtype=np.uint64)
        self._lake_counts = np.array([n for _, n in pairs], dtype=np.int64)
        self._run: dict[int, int] = {}

    def count(self, key: int) -> int:
        at = int(np.searchsorted(self._lake_keys, np.uint64(key)))
        in_lake = (
            int(self._lake_counts[at])
            if at < len(self._lake_keys) and self._lake_keys[at] == key
            else 0
        )
        return in_lake + self._run.get(key, 0)

    def add(self, key: int) -> None:
        self._run[key] = self._run.get(key, 0) + 1


def remove_boilerplate(
    doc: Document, counts: SiteParagraphCounts, settings: BoilerplateSettings
) -> Document:
    """Drop this site's known boilerplate paragraphs from `doc`, then count its short ones.

    An article that would be left empty keeps its text: its paragraphs are then its content.
    """
    if not doc.domain or settings.boilerplate_min_articles <= 0:
        return doc
    short = [
        (position, site_paragraph_key(doc.domain, paragraph_hash))
        for position, (paragraph, paragraph_hash) in enumerate(
            zip(doc.paragraphs, doc.paragraph_hashes, strict=True)
        )
        if len(paragraph.split()) <= settings.boilerplate_max_words
    ]
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
