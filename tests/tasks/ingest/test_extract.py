from pathlib import Path

import pytest

from newsmill.schemas.reasons import Reason
from newsmill.tasks.ingest.extract import (
    ExtractSettings,
    HtmlExtractor,
    apply_extraction,
    extract_html,
)
from newsmill.tasks.records import Document, Reject
from tests.conftest import SAMPLES

TRAM = SAMPLES / "html" / "tram-extension.html"


def _html_doc(path: Path, source: str | None = None) -> Document:
    return Document(source or str(path), "h", "html", path.read_text(encoding="utf-8"))


def test_extraction_keeps_the_article_and_drops_the_page_furniture() -> None:
    extracted = extract_html(TRAM.read_text(encoding="utf-8"), None)
    assert extracted is not None
    text = extracted["text"]
    for must in (
        "PORT ALDER",
        "€212 million",
        "“This is the most important transport decision",
        "support scheme next month",
    ):
        assert must in text
    for must_not in (
        "We use cookies",
        "Accept all",
        "Most read",
        "Ten things to do",
        "All rights reserved",
        "Privacy policy",
        "Subscribe",
    ):
        assert must_not not in text
    assert extracted["title"] == "Harbour city votes to extend tram line"
    assert extracted["author"] == "Marta Kowalski"
    assert extracted["date"] == "2023-05-16"
    assert (
        extracted["url"] == "https://www.aldercourier.example/city/2023/05/16/tram-extension-vote"
    )
    assert extracted["sitename"] == "The Alder Courier"


def test_page_without_an_article_is_rejected() -> None:
    page = (SAMPLES / "bad" / "navigation-only.html").read_text(encoding="utf-8")
    result = apply_extraction(
        Document("nav.html", "h", "html", page), extract_html(page, None), min_article_words=25
    )
    assert isinstance(result, Reject) and result.reason is Reason.EXTRACT_NO_ARTICLE


def test_headline_repeated_as_first_line_is_dropped_and_input_fields_win() -> None:
    doc = Document(
        "x", "h", "jsonl-html", "", title=None, author="Desk", url="https://given.example/a"
    )
    extracted = {
        "title": "Head",
        "author": "Page Author",
        "date": "2023-01-01",
        "sitename": "S",
        "url": "https://page.example/b",
        "text": "Head\n" + "word " * 30,
    }
    result = apply_extraction(doc, extracted, min_article_words=25)
    assert isinstance(result, Document)
    assert not result.body.startswith("Head")
    assert (result.title, result.author, result.url, result.published_raw) == (
        "Head",
        "Desk",
        "https://given.example/a",
        "2023-01-01",
    )


@pytest.fixture(scope="module")
def extractor():
    with HtmlExtractor(ExtractSettings(extract_timeout_s=1.0, extract_workers=1)) as pool:
        pool.extract_documents([_html_doc(TRAM)])  # start the worker before timing anything
        yield pool


def test_a_page_over_the_time_limit_is_stopped_and_the_next_page_still_extracts(
    extractor: HtmlExtractor, tmp_path: Path
) -> None:
    # A 3 MB live-blog-like page: trafilatura needs about 4 s for it on this machine.
    blocks = (
        f"<div class='c{i}'><p>Update {i} has a few words of running text.</p><a href='/u{i}'>link</a></div>"
        for i in range(20000)
    )
    monster = "<html><body><article>" + "".join(blocks) + "</article></body></html>"
    pathological = Document("slow.html", "h1", "html", monster)
    output = extractor.extract_documents(
        [pathological, _html_doc(TRAM), Document("t.txt", "h", "text", "plain")]
    )
    [reject] = output.rejects
    assert reject.reason is Reason.EXTRACT_TIMEOUT and reject.source == "slow.html"
    assert [d.source for d in output.docs] == [str(TRAM), "t.txt"]
    assert output.counts == {
        "extract.total": 3,
        "extract.kept": 2,
        "extract.dropped_extract_timeout": 1,
    }
