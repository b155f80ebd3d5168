"""The mentions stage: who and what an English article names (`entities`) and the quotes
in it, each quote's speaker resolved to the article's canonical name for that person.

A speaker mention is resolved as a reader would: a name to the article's fullest name that
contains it ("Peskov" → "Dmitry Peskov"); "he" or "she" to the nearest person named before
it; a role ("the South Korean president") to the person introduced with the most of those
words ("South Korean President Yoon Suk Yeol"). An organisation or a place may speak too
("the White House said"). Anything else stays unknown (null) rather than guessed.
"""

from dataclasses import dataclass, replace

from newsmill.tasks.mentions.entities import find_entities, mentions_version
from newsmill.tasks.mentions.entity import LOC, ORG, PERSON, Entity, contains_words
from newsmill.tasks.mentions.quotes import Quote, find_quotes
from newsmill.tasks.records import Document
from newsmill.tasks.setting import setting

PERSONAL_PRONOUNS = frozenset({"he", "she", "him", "her"})
DETERMINERS = frozenset({"the", "a", "an", "one", "of", "for"})


@dataclass(frozen=True, slots=True)
class MentionSettings:
    entities: bool = setting(
        True,
        "Find people, organisations and places, and quotes with their speakers, in English articles (needs --fields for the language); --no-entities skips them.",
    )
    ner: str = setting(
        "rules",
        "Entity finder: rules (offline, built in) or spacy:<model>, a spaCy pipeline you installed (package name or path).",
    )


def add_mentions(doc: Document, settings: MentionSettings | None = None) -> Document:
    """Entities and quotes of an English article (others get none: rules for English
    would produce garbage on other languages)."""
    if (settings is not None and not settings.entities) or doc.language != "en":
        return doc
    text = doc.text
    finder = settings.ner if settings is not None else "rules"
    entities = find_entities(text, finder)
    quotes = resolve_speakers(find_quotes(text), entities)
    return replace(doc, entities=entities, quotes=quotes, mentions_version=mentions_version(finder))


def resolve_speakers(quotes: list[Quote], entities: list[Entity]) -> list[Quote]:
    return [replace(q, speaker=_speaker(q, entities)) for q in quotes]


def _speaker(quote: Quote, entities: list[Entity]) -> str | None:
    mention = quote.speaker_mention
    if mention is None:
        return None
    at = quote.speaker_start if quote.speaker_start is not None else quote.start
    words = mention.lower().split()
    persons = [e for e in entities if e.label == PERSON]
    if len(words) == 1 and words[0] in PERSONAL_PRONOUNS:
        before = [p for p in persons if p.end <= at]
        return before[-1].canonical if before else None
    if words[0] in DETERMINERS:
        return _by_role(words, persons, at)
    end = at + len(mention)
    named = [e for e in entities if e.start < end and at < e.end]  # "Governor Anna Lindqvist"
    if named:
        return named[0].canonical
    tokens = mention.split()
    for entity in persons + [e for e in entities if e.label in (ORG, LOC)]:
        if contains_words(entity.canonical.split(), tokens):
            return entity.canonical
    return None


def _by_role(words: list[str], persons: list[Entity], at: int) -> str | None:
    wanted = {w for w in words if w not in DETERMINERS}
    best: tuple[int, int] = (0, -1)
    chosen: str | None = None
    for person in persons:
        overlap = len(wanted & set(person.role.split()))
        nearness = person.start if person.start <= at else -person.start
        if overlap and (overlap, nearness) > best:
            best, chosen = (overlap, nearness), person.canonical
    return chosen
