"""Fields stage: language, publication time in UTC, domain, and metadata that plain text
states reliably (a Markdown `# ` headline, a leading `By …` byline). Nothing is guessed:
a field that is not clearly there stays null.
"""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from tasks.records import Document

FIELDS_VERSION = "fields_v1"
_LANGUAGE_SAMPLE_CHARS = 400  # a confident guess at a fraction of the whole-text cost
_MIN_LETTERS_FOR_LANGUAGE = 20
_MARKDOWN_TITLE = re.compile(r"^#\s+(.+?)\s*#*$")
_NAME = r"[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3}"
_BYLINE = re.compile(rf"^By ({_NAME}(?:(?:,| and) {_NAME})*)$")
_EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)


@lru_cache(maxsize=1)
def _language_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float | None]:
    sample = text[:_LANGUAGE_SAMPLE_CHARS]
    if sum(map(str.isalpha, sample)) < _MIN_LETTERS_FOR_LANGUAGE:
        return None, None
    language, score = _language_identifier().classify(sample)
    return language, round(float(score), 4)


def parse_published(raw: str | None, now: datetime) -> datetime | None:
    """ISO 8601 (date or date-time), RFC 2822, or Unix seconds; naive times are UTC."""
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
    if parsed is None:
        return None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if not _EARLIEST <= parsed <= now + _FUTURE_SLACK:
        return None
    return parsed


def domain_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def take_text_metadata(doc: Document) -> Document:
    """A plain-text article's headline and byline, when it states them in a standard form."""
    paragraphs = list(doc.paragraphs)
    title, author = doc.title, doc.author
    if title is None and len(paragraphs) > 1 and (match := _MARKDOWN_TITLE.match(paragraphs[0])):
        title = match.group(1)
        paragraphs.pop(0)
    if author is None and len(paragraphs) > 1 and (match := _BYLINE.match(paragraphs[0])):
        author = match.group(1)
        paragraphs.pop(0)
    return replace(doc, paragraphs=paragraphs, title=title, author=author)


def add_fields(doc: Document, now: datetime) -> Document:
    if doc.source_kind == "text":
        doc = take_text_metadata(doc)
    language, score = detect_language(doc.text)
    return replace(
        doc,
        published_at=parse_published(doc.published_raw, now),
        language=language,
        language_score=score,
        domain=domain_of(doc.url),
    )
