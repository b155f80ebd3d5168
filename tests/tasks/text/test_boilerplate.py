from datetime import timedelta
from pathlib import Path

from newsmill.schemas.tables import SITE_PARAGRAPHS
from newsmill.tasks.dedup.exact import paragraph_hash
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.rows import site_paragraphs_table
from newsmill.tasks.records import Document
from newsmill.tasks.text.boilerplate import (
    BoilerplateSettings,
    SiteParagraphCounts,
    remove_boilerplate,
    short_paragraph_keys,
    site_paragraph_key,
)
from tests.tasks.lake_runs import STARTED, commit_tables, run_context

SUBSCRIBE = "Subscribe to our newsletter for the best local stories every morning."
SETTINGS = BoilerplateSettings(boilerplate_min_articles=3, boilerplate_max_words=40)


def _doc(i: int, paragraphs: list[str], domain: str | None = "courier.example") -> Document:
    return Document(
        f"s{i}",
        f"h{i}",
        "jsonl-text",
        "",
        paragraphs=paragraphs,
        paragraph_hashes=[paragraph_hash(p) for p in paragraphs],
        domain=domain,
    )


def test_a_template_paragraph_is_removed_once_the_site_used_it_often_enough() -> None:
    counts = SiteParagraphCounts()
    results = [
        remove_boilerplate(_doc(i, [f"Story {i} body text.", SUBSCRIBE]), counts, SETTINGS)
        for i in range(5)
    ]
    assert [len(r.paragraphs) for r in results] == [2, 2, 2, 1, 1]
    assert results[3].paragraphs == ["Story 3 body text."]
    assert [(b.position, b.paragraph_hash) for b in results[3].boilerplate_paragraphs] == [
        (1, paragraph_hash(SUBSCRIBE))
    ]
    assert results[3].paragraph_hashes == [paragraph_hash("Story 3 body text.")]


def _lake_with_counts(root: Path, counts_per_run: list[dict[int, int]]) -> Lake:
    lake = Lake(root)
    for number, counts in enumerate(counts_per_run):
        ctx = run_context(f"r{number}", STARTED + timedelta(days=number))
        commit_tables(lake, ctx, [(SITE_PARAGRAPHS, site_paragraphs_table(counts, ctx))])
    return lake


def test_counts_are_per_site_and_earlier_runs_counts_carry_over(tmp_path: Path) -> None:
    key = site_paragraph_key("courier.example", paragraph_hash(SUBSCRIBE))
    lake = _lake_with_counts(tmp_path, [{key: 2}, {key: 1, key + 1: 7}])
    counts = SiteParagraphCounts(lake)
    docs = [_doc(0, ["Body.", SUBSCRIBE], "other.example"), _doc(1, ["Body.", SUBSCRIBE])]
    counts.meet(k for doc in docs for _, k in short_paragraph_keys(doc, SETTINGS))
    other_site, same_site = (remove_boilerplate(doc, counts, SETTINGS) for doc in docs)
    assert other_site.paragraphs == ["Body.", SUBSCRIBE]
    assert same_site.paragraphs == ["Body."]
    assert counts.count(key) == 4
    assert counts.in_run[key] == 1


def test_a_run_counts_only_what_it_met(tmp_path: Path) -> None:
    key = site_paragraph_key("courier.example", paragraph_hash(SUBSCRIBE))
    counts = SiteParagraphCounts(_lake_with_counts(tmp_path, [{key: 9}]))
    assert counts.count(key) == 0  # not looked up yet: nothing is loaded up front
    counts.meet([key, key])
    assert counts.count(key) == 9


def test_long_paragraphs_undated_sites_and_all_boilerplate_articles_are_left_alone() -> None:
    long = " ".join(["word"] * 60)
    counts = SiteParagraphCounts()
    for paragraph in (long, SUBSCRIBE):
        for _ in range(9):
            counts.add(site_paragraph_key("courier.example", paragraph_hash(paragraph)))
    assert remove_boilerplate(_doc(0, ["Body.", long]), counts, SETTINGS).paragraphs == [
        "Body.",
        long,
    ]
    assert remove_boilerplate(_doc(1, ["Body.", SUBSCRIBE], None), counts, SETTINGS).paragraphs == [
        "Body.",
        SUBSCRIBE,
    ]
    assert remove_boilerplate(_doc(2, [SUBSCRIBE]), counts, SETTINGS).paragraphs == [SUBSCRIBE]
    off = BoilerplateSettings(boilerplate_min_articles=0)
    assert remove_boilerplate(_doc(3, ["Body.", SUBSCRIBE]), counts, off).paragraphs == [
        "Body.",
        SUBSCRIBE,
    ]
