from datetime import UTC, datetime

import pytest

from newsmill.tasks.records import Document
from newsmill.tasks.text.fields import (
    add_fields,
    detect_language,
    domain_of,
    parse_published,
    site_of,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-05-18", datetime(2023, 5, 18, tzinfo=UTC)),
        ("2023-05-18T10:00:00Z", datetime(2023, 5, 18, 10, tzinfo=UTC)),
        ("2023-05-18T10:00:00+02:00", datetime(2023, 5, 18, 8, tzinfo=UTC)),
        ("2023-05-18 10:00:00", datetime(2023, 5, 18, 10, tzinfo=UTC)),
        ("Thu, 23 Mar 2023 14:00:00 +0100", datetime(2023, 3, 23, 13, tzinfo=UTC)),
        ("1668502800", datetime(2022, 11, 15, 9, tzinfo=UTC)),
        ("last Tuesday", None),
        # past the ends of the calendar once moved to UTC: no date, never an error
        ("9999-12-31T23:00:00-05:00", None),
        ("0001-01-01T00:00:00+05:00", None),
        ("2999-01-01", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_published_to_utc(raw: str | None, expected: datetime | None) -> None:
    assert parse_published(raw, NOW) == expected


@pytest.mark.parametrize(
    ("raw", "language", "expected"),
    [
        ("March 3, 2024", "en", datetime(2024, 3, 3, tzinfo=UTC)),
        ("Tuesday, 19 November 2019 10:00 GMT", "en", datetime(2019, 11, 19, 10, tzinfo=UTC)),
        ("3 mars 2024", "fr", datetime(2024, 3, 3, tzinfo=UTC)),
        ("3. März 2024", "de", datetime(2024, 3, 3, tzinfo=UTC)),
        ("3 de marzo de 2024", "es", datetime(2024, 3, 3, tzinfo=UTC)),
        # never guessed: no day, a copyright line, a relative time, a sentence
        ("March 2024", "en", None),
        ("© 2024 The Valley Post", "en", None),
        ("Copyright 2024", "en", None),
        ("2 hours ago", "en", None),
        ("yesterday", None, None),
        ("We met on March 3, 2024 and talked for a long time about the harbour.", "en", None),
    ],
)
def test_dates_written_in_words_are_read_and_never_guessed(
    raw: str, language: str | None, expected: datetime | None
) -> None:
    assert parse_published(raw, NOW, language) == expected


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.aldercourier.example/city/x", "aldercourier.example"),
        ("http://news.example.org:8080/a?b=c", "news.example.org"),
        ("not a url", None),
        (None, None),
    ],
)
def test_domain_of(url: str | None, domain: str | None) -> None:
    assert domain_of(url) == domain


def test_language_is_detected_or_left_null() -> None:
    assert (
        detect_language("The council voted on Tuesday to extend the tram line to the docks.")[0]
        == "en"
    )
    assert (
        detect_language("Le conseil municipal a voté mardi la prolongation du tramway.")[0] == "fr"
    )
    assert detect_language("OK 12") == (None, None)


def test_add_fields_never_invents_a_url_or_date_for_text(seed_text: str) -> None:
    doc = add_fields(Document("s.txt", "h", "text", "", paragraphs=seed_text.split("\n")), NOW)
    assert (doc.url, doc.domain, doc.published_at, doc.title) == (None, None, None, None)
    assert doc.language == "en" and doc.language_score is not None and doc.language_score > 0.9


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://edition.cnn.com/2024/05/01/world/x.html", "cnn.com"),
        ("https://www.bbc.co.uk/news/articles/x", "bbc.co.uk"),
        ("https://news.bbc.co.uk/1/hi/x.stm", "bbc.co.uk"),
        ("https://blog.github.io/post", "blog.github.io"),  # github.io is a public suffix
        ("https://www.lemonde.fr/international/article/x.html", "lemonde.fr"),
        ("http://127.0.0.1:8000/news/1.html", None),
        ("not a url", None),
        (None, None),
    ],
)
def test_site_is_the_registered_domain(url: str | None, site: str | None) -> None:
    """`domain` keeps the host (edition.cnn.com), so a publisher's hosts did not group."""
    assert site_of(url) == site
