"""HTML stage: main text and metadata with trafilatura, under a per-document time limit.

trafilatura has no time limit of its own and some pages run for minutes (trafilatura#704),
and its caches grow in long runs (#216). So pages are extracted in a pebble process pool:
a page over the limit has its worker killed and replaced, and workers are recycled after
`max_tasks` pages. The pool also puts every core to work on the CPU-heavy parsing.
"""

import multiprocessing
import os
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Any

import trafilatura
from lxml.html import HtmlElement
from pebble import ProcessPool
from trafilatura.settings import Document as TrafilaturaDocument
from trafilatura.utils import load_html

from newsmill.schemas.reasons import Reason
from newsmill.tasks.forkserver import forkserver_context
from newsmill.tasks.records import Document, Reject, StageOutput, count_stage
from newsmill.tasks.setting import setting
from newsmill.tasks.text.words import UNSPACED, count_words

EXTRACTOR_NAME = f"trafilatura {trafilatura.__version__}"
# Our part of extraction (pruning, the running-text test, metadata handling); trafilatura's
# own version is in EXTRACTOR_NAME and in every article's `extractor`.
# v2: banners are pruned only where they hold no headline or article; running text counts
# the characters of scripts without spaces; a list of teasers is no article
EXTRACT_VERSION = "extract_v2"
_METADATA_FIELDS = ("title", "author", "date", "sitename", "url", "text")
# Consent and cookie banners are never article text, and trafilatura's fallback keeps them.
# A banner is an element marked cookie/consent/gdpr that holds no headline and no article:
# pages also put such words on <body> or on a wrapper of everything ("cookie-consent-enabled"),
# and pruning those lost 6 of the 181 real articles of the ScrapingHub benchmark.
_PRUNE_XPATH = [
    "//*[contains(translate(@id, 'COKIE', 'cokie'), 'cookie')"
    " or contains(translate(@class, 'COKIE', 'cokie'), 'cookie')"
    " or contains(@id, 'consent') or contains(@class, 'consent')"
    " or contains(@id, 'gdpr') or contains(@class, 'gdpr')]"
    "[not(self::html or self::body or self::main or self::article)]"
    "[not(.//h1 or .//article or .//main)]"
]
# Only dates the page states; the "extensive" search guesses from copyright lines.
_DATE_PARAMS = {"extensive_search": False, "original_date": True}
# Lines shorter than this are menu items, buttons and captions, not running text.
_RUNNING_TEXT_MIN_WORDS = 6
# The same for scripts written without spaces (Chinese, Japanese, Thai …), in characters:
# six words of Chinese or Japanese are about 12 characters (1.5 to 2 characters a word).
_RUNNING_TEXT_MIN_UNSPACED = 12


# An index or section page: its text is the teasers under several headlines that link
# elsewhere (h2-h4 whose text is a link), each a sentence or two. A single post whose title
# links to itself owns its whole body under one headline; a list article ("ten gifts") owns
# paragraphs under each. On the 181 real articles of the ScrapingHub benchmark, the most
# headlines owning text is 7 at 239 words each; a section page's teasers are 5-20 words.
_LINKED_HEADINGS = (
    "//*[self::h2 or self::h3 or self::h4][.//a[@href]]"
    "[normalize-space(string(.//a[@href][1])) = normalize-space(string(.))]"
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
_INDEX_MIN_HEADINGS = 3
_INDEX_MIN_SHARE = 0.5
_TEASER_MAX_WORDS = 60


@dataclass(frozen=True, slots=True)
class ExtractSettings:
    extract_timeout_s: float = setting(
        20.0, "Time limit per HTML page; a page over it is rejected as extract_timeout.", unit="s"
    )
    extract_workers: int = setting(
        0,
        "Processes for HTML extraction (0: one per core).",
        unit="processes",
        zero="one per core",
        shapes_output=False,
    )
    worker_max_pages: int = setting(
        500,
        "An extraction process is replaced after this many pages (bounds memory growth).",
        unit="pages",
    )
    min_article_words: int = setting(
        25,
        "HTML whose extracted prose (lines of 6+ words) is shorter than this is rejected as extract_no_article.",
        unit="words",
    )

    @property
    def n_workers(self) -> int:
        return self.extract_workers or os.cpu_count() or 1


def extract_html(html: str, url: str | None) -> dict[str, Any] | None:
    """Main text and metadata of one page, or None when it holds no article; with what
    tells an article from a list of them (`teasers`: headlines owning lines, their words)."""
    tree = load_html(html)
    if tree is None:
        return None
    teasers = _teaser_texts(tree)  # before trafilatura prunes the tree
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        prune_xpath=_PRUNE_XPATH,
        date_extraction_params=_DATE_PARAMS,
    )
    if not isinstance(document, TrafilaturaDocument) or not (document.text or "").strip():
        return None
    return {
        **{name: getattr(document, name) for name in _METADATA_FIELDS},
        "teasers": _teasers_in(document.text or "", teasers),
    }


def _teaser_texts(tree: HtmlElement) -> dict[str, int]:
    """Text blocks that follow a linked headline, up to the next headline: text → which
    headline (its number on the page)."""
    owned: dict[str, int] = {}
    for number, heading in enumerate(tree.xpath(_LINKED_HEADINGS)):
        for sibling in heading.itersiblings():
            if not isinstance(sibling.tag, str) or sibling.tag in _HEADINGS:
                break
            for block in (sibling, *sibling.iter("p", "div", "li")):
                text = " ".join(block.text_content().split())
                if text:
                    owned.setdefault(text, number)
    return owned


