"""Direct quotes and who said them, by rules over one article's text.

Quote marks may be straight, curly or broken (opened and never closed, as scraped text
often has them). Marks are read paragraph by paragraph, in one pass: an opening mark met
while a quote is open closes the open one at its last sentence end, and a quote still open
at the paragraph's end ends there; nothing crosses a paragraph, let alone an article.

A quote's speaker is the mention the common news patterns name:
    "…," X said        "…," said X, the …        X said, "…"
    "…" the South Korean president stated         X called the situation "unfortunate"
then, with no pattern in its sentence, the speaker of the paragraph's neighbouring quote.
The mention is the words as written ("he", "the South Korean president", "Peskov"); turning
it into a canonical person is the entity stage's job.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from newsmill.tasks.text.letters import UPPER

# v2: non-ASCII capitals open a name; a sentence's final period is no part of its speaker
QUOTES_VERSION = "quotes_v2"
OPENING = "“„«‘"  # a straight " or ' opens or closes depending on its neighbours
CLOSING = "”»’"
REPORTING_VERBS = (
    "said|says|say|stated|states|told|tells|added|adds|asked|asks|explained|explains|noted|"
    "notes|wrote|writes|argued|argues|claimed|claims|insisted|insists|warned|warns|declared|"
    "announced|replied|responded|continued|recalled|acknowledged|admitted|conceded|"
    "suggested|questioned|called|described|tweeted|posted|predicted|promised|vowed|"
    "stressed|emphasized|emphasised|recounted|quipped|joked|complained|urged|reports|"
    "reported|thinks|thought|believes|believed|accused|accuses|cited|cites|referred|refers|"
    "labeled|labelled|dubbed|ruled|rules|promised|promises|promising|saying|telling|"
    "writing|calling|describing|sings|sang|blasted|slammed|mocked|hailed|praised|touted|"
    "charged|contended|maintained|pointed out|went on|shot back|fired back"
)
_NAME = rf"{UPPER}[\w'’.-]*(?:\s+(?:{UPPER}[\w'’.-]*|de|van|von|bin|al|la|le))*"
_ROLE = r"(?:[Tt]he|[Aa]n?|one)\s+[\w'’-]+(?:\s+[\w'’-]+){0,6}?"
_PRONOUN = r"(?:he|she|they|we|I|it|He|She|They|We|It)"
_WHO = rf"(?:{_ROLE}|{_NAME}|{_PRONOUN})"
_VERB = rf"(?:{REPORTING_VERBS})"
# after the closing mark: `," X said` or `," said X`
_CLOSE = r"^[\s,.!?;:\"”»’']*"
AFTER_SPEAKER_VERB = re.compile(rf"{_CLOSE}(?P<who>{_WHO})\s+(?P<verb>{_VERB})\b")
AFTER_VERB_SPEAKER = re.compile(rf"{_CLOSE}(?P<verb>{_VERB})\s+(?P<who>{_ROLE}|{_NAME}|{_PRONOUN})")
# before the opening mark: `X said, "` or `X told reporters: "`
BEFORE = re.compile(rf"(?P<who>{_WHO})\s+(?P<verb>{_VERB})(?:\s+[\w'’-]+){{0,3}}?\s*[,:]?\s*$")
# inside one sentence, for partial quotes: the subject, then a reporting verb
SUBJECT_VERB = re.compile(
    rf"(?P<who>{_NAME}|{_PRONOUN})(?:\s*\([^)]{{1,30}}\))?(?:,[^,]{{1,120}},)?\s+(?P<verb>{_VERB})\b"
)
# any sentence with a quote and no reporting pattern: its subject, after an opening phrase
# ("In his speech on Wednesday, Trump proclaimed a goal of "…"")
INTRO = r"(?:(?:In|On|At|After|During|Earlier|Later|When|While|As|Before|Since|Last|This|Then|But|And|So|Yet|Still|Meanwhile|However)\b[^,]{0,60},\s*)?"
SENTENCE_SUBJECT = re.compile(
    rf"^\s*{INTRO}(?P<who>{_PRONOUN}\b|{_NAME}|{_ROLE}(?=\s+[a-z]+(?:ed|s)\b))\s+(?P<verb>[a-z]+)"
)
# an interview transcript quoted whole: `"PENCE: Well, …"`
TRANSCRIPT = re.compile(rf"^(?P<who>{UPPER}(?:{UPPER}|['’. -]){{1,40}}):\s")
SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
DOUBLE_MARK = re.compile('["“”„«»]')
MAX_QUOTE_MARKS = 2_000  # per paragraph: past this, it is not prose


@dataclass(frozen=True, slots=True)
class Quote:
    quote: str  # the quoted words, without the marks
    start: int  # character offsets of `quote` in the article's text
    end: int
    speaker_mention: str | None = None
    speaker_start: int | None = None  # offset of the mention, for resolving it
    verb: str | None = None
    speaker: str | None = None  # canonical name, once resolved against the entities


def find_quotes(text: str) -> list[Quote]:
    """Every quote in the article, attributed where a pattern names its speaker."""
    quotes: list[Quote] = []
    offset = 0
    for paragraph in text.split("\n"):
        spans = list(_quote_spans(paragraph))
        attributed = [_attribute(paragraph, start, end) for start, end in spans]
        for i, quote in enumerate(attributed):
            if quote.speaker_mention is None:
                quote = _from_neighbour(quote, attributed, i)
            quotes.append(
                replace(
                    quote,
                    start=quote.start + offset,
                    end=quote.end + offset,
                    speaker_start=None
                    if quote.speaker_start is None
                    else quote.speaker_start + offset,
                )
            )
        offset += len(paragraph) + 1
    return quotes


def _is_opening(paragraph: str, i: int) -> bool:
    mark = paragraph[i]
    if mark in OPENING and mark != "‘":
        return True
    if mark in CLOSING:
        return False
    before = paragraph[i - 1] if i else " "
    after = paragraph[i + 1] if i + 1 < len(paragraph) else " "
    if mark in "'‘":  # apostrophes: only a quote when it stands at a word's edge
        return (before.isspace() or before in "([") and after.isalnum()
    return before.isspace() or before in "([—–-" or (not after.isspace() and not before.isalnum())


def _is_mark(paragraph: str, i: int) -> bool:
    mark = paragraph[i]
    if mark in "'‘’":
        before = paragraph[i - 1] if i else " "
        after = paragraph[i + 1] if i + 1 < len(paragraph) else " "
        return not (before.isalnum() and after.isalnum())  # don't, Russia's
    return True


def _quote_spans(paragraph: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each quote's words; single quotes count only inside no double one."""
    marks = [mark.start() for mark in DOUBLE_MARK.finditer(paragraph)]
    if len(marks) > MAX_QUOTE_MARKS or not marks:
        return
    opened: int | None = None
    for i in marks:
        if opened is None:
            if _is_opening(paragraph, i):
                opened = i + 1
            continue
        if _is_opening(paragraph, i) and not _closes(paragraph, opened, i):
            yield from _span(opened, _last_sentence_end(paragraph, opened, i), paragraph)
            opened = i + 1
            continue
        yield from _span(opened, i, paragraph)
        opened = None
    if opened is not None:
        yield from _span(opened, len(paragraph), paragraph)


