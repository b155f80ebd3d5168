from tasks.boilerplate import (
    BoilerplateSettings,
    SiteParagraphCounts,
    remove_boilerplate,
    site_paragraph_key,
)
from tasks.dedup import paragraph_hash
from tasks.records import Document

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


def test_counts_are_per_site_and_lake_counts_carry_over() -> None:
    counts = SiteParagraphCounts([("courier.example", paragraph_hash(SUBSCRIBE), 3)])
    other_site = remove_boilerplate(
        _doc(0, ["Body.", SUBSCRIBE], "other.example"), counts, SETTINGS
    )
    same_site = remove_boilerplate(_doc(1, ["Body.", SUBSCRIBE]), counts, SETTINGS)
    assert other_site.paragraphs == ["Body.", SUBSCRIBE]
    assert same_site.paragraphs == ["Body."]
    assert counts.count(site_paragraph_key("courier.example", paragraph_hash(SUBSCRIBE))) == 4


def test_long_paragraphs_undated_sites_and_all_boilerplate_articles_are_left_alone() -> None:
    long = " ".join(["word"] * 60)
    counts = SiteParagraphCounts(
        [
            ("courier.example", paragraph_hash(long), 9),
            ("courier.example", paragraph_hash(SUBSCRIBE), 9),
        ]
    )
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
