"""Canonical names: the unsure mentions decided by the whole article, then each mention
given the article's fullest name for it ("Yoon" → `Yoon Suk Yeol`; "GM" → `General Motors`
when the article spells it out)."""

import re
from dataclasses import replace

from newsmill.tasks.mentions.entity import (
    HOLDER,
    LOC,
    MAYBE_PERSON,
    OFFICE,
    ORG,
    PERSON,
    Entity,
    contains_words,
    is_acronym,
    words_of,
)
from newsmill.tasks.mentions.lexicon import DEMONYMS, lexicon, places, plain_words
from newsmill.tasks.text.letters import LOWER, UPPER

# "Hwang Hee-Chan"
EAST_ASIAN_NAME = re.compile(rf"{UPPER}{LOWER}{{1,4}} {UPPER}{LOWER}+-(?:{UPPER}|{LOWER}){LOWER}+")


def canonicalised(mentions: list[Entity]) -> list[Entity]:
    resolved = _people_resolved(mentions)
    # distinct names are few even when mentions are many: resolve each name once
    names = {(m.label, m.text): m.canonical for m in resolved if m.label and m.label != HOLDER}
    same_label: dict[str, list[tuple[str, list[str]]]] = {}
    people_by_word: dict[str, list[tuple[str, list[str]]]] = {}  # a person's fuller names
    for label, text in names:  # … have the name's first word: look only among those
        tokens = words_of(text)
        same_label.setdefault(label, []).append((text, tokens))
        for word in set(tokens) if label == PERSON else ():
            people_by_word.setdefault(word, []).append((text, tokens))
    canonical = {
        (label, text): _canonical(
            (label, text),
            written,
            people_by_word[text.split()[0]] if label == PERSON else same_label[label],
        )
        for (label, text), written in names.items()
    }
    # the constructor, not dataclasses.replace: this runs for every mention, at half the cost
    return [
        Entity(m.text, canonical[(PERSON, m.canonical)], PERSON, m.start, m.end, m.role)
        if m.label == HOLDER
        else Entity(m.text, canonical[(m.label, m.text)], m.label, m.start, m.end, m.role)
        for m in resolved
        if m.label
    ]


def _people_resolved(mentions: list[Entity]) -> list[Entity]:
    """The unsure mentions decided by the whole article: a run with no sign of a person yet
    (kept if a person, else its owner or nothing), a lone unlabelled word (a person if it is
    part of a person's name), a place that is a person's surname ("Valeska Paris" … "Paris
    claims")."""
    person_names = {m.text for m in mentions if m.label == PERSON}
    confirmed = _confirmed_people(mentions, person_names)
    full_names = [name.split() for name in person_names | confirmed if " " in name]
    person_words = {w for words in full_names for w in words}
    surnames = {words[-1] for words in full_names if all(w[:1].isupper() for w in words)}
    owners = {m.text: ORG for m in mentions if m.label == ORG and " " not in m.text}
    owners.update((name, PERSON) for name in surnames | person_names if " " not in name)
    holders = [m for m in mentions if m.label == PERSON and m.role]
    decided = []
    for mention in mentions:
        if mention.label == OFFICE:
            mention = _holder(mention, holders)
        elif (
            mention.text in confirmed
            or (not mention.label and mention.text in person_words)
            or (mention.label == LOC and mention.text in surnames)
        ):
            mention = replace(mention, label=PERSON)
        elif mention.label == MAYBE_PERSON:
            mention = _owner(mention, owners)
        decided.append(mention)
    return decided


def _holder(office: Entity, holders: list[Entity]) -> Entity:
    """An office named alone is its holder in the article: the nearest person named before
    it with that title ("U.S. President Donald Trump … The President later"), else the
    first after; with no holder it is nothing."""
    title = office.role.split()[-1]
    held = [p for p in holders if title in p.role.split()]
    before = [p for p in held if p.end <= office.start]
    holder = before[-1] if before else next(iter(held), None)
    if holder is None:
        return replace(office, label="")
    return replace(office, label=HOLDER, canonical=holder.text)


def _confirmed_people(mentions: list[Entity], person_names: set[str]) -> set[str]:
    """The runs with no sign of a person yet that are people: the article names the last
    word as a person ("Medvedev said"), or no word of the run is an English word and the
    article names the last word alone ("Romelu Lukaku" … "Lukaku") or the run is written as
    an East Asian name ("Hwang Hee-Chan")."""
    single_names = {name for name in person_names if " " not in name}
    named_alone = {m.text for m in mentions if m.label and " " not in m.text}
    named_alone |= {name.split()[-1] for name in person_names}
    unlabelled_alone = {m.text for m in mentions if not m.label}
    confirmed = set()
    for mention in mentions:
        if mention.label != MAYBE_PERSON:
            continue
        last = mention.text.split()[-1]
        unknown = last in unlabelled_alone or EAST_ASIAN_NAME.fullmatch(mention.text)
        if last in single_names or (unknown and _unknown_words(mention.text, named_alone)):
            confirmed.add(mention.text)
    return confirmed


def _unknown_words(name: str, named_alone: set[str]) -> bool:
    """No word of the name is a plain word, a place, a demonym or an acronym, and it does
    not start with another name of the article: "Romelu Lukaku" (with "Lukaku" alone
    elsewhere, as news names a person again); not "JPL Stardust", nor "Warhol Polaroids"
    once the article names "(Andy) Warhol"."""
    words = name.split()
    if words[0] in named_alone or any(
        is_acronym(w) or w.lower() in places() or w.lower() in DEMONYMS for w in words
    ):
        return False
    return not any(w.lower() in plain_words() for w in words)


def _owner(mention: Entity, owners: dict[str, str]) -> Entity:
    """A run led by a name names its owner: a known organisation ("Google Analytics"), or a
    name the article gives alone or as a surname ("the Warhol Polaroids"); else nothing."""
    owner = mention.text.split()[0]
    label = ORG if owner.lower() in lexicon()["ORG"] else owners.get(owner, "")
    return Entity(owner, owner, label, mention.start, mention.start + len(owner))


def _canonical(key: tuple[str, str], written: str, same: list[tuple[str, list[str]]]) -> str:
    """The article's fullest name for a mention, from the names of its label (tokenised)."""
    label, text = key
    if label == LOC:
        return written
    if label == PERSON:
        words = words_of(text)
        return max(
            (other for other, tokens in same if contains_words(tokens, words)),
            key=len,
            default=text,
        )
    if is_acronym(text):
        initials = text.replace(".", "")
        for other, tokens in same:
            if "".join(t[0] for t in tokens if t[0].isupper()) == initials:
                return other
    return text
