import html
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmill.schemas.reasons import Reason
from newsmill.tasks.records import Document, Reject
from newsmill.tasks.text import clean
from newsmill.tasks.text.clean import (
    clean_document,
    clean_field,
    clean_text,
    normalise_text,
    repair_mojibake,
    split_off_headline_and_byline,
    split_paragraphs,
)


def test_mojibake_is_repaired_and_flagged() -> None:
    text, repaired = repair_mojibake("The cityâ€™s cafÃ© said â€œnoâ€\x9d.")
    assert (text, repaired) == ("The city’s café said “no”.", True)


def test_clean_text_is_left_alone_by_mojibake_repair() -> None:
    text = "Ærø’s café said “no” — naïve Zürich façade, 25 °C, © 2023."
    assert repair_mojibake(text) == (text, False)


def test_normalise_text_fixes_unicode_whitespace_controls_and_line_endings() -> None:
    raw = "Cafe\u0301\u00a0 au\tlait\r\nsecond\x07 line\u200b\rthird &amp; last  "
    assert normalise_text(raw) == "Café au lait\nsecond line\nthird & last"
    assert unicodedata.is_normalized("NFC", normalise_text(raw))


def test_paragraphs_split_on_blank_lines_one_per_line_and_hard_wraps() -> None:
    assert split_paragraphs("First para.\n\nSecond para.") == ["First para.", "Second para."]
    assert split_paragraphs("Line one is a paragraph.\nLine two is another.") == [
        "Line one is a paragraph.",
        "Line two is another.",
    ]
    wrapped = (
        "More than 300 volunteers spent Saturday morning planting native\n"
        "trees along a four-kilometre stretch of the Alder river, part of a\n"
        "project to reduce flooding."
    )
    assert split_paragraphs(wrapped) == [" ".join(wrapped.split("\n"))]


def test_seed_lines_are_fifteen_paragraphs(seed_text: str) -> None:
    assert len(clean_text(seed_text).paragraphs) == 15


def test_whitespace_only_document_is_rejected() -> None:
    doc = Document("s.txt", "h", "text", " \n\t\u00a0\r\n\u200b ")
    result = clean_document(doc)
    assert isinstance(result, Reject) and result.reason is Reason.CLEAN_EMPTY_TEXT


def test_fields_are_repaired_and_collapsed() -> None:
    assert clean_field("  The cityâ€™s\n budget ") == "The city’s budget"
    assert clean_field(" \n ") is None


# Pieces, not characters: mojibake, combining marks and entities span several code points.
_PIECES = [
    *"abc XYZ.,'\"\n\r\t",
    "\u00a0",
    "’",
    "“",
    "é",
    "e\u0301",
    "â€™",
    "Ã©",
    "\u200b",
    "\x07",
    "\n\n",
    "&amp;",
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=80).map("".join) | st.text(max_size=120)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_cleaning_is_idempotent(text: str) -> None:
    once = clean_text(text).paragraphs
    twice = clean_text("\n\n".join(once)).paragraphs
    assert twice == once


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_cleaned_paragraphs_are_non_empty_stripped_nfc(text: str) -> None:
    for paragraph in clean_text(text).paragraphs:
        assert paragraph and paragraph == paragraph.strip()
        assert "\n" not in paragraph
        assert unicodedata.is_normalized("NFC", paragraph)


_SPACING = st.lists(
    st.sampled_from([" ", "  ", "\t", "\u00a0", "\u3000", "\n", "\n\n", " \n ", "a", "b c"]),
    max_size=40,
).map("".join)


def _normalised_by_substitutions_alone(text: str) -> str:
    """`normalise_text` as it was before searches skipped the substitutions with nothing
    to do."""
    if clean._HTML_ENTITY.search(text):
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = clean._LINE_BREAKS.sub("\n", text.replace("\r\n", "\n"))
    text = clean._INVISIBLE.sub("", text)
    return clean._SPACE_AROUND_NEWLINE.sub("\n", clean._SPACES.sub(" ", text)).strip(" ")


@settings(max_examples=400, deadline=None)
@given(_SPACING | _TEXT)
def test_skipping_substitutions_with_nothing_to_do_changes_no_text(text: str) -> None:
    assert normalise_text(text) == _normalised_by_substitutions_alone(text)


def test_plain_text_takes_only_stated_title_and_byline() -> None:
    doc = Document(
        "a.md", "h", "text", "", paragraphs=["# A headline", "By Jane Doe", "Body text here."]
    )
    taken = split_off_headline_and_byline(doc)
    assert (taken.title, taken.author, taken.paragraphs) == (
        "A headline",
        "Jane Doe",
        ["Body text here."],
    )
    prose = Document(
        "b.txt", "h", "text", "", paragraphs=["By the end of the day, it rained.", "More."]
    )
    assert split_off_headline_and_byline(prose).author is None
    assert split_off_headline_and_byline(prose).title is None


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("# A headline ##", "A headline"),
        ("# C# for newsrooms", "C# for newsrooms"),
        ("# Closing hashes#", "Closing hashes"),
        ("# ##", None),
        ("#No space", None),
        ("# " + "long words " * 40, None),  # 440 characters: a paragraph, not a headline
    ],
)
def test_a_markdown_headline_is_one_short_line(line: str, title: str | None) -> None:
    doc = Document("a.md", "h", "text", "", paragraphs=[line, "Body text here."])
    assert split_off_headline_and_byline(doc).title == title


@pytest.mark.parametrize(
    "first",
    [
        "# " + "#" * 1_000_000,  # took minutes with the backtracking pattern
        "# a" + " " * 1_000_000 + "b",
        "By " + "Anna Smith, " * 100_000,
    ],
)
def test_adversarial_megabyte_lines_are_body_text(first: str) -> None:
    doc = Document("a.md", "h", "text", "", paragraphs=[first, "Body text here."])
    taken = split_off_headline_and_byline(doc)
    assert (taken.title, taken.author, len(taken.paragraphs)) == (None, None, 2)


def test_bidirectional_controls_are_removed_from_text_and_titles() -> None:
    """U+202E and its kind reorder what a reader sees (Trojan Source) and survived."""
    spoofed = "Invoice \u202egpj.exe\u202c paid \u200eon \u2066time\u2069 \u061cnow"
    assert normalise_text(spoofed) == "Invoice gpj.exe paid on time now"
    assert clean_field("\u200fBreaking\u200e: \u202aall\u202c calm") == "Breaking: all calm"