def _teasers_in(text: str, teasers: dict[str, int]) -> tuple[int, int]:
    """How many linked headlines own lines of the extracted text, and those lines' words."""
    owners: set[int] = set()
    words = 0
    if not teasers:
        return 0, 0
    for line in text.split("\n"):
        owner = teasers.get(" ".join(line.split()))
        if owner is not None:
            owners.add(owner)
            words += _prose_words(line)
    return len(owners), words


def running_text_words(text: str) -> int:
    """Words in lines long enough to be prose: menus and button rows count for nothing. A
    character of a script without spaces counts as a word (`n_words` counts the same)."""
    return sum(_prose_words(line) for line in text.split("\n"))


def _prose_words(line: str) -> int:
    """The line's words (`count_words`) if it is long enough to be prose, else 0."""
    prose = (
        len(line.split()) >= _RUNNING_TEXT_MIN_WORDS
        or len(UNSPACED.findall(line)) >= _RUNNING_TEXT_MIN_UNSPACED
    )
    return count_words(line) if prose else 0


def no_article(extracted: dict[str, Any] | None, min_article_words: int) -> str | None:
    """Why the page holds no article, or None when it holds one."""
    words = running_text_words(extracted["text"]) if extracted is not None else 0
    if extracted is None or words < min_article_words:
        return "no article text found in the HTML (only navigation, banners or empty)"
    headlines, teaser_words = extracted["teasers"]
    if (
        headlines >= _INDEX_MIN_HEADINGS
        and teaser_words >= _INDEX_MIN_SHARE * words
        and teaser_words < headlines * _TEASER_MAX_WORDS
    ):
        return (
            f"a list of articles, not one: the text is {headlines} teasers of "
            f"{teaser_words // headlines} words on average under headlines that link elsewhere"
        )
    return None


def apply_extraction(
    doc: Document, extracted: dict[str, Any] | None, min_article_words: int
) -> Document | Reject:
    """Fill a Document from an extraction result; fields the input already had win."""
    why = no_article(extracted, min_article_words)
    if why is not None:
        return Reject(doc.source, Reason.EXTRACT_NO_ARTICLE, why, doc.input_hash, doc.line_number)
    assert extracted is not None  # no_article says why when there is no extraction
    title = doc.title or extracted["title"]
    lines = extracted["text"].split("\n")
    if title and lines and lines[0].strip() == title.strip():
        lines = lines[1:]  # trafilatura often repeats the headline as the first line
    return replace(
        doc,
        body="\n".join(lines),
        title=title,
        author=doc.author or extracted["author"],
        published_raw=doc.published_raw or extracted["date"],
        site_name=extracted["sitename"],
        url=doc.url or extracted["url"],
        extractor=EXTRACTOR_NAME,
    )


def needs_extraction(doc: Document) -> bool:
    return doc.source_kind in ("html", "jsonl-html")


class HtmlExtractor:
    """Owns the worker pool for a run; create it once and close it at the end."""

    def __init__(self, settings: ExtractSettings) -> None:
        self._settings = settings
        self._pool: ProcessPool | None = None
        self._starting = threading.Lock()  # a warm-up thread may start it beside a shard

    def __enter__(self) -> "HtmlExtractor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def _get_pool(self) -> ProcessPool:
        with self._starting:
            return self._pool or self._start_pool()

    def _start_pool(self) -> ProcessPool:
        if multiprocessing.current_process().daemon:
            raise RuntimeError(
                "HTML extraction runs its pages in child processes (to enforce the time "
                "limit), and this worker process is daemonic, so it may not start any: "
                "start Dask workers with DASK_DISTRIBUTED__WORKER__DAEMON=False"
            )
        # the forkserver imports trafilatura once, and each worker forked from it starts with
        # it (a worker importing it itself cost ~0.6 s of CPU, twice a run and at each recycling)
        context = forkserver_context(__name__)
        self._pool = ProcessPool(
            max_workers=self._settings.n_workers,
            max_tasks=self._settings.worker_max_pages,
            context=context,
        )
        return self._pool

    def extract_documents(self, docs: list[Document]) -> StageOutput:
        """Extract every HTML document of a batch in parallel; other documents pass through."""
        pending = [
            (
                d,
                self._get_pool().schedule(
                    extract_html, (d.body, d.url), timeout=self._settings.extract_timeout_s
                ),
            )
            if needs_extraction(d)
            else (d, None)
            for d in docs
        ]
        results: list[Document | Reject] = []
        for doc, future in pending:
            if future is None:
                results.append(doc)
                continue
            try:
                results.append(
                    apply_extraction(doc, future.result(), self._settings.min_article_words)
                )
            except FutureTimeout:
                results.append(
                    Reject(
                        doc.source,
                        Reason.EXTRACT_TIMEOUT,
                        f"extraction ran over {self._settings.extract_timeout_s:g} s and was stopped",
                        doc.input_hash,
                        doc.line_number,
                    )
                )
            except (
                Exception
            ) as error:  # a crash inside trafilatura or its worker is this page's fault
                results.append(
                    Reject(
                        doc.source,
                        Reason.EXTRACT_FAILED,
                        f"the extractor failed: {type(error).__name__}: {error}",
                        doc.input_hash,
                        doc.line_number,
                    )
                )
        kept = [r for r in results if isinstance(r, Document)]
        rejects = [r for r in results if isinstance(r, Reject)]
        return StageOutput(kept, rejects, count_stage("extract", len(docs), kept, rejects))