def _closes(paragraph: str, opened: int, i: int) -> bool:
    """A straight mark that looks like an opening may still close (`"no"and`)."""
    return paragraph[i] == '"' and i > opened and not paragraph[i - 1].isspace()


def _last_sentence_end(paragraph: str, start: int, stop: int) -> int:
    ends = [m.end() for m in SENTENCE_END.finditer(paragraph, start, stop)]
    return ends[0] if ends else stop


def _span(start: int, end: int, paragraph: str) -> Iterator[tuple[int, int]]:
    words = paragraph[start:end]
    stripped = words.strip(" ,")
    if any(c.isalpha() for c in stripped):
        lead = len(words) - len(words.lstrip(" ,"))
        yield start + lead, start + lead + len(stripped)


def _attribute(paragraph: str, start: int, end: int) -> Quote:
    quote = Quote(paragraph[start:end], start, end)
    if found := TRANSCRIPT.match(quote.quote):
        return replace(
            quote, speaker_mention=found.group("who").strip(), speaker_start=start, verb="said"
        )
    after = paragraph[end : end + 160]
    for pattern in (AFTER_VERB_SPEAKER, AFTER_SPEAKER_VERB):
        if found := pattern.match(after):
            return _with_speaker(quote, found, end)
    sentence_start = _sentence_start(paragraph, start - 1)
    before = paragraph[sentence_start:start].rstrip(" \"“„«'‘")
    if found := BEFORE.search(before):
        return _with_speaker(quote, found, sentence_start)
    for found in reversed(list(SUBJECT_VERB.finditer(before))):
        return _with_speaker(quote, found, sentence_start)
    if before.strip() and (found := SENTENCE_SUBJECT.match(before)):
        return _with_speaker(quote, found, sentence_start)
    return quote


def _sentence_start(paragraph: str, position: int) -> int:
    ends = [m.end() for m in SENTENCE_END.finditer(paragraph, 0, max(position, 0))]
    return ends[-1] if ends else 0


def _with_speaker(quote: Quote, found: re.Match[str], base: int) -> Quote:
    who = _without_full_stop(found.group("who").strip())
    return replace(
        quote,
        speaker_mention=who,
        speaker_start=base + found.start("who"),
        verb=found.group("verb").lower(),
    )


def _without_full_stop(who: str) -> str:
    """The mention without the period that ends its sentence ("said Jane Smith."); an
    initial's or an abbreviation's stays ("John Smith Jr.", "J.", "U.S.")."""
    last = who.rsplit(maxsplit=1)[-1]
    if last.endswith(".") and len(last) > 3 and "." not in last[:-1]:
        return who[:-1]
    return who


def _from_neighbour(quote: Quote, quotes: list[Quote], i: int) -> Quote:
    """A quote with no pattern of its own: the next quote's speaker in the paragraph (a
    quote run on across an attribution), else the previous one's."""
    for neighbour in (*quotes[i + 1 : i + 2], *quotes[max(i - 1, 0) : i]):
        if neighbour.speaker_mention is not None:
            return replace(
                quote,
                speaker_mention=neighbour.speaker_mention,
                speaker_start=neighbour.speaker_start,
                verb=neighbour.verb,
            )
    return quote
