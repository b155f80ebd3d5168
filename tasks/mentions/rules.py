"""The `rules` finder (the default; offline, no model): capitalised spans are cut at
titles, roles and possessives ("Korea's Kim Shin-wook"), and classified by the lexicon
(places, organisations, people, given and family names, WordNet names, plain words),
organisation words and acronyms, titles, role appositions and reporting verbs."""

import functools
import re
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, replace

from newsmill.tasks.mentions.entity import (
    LOC,
    MAX_ENTITIES,
    MAYBE_PERSON,
    OFFICE,
    ORG,
    PERSON,
    UNDECIDED,
    Entity,
    is_acronym,
    words_of,
)
from newsmill.tasks.mentions.lexicon import (
    COMMON_OPENERS,
    DEMONYMS,
    LOC_ALIASES,
    MISC_WORDS,
    NOT_NAMES,
    NOT_OFFICES,
    ORG_WORDS,
    PLACE_HEADS,
    TITLES,
    countries,
    is_given_name,
    lexicon,
    places,
    plain_words,
    wordnet_names,
)
from newsmill.tasks.text.letters import LOWER, UPPER, without_diacritics

_CONNECTORS = r"(?:of|the|for|de|del|da|du|van|von|bin|al|la|le)"
_TOKEN = rf"(?:{UPPER}\.(?:{UPPER}\.)+|{UPPER}[\w'’&-]*\.?)"
_PARTICLE_TOKEN = rf"(?:al|el|ad|as|ash|at|ibn|abu)-{UPPER}[\w'’&-]*"  # "el-Sisi": inside a name
SPAN = re.compile(rf"{_TOKEN}(?:[ \t]+(?:{_CONNECTORS}[ \t]+)*(?:{_TOKEN}|{_PARTICLE_TOKEN}))*")
CONNECTOR_WORDS = frozenset(_CONNECTORS.strip("(?:)").split("|"))
_NAME_RUN = rf"{UPPER}[\w&.-]*(?: {UPPER}[\w&.-]*)*"

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
# sports words around a name say it is a club: "plays for Kilmarnock", "Leeds striker";
# countries are left alone (a national side is named as its country)
CLUB_CUES_BEFORE = ("plays for", "played for", "signed for", "signed from", "loan from", "joined")
CLUB_CUES_AFTER = (
    "striker",
    "midfielder",
    "defender",
    "goalkeeper",
    "winger",
    "manager",
    "fans",
    "supporters",
)
# the first word of many clubs' names: "Real Sociedad", "Sporting Lisbon", "Borussia Dortmund"
CLUB_FIRST_WORDS = frozenset(
    ["real", "atletico", "atlético", "sporting", "borussia", "olympique", "dynamo", "dinamo"]
)
# "Leeds beat Everton 2-1", "Stockport County drew 1-1 with Hartlepool"
RESULT = re.compile(
    rf"({UPPER}[\w.'’-]*(?: {UPPER}[\w.'’-]*){{0,3}}) (?:beat|defeated|thrashed|edged|drew with|lost to)"
    rf" ({UPPER}[\w.'’-]*(?: {UPPER}[\w.'’-]*){{0,3}}),? (?:by )?\d{{1,2}} ?[–—-] ?\d{{1,2}}\b"
)
DIGIT = re.compile(r"\d")
NUMBER_TOKEN = re.compile(r"(?<!\S)\(?\d+[.,;:)]?(?!\S)")
# results written with the numbers apart: "Arsenal 2 Chelsea 1"
RESULT_IN_NUMBERS = re.compile(
    rf"\b{UPPER}{LOWER}+(?: {UPPER}{LOWER}+){{0,3}} \d{{1,2}},? {UPPER}{LOWER}+(?: {UPPER}{LOWER}+){{0,3}}"
    rf" \d{{1,2}}\b"
)
# a dateline opening a paragraph: "MÂCON, France —", "PORT ALDER —", "LONDON (Reuters) -"
DATELINE = re.compile(
    rf"[ \t]*({UPPER}(?:{UPPER}|[.'’-])+(?: {UPPER}(?:{UPPER}|[.'’-])+){{0,4}})"
    rf"(?=[ \t]*(?:,[ \t]*{UPPER}|\(|—|–|--| - ))"
)
# a line of three or more words and no small letter
_NOT_SMALL = "[^\\n" + LOWER[1:-1] + "]"
SHOUTED_LINE = re.compile(rf"(?=[ \t]*\S+[ \t]+\S+[ \t]+\S){_NOT_SMALL}+")
NAME_RUN_AFTER_CUE = re.compile(rf"[ \t]+({_NAME_RUN})")
NAME_RUN_BEFORE_CUE = re.compile(rf"(?<![\w&.-])({_NAME_RUN})(?:['’]s)?[ \t]+$")
NAME_PARTICLES = CONNECTOR_WORDS - {"of", "the", "for"}  # "Luigi del Neri", "Osama bin Laden"
LOWER_CASE_WORD = re.compile(rf"\b{LOWER}[\w'’-]*")
_SMALL_LETTER = re.compile(LOWER)
CONTRACTION = re.compile(r"['’](?:m|re|ve|ll|d|s)$")
CONNECTOR_RUN = re.compile(rf"[ \t]+(?:{_CONNECTORS}[ \t]+)+")
WEEKDAYS = frozenset(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
SCORE = re.compile(r"\d ?[–—-] ?\d")
SCORELINE = re.compile(rf"\b({UPPER}{LOWER}+) \d{{1,2}} ?[–—-] ?\d{{1,2}} ({UPPER}{LOWER}+)\b")
POSSESSIVE = re.compile(r"['’]s?$")
ROMAN_NUMERAL = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
INDEFINITE_BEFORE = re.compile(r"\b(?:a|an)\s+$", re.IGNORECASE)

# possessors that belong to a name: "New People's Party", "Women's Institute"
COLLECTIVE_POSSESSORS = frozenset(["people", "children", "women", "men", "workers", "veterans"])
# a period or a possessive inside a span (the search is skipped for spans with neither mark)
MAY_END_NAME = re.compile(r"\.|['’]s\s|s['’]\s")
HYPHEN_PREFIX = re.compile(r"\b[a-z]+-$")
REPORTING = re.compile(
    r"^\s*,?\s*(?:said|says|told|added|asked|stated|wrote|argued|claimed|warned|explained)\b"
)
APPOSITION = re.compile(r"^\s*,\s*(?:a|an|the|its|his|her)\s+((?:[\w'’-]+\s+){0,4}[\w'’-]+)")


def rule_mentions(text: str) -> list[Entity]:
    shouted = _shouted_lines(text)
    mentions = _capitalised_mentions(text, shouted)
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
            if m.text in companies and m.label != LOC and not is_given_name(m.text.split()[0])
            else m
            for m in mentions
        ]
    clubs = _clubs(text)
    if clubs:  # "Leeds striker", "plays for Kilmarnock": the club, not the city or a person
        mentions = [
            replace(m, label=ORG)
            if m.text in clubs
            and m.label in (LOC, "", MAYBE_PERSON)
            and m.canonical.lower() not in countries()
            else m
            for m in mentions
        ]
    mentions = _in_tables(text, mentions)
    return _datelines(text, [_with_plc(text, m) for m in mentions], shouted)


