"""The words and names the entity rules read, from data files under `gazetteer/`, each
with its source in its header or in the script that builds it; loaded once per process."""

import gzip
from pathlib import Path

from newsmill.tasks.mentions.gazetteer.build_names import GIVEN_NAMES, PLACES, read_list
from newsmill.tasks.once import load_once
from newsmill.tasks.text.letters import without_diacritics

GAZETTEER = Path(__file__).parent / "gazetteer"


def _lines(name: str) -> list[str]:
    text = (GAZETTEER / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def word_list(name: str) -> frozenset[str]:
    """A list of words, one a line, from `gazetteer/<name>.txt`."""
    return frozenset(line.strip() for line in _lines(f"{name}.txt"))


def word_pairs(name: str) -> dict[str, str]:
    """Tab-separated pairs from `gazetteer/<name>.tsv`."""
    return dict(line.split("\t", 1) for line in _lines(f"{name}.tsv"))  # type: ignore[misc]


TITLES = word_list("titles")
ORG_WORDS = word_list("org_words")
PLACE_HEADS = word_list("place_heads")
DEMONYMS = word_list("demonyms")
COMMON_OPENERS = word_list("common_openers")
MISC_WORDS = word_list("misc_words")
NOT_NAMES = word_list("not_names")
LOC_ALIASES = word_pairs("loc_aliases")
NOT_OFFICES = word_list("not_offices")


@load_once
def given_names() -> frozenset[str]:
    """Given names of every locale of faker's person provider (`faker_given_names.txt.gz`)
    and compromise's, any script with case, without diacritics ("Émilie" as "Emilie",
    "Дмитрий" as it is); look a word up with `is_given_name`: "Charles Bolden" is a person,
    "Sea Org" is not."""
    names = {without_diacritics(n) for n in read_list(GIVEN_NAMES)}
    names |= {without_diacritics(n.title()) for n in lexicon()["GIVEN"]}
    # faker's US list carries some words that are titles or organisation words ("Council")
    not_given = places() | TITLES | ORG_WORDS
    return frozenset(n for n in names if n.lower() not in not_given)


def is_given_name(word: str) -> bool:
    """A given name in any spelling: "Şükrü" is found as faker's Turkish list has it and as
    an English text may write it ("Sukru"), "Łucja" as "Lucja"."""
    return without_diacritics(word) in given_names()


@load_once
def lexicon() -> dict[str, frozenset[str]]:
    """Names by kind, lower case: ORG (organisations, sports teams), PERSON (well-known
    people), GIVEN and FAMILY names, and WORD (plain English words, never a name alone).
    From the lexicon of compromise (MIT; `gazetteer/build_compromise.mjs` regenerates it)."""
    kinds: dict[str, set[str]] = {}
    path = GAZETTEER / "compromise.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, name = line.split("\t")
            kinds.setdefault(kind, set()).add(name)
    return {kind: frozenset(names) for kind, names in kinds.items()}


@load_once
def _geonames_places() -> list[str]:
    """`geonames_places.txt.gz`, read once for `countries` and `places`."""
    return read_list(PLACES)


@load_once
def countries() -> frozenset[str]:
    """Lower-case names of countries, the UK's nations, Korea and states gone since 1990."""
    names = {n.removeprefix("=") for n in _geonames_places() if n.startswith("=")}
    names |= {"England", "Scotland", "Wales", "Northern Ireland", "Korea", "Soviet Union"}
    names |= {"USSR", "Yugoslavia", "Czechoslovakia", "East Germany", "West Germany"}
    return frozenset(n.lower() for n in names) | frozenset(LOC_ALIASES)


@load_once
def wordnet_names() -> dict[str, frozenset[str]]:
    """Proper names, lower case, with their WordNet kinds: PERSON, LOC, ORG, THING (WordNet
    3.0 licence; `gazetteer/build_wordnet.py` regenerates them)."""
    names = {}
    path = GAZETTEER / "wordnet.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            *kinds, name = line.split("\t")
            names[name] = frozenset(kinds)
    return names


@load_once
def plain_words() -> frozenset[str]:
    """Lower-case English words: compromise's plain words and the words SCOWL lists in lower
    case (permissive; `gazetteer/build_scowl.sh` regenerates them)."""
    path = GAZETTEER / "scowl_words.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        scowl = {line.rstrip("\n") for line in lines if not line.startswith("#")}
    return lexicon()["WORD"] | scowl


@load_once
def places() -> frozenset[str]:
    """Lower-case names of countries, US states, continents and cities of 100k+ people
    (GeoNames, `geonames_places.txt.gz`)."""
    names = set(countries())
    names |= {n.removeprefix("=") for n in _geonames_places()}
    names |= {"Middle East", "Latin America", "Gulf", "Kyiv", "Pyongyang", "Europe", "Asia"}
    return frozenset(n.lower() for n in names) | frozenset(LOC_ALIASES)
