"""People, organisations and places named in an article, then given the article's fullest
name for them ("Yoon" and "South Korean President Yoon Suk Yeol" → `Yoon Suk Yeol`; "DPRK"
→ `North Korea`).

Two finders, one canonicalisation:
- `rules` (the default; offline, no model; `rules.py`) over the lexicon of `lexicon.py`,
  whose words and names live in data files under `gazetteer/`, each with its source;
- `spacy:<model>` (a spaCy pipeline the user installed; `spacy_adapter.py`);
then `canonical.py` decides the unsure mentions by the whole article and names each one.
"""

import functools

from newsmill.tasks.errors import NerError
from newsmill.tasks.mentions.canonical import canonicalised
from newsmill.tasks.mentions.entity import Entity
from newsmill.tasks.mentions.quotes import QUOTES_VERSION
from newsmill.tasks.mentions.rules import rule_mentions
from newsmill.tasks.mentions.spacy_adapter import spacy_mentions, spacy_pipeline

# The rules, the lexicon (gazetteer/ files) and canonicalisation: bumped whenever any of
# them can name, label or place a mention differently.
# v2: capitals and small letters of every cased script; given names without diacritics
# v3: legal forms, institutions and clubs are organisations; datelines are places; plural
# nouns opening a sentence and lines all in capitals name nobody
# v4: one-word names in the rows of score tables are clubs; table headers name nobody
ENTITIES_VERSION = "entities_v5"


def check_finder(finder: str) -> None:
    """Fail early, with what to do, when the finder cannot load."""
    if finder == "rules":
        return
    if not finder.startswith("spacy:") or not finder.removeprefix("spacy:"):
        raise NerError(f"ner must be 'rules' or 'spacy:<model>', got {finder!r}")
    spacy_pipeline(finder.removeprefix("spacy:"))


@functools.cache
def mentions_version(finder: str = "rules") -> str:
    """What made an article's entity and quote rows: the rule versions, and the spaCy
    pipeline with its own version when one finds the entities."""
    made_by = f"{ENTITIES_VERSION}; {QUOTES_VERSION}"
    if finder == "rules":
        return made_by
    meta = spacy_pipeline(finder.removeprefix("spacy:")).meta
    return (
        f"{made_by}; spacy {meta.get('lang', '')}_{meta.get('name', '')} {meta.get('version', '')}"
    )


def find_entities(text: str, finder: str = "rules") -> list[Entity]:
    """Every PERSON, ORG and LOC mention, with the article's canonical name for it."""
    if finder == "rules":
        mentions = rule_mentions(text)
    else:
        mentions = spacy_mentions(text, spacy_pipeline(finder.removeprefix("spacy:")))
    return canonicalised(mentions)