def _in_tables(text: str, mentions: list[Entity]) -> list[Entity]:
    """A results or league table ("1 Arsenal 10 8 1 1 25", "Arsenal 2 Chelsea 1") names
    teams: a single word in a row is a club, not a person named "Chelsea" nor the city; the
    line of words right above the rows ("Pos Team Pld W D L Pts") is its header, no name."""
    rows, headers = _table_lines(text)
    if not rows:
        return mentions
    kept = []
    for mention in mentions:
        if any(a <= mention.start < b for a, b in headers):
            continue
        in_row = any(a <= mention.start < b for a, b in rows)
        if in_row and _team_name(mention):
            mention = replace(mention, label=ORG)
        kept.append(mention)
    return kept


def _header(line: str) -> bool:
    """Column names: a few words, no digits, not a sentence."""
    words = line.split()
    return 0 < len(words) <= 12 and not any(c.isdigit() for c in line) and line[-1] not in ".:!?"


def _team_name(mention: Entity) -> bool:
    """One word, not a country: a national side stays its country, and a run of words may
    be a person ("1 Usain Bolt 9.58")."""
    return " " not in mention.text and mention.canonical.lower() not in countries()


def _table_lines(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The rows of tables (lines of three or more tokens, half or more of them numbers, or
    results with their numbers apart) and their headers (a line without digits above)."""
    rows: list[tuple[int, int]] = []
    headers: list[tuple[int, int]] = []
    previous: tuple[int, str] | None = None
    for start, line in _lines(text):
        numbers = len(NUMBER_TOKEN.findall(line)) if DIGIT.search(line) else 0
        tokens = line.split() if numbers >= 2 else ()
        if (len(tokens) >= 3 and numbers * 2 >= len(tokens)) or (
            numbers >= 2 and RESULT_IN_NUMBERS.search(line)
        ):
            first_row = not rows or rows[-1][1] + 1 != start
            if first_row and previous is not None and _header(previous[1]):
                headers.append((previous[0], previous[0] + len(previous[1])))
            rows.append((start, start + len(line)))
        previous = (start, line)
    return rows, headers


def _with_plc(text: str, mention: Entity) -> Entity:
    """British companies write their legal form in small letters: "Kelvin plc"."""
    if (
        text[mention.end : mention.end + 4] != " plc"
        or text[mention.end + 4 : mention.end + 5].isalnum()
    ):
        return mention
    name = text[mention.start : mention.end + 4]
    return replace(mention, text=name, canonical=name, label=ORG, end=mention.end + 4)


def _clubs(text: str) -> set[str]:
    """The names sports words stand beside, and the sides of a result in words."""
    names = _names_at_cues(text, CLUB_CUES_BEFORE, CLUB_CUES_AFTER)
    for score in SCORE.finditer(text):  # a result ends at its score: look only before one
        window = text[max(0, score.start() - 120) : score.end() + 3]
        names.update(side for result in RESULT.finditer(window) for side in result.groups())
    return names


def _datelines(text: str, mentions: list[Entity], shouted: list[tuple[int, int]]) -> list[Entity]:
    """A dateline's place is a place ("MÂCON, France —"), whatever its capitals made of it;
    its canonical name is written as a name is ("Mâcon"); not on a line all in capitals."""
    datelines = {
        found.start(1): found.group(1)
        for start, line in _lines(text)
        if line[:1].isupper()
        and line[1:2].isupper()
        and (found := DATELINE.match(text, start)) is not None
        if found.group(1).lower() not in lexicon()["ORG"]
        and found.group(1).lower() not in ORG_WORDS
        and not any(a <= found.start(1) < b for a, b in shouted)
    }
    if not datelines:
        return mentions
    kept = [m for m in mentions if not any(s <= m.start < s + len(d) for s, d in datelines.items())]
    places_named = [Entity(d, d.title(), LOC, s, s + len(d)) for s, d in datelines.items()]
    return sorted(kept + places_named, key=lambda m: m.start)


def _companies(text: str) -> set[str]:
    """The names business words stand beside ("shares in Tulip Computers", "Sony
    Ericsson's shares")."""
    return _names_at_cues(text, COMPANY_CUES_BEFORE, COMPANY_CUES_AFTER)


def _names_at_cues(text: str, before: tuple[str, ...], after: tuple[str, ...]) -> set[str]:
    """Any start of the run of capitalised words after a cue of `before`, any end of the
    one before a cue of `after`."""
    lower = text.lower()
    names: set[str] = set()
    for at, cue in _words_at(lower, before):
        run = NAME_RUN_AFTER_CUE.match(text, at + len(cue))
        words = run[1].split(". ")[0].rstrip(".").split() if run else []
        names.update(" ".join(words[:i]) for i in range(1, len(words) + 1))
    for at, _ in _words_at(lower, after):
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


def _capitalised_mentions(text: str, shouted: list[tuple[int, int]]) -> list[Entity]:
    lowered_words = LowerCaseWords(text)
    mentions: list[Entity] = []
    for match in SPAN.finditer(text):
        if len(mentions) >= MAX_ENTITIES:
            break
        span, start = match.group(), match.start()
        if shouted and any(a <= start < b for a, b in shouted):
            continue
        if text[start - 1 : start] == "-" and HYPHEN_PREFIX.search(text[max(0, start - 5) : start]):
            continue  # "pro-Beijing", "non-Muslim": an adjective, not a mention
        if " " not in span and _sentence_start(text, start):
            word = span.lower()  # most candidates: a capitalised word opening a sentence
            if word in COMMON_OPENERS or word in lowered_words or _plural_noun(word):
                continue
        may_end = ("." in span or "'" in span or "’" in span) and MAY_END_NAME.search(span)
        pieces = _names_apart(start, span) if may_end else ((start, span),)
        for piece_start, piece in pieces:
            for part_start, part in _apart_at_connector(piece_start, piece):
                mentions.extend(_classify(text, part_start, part, lowered_words))
    return mentions


class LowerCaseWords:
    """The words a text writes in small letters (what `LOWER_CASE_WORD` finds in it), asked
    one word at a time: a text is asked about a dozen words, and looking for those where the
    text has them costs a fraction of finding every word (~60 µs an article)."""

    __slots__ = ("_answers", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._answers: dict[str, bool] = {}

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        answer = self._answers.get(word)
        if answer is None:
            answer = self._answers[word] = _writes_in_small_letters(self._text, word)
        return answer


def _writes_in_small_letters(text: str, word: str) -> bool:
    """`word` is one of `LOWER_CASE_WORD`'s matches in `text`."""
    if not LOWER_CASE_WORD.fullmatch(word):
        return False
    at = text.find(word)
    while at != -1:
        if _matched_at(text, at, at + len(word)):
            return True
        at = text.find(word, at + 1)
    return False


def _matched_at(text: str, at: int, end: int) -> bool:
    """Whether text[at:end] is one of `LOWER_CASE_WORD`'s matches in the text. A match's
    characters after the first are the ones of `_in_word_run`, so it runs to the end of its
    run of them; and a run holds one match at most, from its first small letter at a word
    boundary (the run's start, or after an apostrophe or a hyphen)."""
    if end < len(text) and _in_word_run(text[end]):
        return False
    run_start = at
    while run_start > 0 and _in_word_run(text[run_start - 1]):
        run_start -= 1
    for first in range(run_start, at + 1):
        if (first == run_start or text[first - 1] in "'’-") and _SMALL_LETTER.match(text, first):
            return first == at
    return False


def _in_word_run(char: str) -> bool:
    return char.isalnum() or char in "_'’-"  # re's \w is isalnum() and "_"


def _shouted_lines(text: str) -> list[tuple[int, int]]:
    """Lines written all in capitals (headlines, shouted articles): capitals say nothing
    there, so no name is read from them ("THE MAYOR AGREED WITH THE COUNCIL")."""
    return [
        (start, start + len(line))
        for start, line in _lines(text)
        if line[:1].isupper() and line[1:2].isupper() and SHOUTED_LINE.fullmatch(line)
    ]


def _lines(text: str) -> Iterator[tuple[int, str]]:
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


@functools.lru_cache(maxsize=1 << 14)
def _plural_noun(word: str) -> bool:
    """A plural of a plain English noun that names no one: "Residents", "Investigators",
    "Officials" opening a sentence; not "Sanders" or "Jones", family names."""
    if not word.endswith("s") or word in places() or word in lexicon()["FAMILY"]:
        return False
    known = lexicon()
    if word in known["ORG"] or word in known["PERSON"] or is_given_name(word.title()):
        return False
    return any(singular in plain_words() for singular in (word[:-1], word[:-2]) if singular)


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
        and is_given_name(tokens[0])
        and not ORG_WORDS.intersection(t.lower() for t in tokens)
    )


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
    """A possessive: "Warhol's", and "Holmes'" (a name ending in s takes the apostrophe
    alone)."""
    if token.endswith(("'s", "’s")):
        owner = token[:-2].lower()
    elif token.endswith(("s'", "s’")):
        owner = token[:-1].lower()
    else:
        return False
    return owner not in COLLECTIVE_POSSESSORS and owner not in lexicon()["WORD"]


def _abbreviation(token: str) -> bool:
    """A word whose period is its own ("Gov.", "J.", "U.S."), not a sentence's ("US.")."""
    bare = token.rstrip(".")
    if "." in bare or bare.lower() in TITLES:
        return True
    return len(bare) == 1 or (len(bare) == 2 and not bare.isupper())


def _classify(text: str, start: int, span: str, lowered: Container[str]) -> Iterable[Entity]:
    span = POSSESSIVE.sub("", span) if span.endswith(("'s", "’s", "'", "’")) else span
    tokens = words_of(span)
    if tokens and _sentence_start(text, start) and _opener(tokens[0], span, lowered):
        start += len(tokens[0]) + (len(span) - len(span.lstrip()))
        span = span[len(tokens[0]) :].lstrip()
        start = text.index(span, start - 1) if span else start
    reading = _reading(span)
    if reading.kind == _NO_NAME:
        return []
    span = reading.span
    start = start + reading.offset if reading.offset is not None else text.index(span, start)
    end = start + len(span)
    if reading.kind == _TITLED:
        name = reading.name
        offset = (
            start + reading.name_offset
            if reading.name_offset is not None
            else text.index(name, start)
        )
        if reading.label == _OF_SOMETHING:
            return _title_of(text, (start, span), (offset, name), reading.role, lowered)
        return [Entity(name, name, PERSON, offset, offset + len(name), reading.role)]
    if reading.kind == _DECIDED:
        label = reading.label
    elif reading.acronym and _organisation_acronym(span, text, start, lowered):
        label = ORG
    elif REPORTING.match(text[end : end + 20]) or _role_after(text, end):
        label = PERSON
    else:
        label = reading.label
    if label is None:
        return []
    return [Entity(span, reading.canonical or span, label, start, end, reading.role)]


# what the words of a span alone say (`_Reading.kind`)
_NO_NAME = "no name"  # no words, or words that name nobody
_TITLED = "titled"  # a person's name after a title: "President Yoon Suk Yeol"
_DECIDED = "decided"  # the words alone decide the label
_UNDECIDED = "undecided"  # the text around decides; else the words' fallback label
_OF_SOMETHING = "of"  # a title of something: "CEO of the Refugee Council Enver Solomon"


@dataclass(frozen=True, slots=True)
class _Reading:
    """What a span's words alone say of it, wherever it stands: the span trimmed, where
    that starts in the span (None when only the text can tell: the words stood apart
    by other whitespace), and its label, or how the text around it decides."""

    kind: str
    span: str = ""
    offset: int | None = 0
    label: str | None = ""
    canonical: str = ""
    role: str = ""
    name: str = ""  # a titled person's name, and where it starts in the span
    name_offset: int | None = 0
    acronym: bool = False  # one acronym: an organisation if the text says so


@functools.lru_cache(maxsize=1 << 16)
def _reading(span: str) -> _Reading:
    """The span-only part of `_classify`, read once per distinct span: names repeat within
    and across articles, and most of a mention's classification looks at its words only."""
    offset, span = _trimmed(span)
    tokens = words_of(span)
    if not tokens or all(t.lower().rstrip(".") in NOT_NAMES for t in tokens):
        return _Reading(_NO_NAME)
    lower = span.lower()
    if lower in LOC_ALIASES:
        return _Reading(_DECIDED, span, offset, LOC, LOC_ALIASES[lower])
    titled = [i for i, t in enumerate(tokens) if t.lower().rstrip(".") in TITLES]
    if titled and titled[-1] < len(tokens) - 1 and lower not in lexicon()["ORG"]:
        name = " ".join(tokens[titled[-1] + 1 :])
        name_offset = span.find(name)
        role = " ".join(t.lower().rstrip(".") for t in tokens[: titled[-1] + 1])
        of_something = tokens[titled[-1] + 1] in CONNECTOR_WORDS
        return _Reading(
            _TITLED,
            span,
            offset,
            _OF_SOMETHING if of_something else PERSON,
            role=role,
            name=name,
            name_offset=name_offset if name_offset != -1 else None,
        )
    if titled and _office(tokens):  # "The President has drawn praise": who holds it decides
        role = " ".join(t.lower().rstrip(".") for t in tokens if t != "The")
        return _Reading(_DECIDED, span, offset, OFFICE, role=role)
    known = _known_label(" ".join(tokens))
    if known != UNDECIDED:
        return _Reading(_DECIDED, span, offset, known)
    acronym = len(tokens) == 1 and is_acronym(tokens[0])
    return _Reading(_UNDECIDED, span, offset, _shape_label(tokens, lower), acronym=acronym)


def _title_of(
    text: str, whole: tuple[int, str], after: tuple[int, str], role: str, lowered: Container[str]
) -> list[Entity]:
    """A title "of" something: the person named after it, and what the title is of ("CEO of
    the Refugee Council Enver Solomon"); with no name after it, the title itself names the
    person ("the Governor of Virginia")."""
    offset, rest = after
    words = words_of(rest)
    for i in range(1, len(words) - 1):
        if is_given_name(words[i]) and len(words) - i <= 3:
            name = " ".join(words[i:])
            name_start = text.index(name, offset)
            of_what = text[offset:name_start].rstrip()
            return [
                *_classify(text, offset, of_what, lowered),
                Entity(name, name, PERSON, name_start, name_start + len(name), role),
            ]
    start, span = whole
    return [Entity(span, span, PERSON, start, start + len(span), role)]


def _opener(first: str, span: str, lowered: Container[str]) -> bool:
    """The span's first word opens its sentence and is no name: a common opener ("There's",
    "I'm"), a word the article also writes in lower case, or a dictionary word before a
    full name ("Librarian Tomasz Nowak"); "New" of "New Zealand" stays."""
    opener = CONTRACTION.sub("", first).lower()
    return (
        opener in COMMON_OPENERS
        or opener in NOT_NAMES
        or opener in lowered
        or _word_before_a_full_name(first, span)
    ) and span.lower() not in places()


def _word_before_a_full_name(first: str, span: str) -> bool:
    """A dictionary word that is no given name ("Librarian Tomasz Nowak", "Nurse Jane Doe"),
    then a given name and at least one more word. A given name first ("Mark Taylor", "Will
    Smith") is the person's own; a title ("Governor …") is the person's role, kept below."""
    words = span.split()
    return (
        len(words) >= 3
        and first.lower() in plain_words()
        and first.lower() not in TITLES  # "Governor Anna Lindqvist": a title keeps its role
        and not is_given_name(first)
        and is_given_name(words[1])
    )


def _office(tokens: list[str]) -> bool:
    """The words name an office alone: "President", "the Senator", "Mr. President"."""
    words = [t.lower().rstrip(".") for t in tokens if t != "The"]
    return (
        bool(words)
        and words[-1] not in NOT_OFFICES
        and all(w in TITLES or w in DEMONYMS for w in words)
    )


def _trimmed(span: str) -> tuple[int | None, str]:
    """The span without the connectors left in front by a dropped opener ("[President] of
    the Brotherhood") or the weekday after a name ("interviewed Hugh McGuire Sunday"), and
    where that starts in the span (None when its words stood apart by other whitespace)."""
    if " " not in span:
        return 0, span
    words = words_of(span)
    first, last = 0, len(words)
    while first < last and words[first] in CONNECTOR_WORDS:
        first += 1
    while last - first > 1 and words[last - 1].lower() in WEEKDAYS:
        last -= 1
    if (first, last) == (0, len(words)):
        return 0, span
    trimmed = " ".join(words[first:last])
    at = span.find(trimmed)
    return (at if at != -1 else None), trimmed


def _shape_label(tokens: list[str], lower: str) -> str:
    """The label of an undecided span the text around it does not decide, from its words."""
    if 2 <= len(tokens) <= 4 and all(t[:1].isupper() or t in NAME_PARTICLES for t in tokens):
        first = next((t for t in tokens if len(t.rstrip(".")) > 1), tokens[0])
        if (
            is_given_name(first)
            or without_diacritics(tokens[-1].lower().rstrip(".")) in lexicon()["FAMILY"]
        ):
            return PERSON
        return MAYBE_PERSON
    if len(tokens) == 1 and is_given_name(tokens[0]) and lower not in lexicon()["WORD"]:
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
        and not is_acronym(span.split()[0])
        and (label := _wordnet_label(listed, len(words) > 1, lower))
    ):
        return label
    if len(words) > 1 and words[0] in CLUB_FIRST_WORDS:
        return ORG
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


def _organisation_acronym(token: str, text: str, start: int, lowered: Container[str]) -> bool:
    """An acronym naming an organisation, not a shouted word ("ALL of the people"), a
    numeral ("XVII") or a thing ("an IQ test")."""
    if not is_acronym(token) or token.lower() in lowered or ROMAN_NUMERAL.fullmatch(token):
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
    # `[^\W\d_]`, any letter, compiles in microseconds where the LOWER class takes milliseconds
    return re.compile(joint.join(f"{re.escape(letter)}[^\\W\\d_]+" for letter in acronym) + r"\b")


def _sentence_start(text: str, start: int) -> bool:
    before = text[max(0, start - 3) : start].rstrip(" \"“‘'([")
    return start == 0 or not before or before[-1] in ".!?\n:"
