"""Fields stage: language, publication time in UTC, domain. Nothing is guessed: a field
that is not clearly in the input stays null.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

import courlan

from newsmill.tasks.once import load_once
from newsmill.tasks.records import Document, StageOutput, run_stage
from newsmill.tasks.setting import setting
from newsmill.tasks.text.language import language_model

# v2: `n_words` counts each character of a script without spaces (Chinese, Thai …) as a
# word; dates written in words are read
FIELDS_VERSION = "fields_v3"
_LANGUAGE_SAMPLE_CHARS = 300  # py3langid's cost is linear in this; news prose is clear by then
_MIN_LETTERS_FOR_LANGUAGE = 20
_EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)


Language = tuple[str | None, float | None]  # (ISO 639 code, confidence), or nothing


def detect_languages(texts: Sequence[str]) -> list[Language]:
    """The language of each text's opening, if it has the letters to tell."""
    samples = [text[:_LANGUAGE_SAMPLE_CHARS] for text in texts]
    tellable = [i for i, sample in enumerate(samples) if _has_letters_for_language(sample)]
    languages: list[Language] = [(None, None)] * len(samples)
    found = language_model().classify([samples[i] for i in tellable])
    for i, (language, score) in zip(tellable, found, strict=True):
        languages[i] = language, round(score, 4)
    return languages


def detect_language(text: str) -> Language:
    return detect_languages([text])[0]


def _has_letters_for_language(sample: str) -> bool:
    return sum(map(str.isalpha, sample)) >= _MIN_LETTERS_FOR_LANGUAGE


def parse_published(raw: str | None, now: datetime, language: str | None = None) -> datetime | None:
    """ISO 8601 (date or date-time), RFC 2822, Unix seconds, or a date written in words
    with its day, month and year ("March 3, 2024", "3 mars 2024"); naive times are UTC."""
    if not raw:
        return None
    value = raw.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace(" UTC", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            if re.fullmatch(r"\d{9,10}(\.\d+)?", value):
                parsed = datetime.fromtimestamp(float(value), tz=UTC)
            else:
                parsed = _date_in_words(value, language)
    if parsed is None:
        return None
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # "9999-12-31T23:00:00-05:00" is past the last representable day
        return None
    if not _EARLIEST <= parsed <= now + _FUTURE_SLACK:
        return None
    return parsed


# dateparser reads dates in words in 200 languages; it is given no relative dates ("two hours
# ago" is not a publication date a text states), and a date needs its day, month and year,
# so "© 2024" or "March 2024" give nothing.
_DATEPARSER_SETTINGS = {
    "STRICT_PARSING": True,
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PARSERS": ["absolute-time"],
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
}
_MAX_DATE_CHARS = 80  # a longer string is a sentence, not a date


@lru_cache(maxsize=4096)  # pages of one site write their dates alike
def _date_in_words(value: str, language: str | None) -> datetime | None:
    if len(value) > _MAX_DATE_CHARS or not any(c.isalpha() for c in value):
        return None
    import dateparser  # ~0.3 s to import: only when a date is written in words

    # the article's language and English; trying all 200 when it is unknown costs seconds
    languages = sorted({"en", language}) if language in _dateparser_languages() else ["en"]
    try:
        found = dateparser.parse(value, languages=languages, settings=_DATEPARSER_SETTINGS)
    except (ValueError, OverflowError):
        return None
    return found


@load_once
def _dateparser_languages() -> frozenset[str]:
    from dateparser.languages.loader import default_loader

    return frozenset(default_loader.get_locale_map())


def domain_of(url: str | None) -> str | None:
    host = _host(url)
    return host.removeprefix("www.") if host else None


def site_of(url: str | None) -> str | None:
    """The registered domain: what a publisher registered, whatever its subdomains."""
    host = _host(url)
    return _registered_domain(host) if host else None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


@lru_cache(maxsize=65_536)
def _registered_domain(host: str) -> str | None:
    # courlan asks `tld`, which carries the Public Suffix List: blog.github.io stays whole
    return courlan.extract_domain(f"http://{host}/")


@dataclass(frozen=True, slots=True)
class FieldSettings:
    fields: bool = setting(
        True, "Extract fields (language); --no-fields skips them, dates and domains are still read."
    )


def add_fields_to_batch(
    docs: list[Document], now: datetime, settings: FieldSettings | None = None
) -> StageOutput:
    """The fields stage over a batch: the languages of all its texts in one pass (the
    model's walk advances every text at once), then each document's fields. Should that
    pass fail, each document is tried alone, so only a document that fails is rejected."""
    languages: dict[int, Language] = {}
    if settings is None or settings.fields:
        try:
            languages = dict(
                zip(map(id, docs), detect_languages([d.text for d in docs]), strict=True)
            )
        except Exception:  # each document alone below: the one that fails is rejected
            languages = {}

    def with_fields(doc: Document) -> Document:
        return add_fields(doc, now, settings, languages.get(id(doc)))

    return run_stage("fields", docs, with_fields)


def add_fields(
    doc: Document,
    now: datetime,
    settings: FieldSettings | None = None,
    language: Language | None = None,
) -> Document:
    """`language`, when the batch has found it already, spares finding it again."""
    extract = settings is None or settings.fields
    if language is None:
        language = detect_language(doc.text) if extract else (None, None)
    code, score = language
    return replace(
        doc,
        published_at=parse_published(doc.published_raw, now, code),
        language=code,
        language_score=score,
        domain=domain_of(doc.url),
        site=site_of(doc.url),
    )
