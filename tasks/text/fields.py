"""Fields stage: language, publication time in UTC, domain. Nothing is guessed: a field
that is not clearly in the input stays null.
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from newsmill.tasks.records import Document
from newsmill.tasks.setting import setting

# v2: `n_words` counts each character of a script without spaces (Chinese, Thai …) as a word
FIELDS_VERSION = "fields_v2"
_LANGUAGE_SAMPLE_CHARS = 300  # py3langid's cost is linear in this; news prose is clear by then
_MIN_LETTERS_FOR_LANGUAGE = 20
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


@dataclass(frozen=True, slots=True)
class FieldSettings:
    fields: bool = setting(
        True, "Extract fields (language); --no-fields skips them, dates and domains are still read."
    )


def add_fields(doc: Document, now: datetime, settings: FieldSettings | None = None) -> Document:
    extract = settings is None or settings.fields
    language, score = detect_language(doc.text) if extract else (None, None)
    return replace(
        doc,
        published_at=parse_published(doc.published_raw, now),
        language=language,
        language_score=score,
        domain=domain_of(doc.url),
    )
