from pathlib import Path

import pytest

from newsmill.schemas.reasons import Reason
from newsmill.tasks.ingest.extract import (
    ExtractSettings,
    HtmlExtractor,
    apply_extraction,
    extract_html,
    running_text_words,
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
        "teasers": (0, 0),
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


PAGES = Path(__file__).parent / "pages"
# the article pages: a phrase of the body each must keep
ARTICLES = {
    "article-consent-on-body.html": "irreplaceable local records",
    "article-inside-a-consent-wrapper.html": "protected cycle lanes along the full length",
    "article-japanese.html": "十一か月ぶりに利用を再開した",
    "article-paywall-teaser.html": "refused to work past midnight",  # what the page shows
}
BANNERS = ("We use cookies", "This site uses cookies", "Accept all")
NOT_ARTICLES = {
    "cookie-wall.html": "no article text",
    "paywall-stub.html": "no article text",
    "error-404.html": "no article text",
    "section-index.html": "a list of articles, not one: the text is 5 teasers",
}


def _extracted(name: str) -> Document | Reject:
    page = (PAGES / name).read_text(encoding="utf-8")
    return apply_extraction(
        Document(name, "h", "html", page), extract_html(page, None), min_article_words=25
    )


@pytest.mark.parametrize("name", ARTICLES)
def test_a_real_article_is_kept_without_its_banner(name: str) -> None:
    """Pages whose <body> or page wrapper carries "cookie" or "consent" in its class lost
    their whole text to the banner pruning (6 of the 181 benchmark articles)."""
    result = _extracted(name)
    assert isinstance(result, Document), result
    assert ARTICLES[name] in result.body
    assert not any(banner in result.body for banner in BANNERS)


@pytest.mark.parametrize("name", [*NOT_ARTICLES, "navigation-only"])
def test_a_page_without_an_article_is_rejected_with_why(name: str) -> None:
    if name == "navigation-only":
        page = (SAMPLES / "bad" / "navigation-only.html").read_text(encoding="utf-8")
        result = apply_extraction(Document(name, "h", "html", page), extract_html(page, None), 25)
    else:
        result = _extracted(name)
    assert isinstance(result, Reject) and result.reason is Reason.EXTRACT_NO_ARTICLE
    assert result.detail.startswith(NOT_ARTICLES.get(name, "no article text"))


def test_running_text_counts_the_characters_of_scripts_without_spaces() -> None:
    japanese = "市立中央図書館は土曜日、十一か月ぶりに利用を再開した。"
    assert running_text_words(japanese) == 25  # each character a word; the 2 marks are not
    assert running_text_words("ホーム\nニュース") == 0  # menu items stay out
    assert running_text_words("Home\nThe library reopened on Saturday after repairs.") == 7


def test_html_nested_a_hundred_thousand_levels_is_one_reject(extractor: HtmlExtractor) -> None:
    """No recursion error, no hang, no lost shard: the parser gives up on the depth, and the
    page is rejected with a reason while the next page extracts."""
    article = "<article><p>" + "The council voted to extend the tram line. " * 20 + "</p></article>"
    deep = "<html><body>" + "<div>" * 100_000 + article + "</div>" * 100_000 + "</body></html>"
    output = extractor.extract_documents(
        [Document("deep.html", "h1", "html", deep), _html_doc(TRAM)]
    )
    [reject] = output.rejects
    assert reject.source == "deep.html"
    assert reject.reason in (Reason.EXTRACT_NO_ARTICLE, Reason.EXTRACT_FAILED)
    assert reject.detail
    assert [d.source for d in output.docs] == [str(TRAM)]
