"""The `spacy:<model>` finder: a spaCy pipeline the user installed, its entities mapped
onto our labels (PERSON/PER → PERSON, ORG → ORG, GPE/LOC → LOC), the rest left out."""

import functools
from typing import Any

from newsmill.tasks.errors import MissingExtraError, NerError
from newsmill.tasks.extras import require
from newsmill.tasks.mentions.entity import LOC, MAX_ENTITIES, ORG, PERSON, Entity
from newsmill.tasks.mentions.lexicon import DEMONYMS, LOC_ALIASES, TITLES

SPACY_LABELS = {"PERSON": PERSON, "PER": PERSON, "ORG": ORG, "GPE": LOC, "LOC": LOC}


@functools.cache
def spacy_pipeline(model: str) -> Any:
    try:
        spacy = require("spacy", "ner 'spacy:…'")
    except MissingExtraError as error:
        raise NerError(f"{error}, and a pipeline") from error
    try:
        return spacy.load(model)
    except OSError as error:
        raise NerError(f"cannot load the spaCy pipeline {model!r}: {error}") from error


def spacy_mentions(text: str, nlp: Any) -> list[Entity]:
    mentions = []
    for ent in nlp(text).ents:
        label = SPACY_LABELS.get(ent.label_)
        if label is None:
            continue
        written = ent.text
        canonical = LOC_ALIASES.get(written.lower(), written) if label == LOC else written
        role = _role_before(text, ent.start_char) if label == PERSON else ""
        mentions.append(Entity(written, canonical, label, ent.start_char, ent.end_char, role))
    return mentions[:MAX_ENTITIES]


def _role_before(text: str, start: int) -> str:
    """The title and role words written just before a name ("South Korean President")."""
    words = text[max(0, start - 80) : start].split()
    role: list[str] = []
    for word in reversed(words):
        bare = word.lower().rstrip(".")
        if not word[:1].isupper() or bare not in TITLES | DEMONYMS:
            break
        role.insert(0, bare)
    return " ".join(role)
