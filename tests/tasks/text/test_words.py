import json
from pathlib import Path

import numpy as np
import pytest

from newsmill.tasks.dedup.near import (
    NearDupSettings,
    RunSignatures,
    compute_signatures,
    decide_near_duplicates,
    estimate_similarity,
    shingles,
)
from newsmill.tasks.text.words import (
    UNSPACED,
    count_paragraph_words,
    count_words,
    utf8_words,
    words,
)
from tests.tasks.dedup.test_near import _doc, _empty_lake

GOLDEN_CHINESE = Path(__file__).parents[2] / "golden" / "inputs" / "chinese-near-copies.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The ferry leaves at ten.", 5),
        ("地铁十二号线今天开通。", 10),  # ten characters, the full stop is no word
        ("รถไฟฟ้าสายใหม่", 14),  # Thai: one word per character
        ("東京タワーは高い", 8),  # Han, Katakana and Hiragana alike
        ("서울 지하철 새 노선", 4),  # Korean spaces its words
        ("Line 12 号线 opens", 5),
        ("", 0),
    ],
)
def test_words_of_scripts_with_and_without_spaces(text: str, expected: int) -> None:
    assert count_words(text) == expected
    assert len(words(text)) == expected


def test_words_found_as_bytes_are_the_words_encoded() -> None:
    """Every character class a separator or a word can be: ASCII punctuation and "_",
    accents, no-break and em spaces, curly quotes, dashes, superscripts and fractions
    (alphanumeric to Python), combining marks (not), emoji, lone surrogates, unspaced
    scripts."""
    texts = [
        "The ferry leaves at ten.",
        "“Déjà vu”, said the café’s owner — naïve? 12½ km² of ‘straße’, snake_case!",
        "no\u00a0break\u2003em\u3000ideographic\tspace\nline",
        "हिन्दी समाचार: किताब",  # vowel signs are marks: they cut Python's \w+ words
        "emoji 🙂 between, and \ud800 a lone surrogate",
        "Line 12 号线 opens",
        "_ __ a_b ",
        "",
    ]
    for text in texts:
        assert utf8_words(text) == [word.encode() for word in words(text)]
    # every code point of a spaced script, surrogates too, each between two letters
    spaced = [chr(c) for c in range(0x80, 0x110000) if not UNSPACED.match(chr(c))]
    text = "a" + "a".join(spaced) + "a"
    assert utf8_words(text) == [word.encode() for word in words(text)]


def test_words_found_as_bytes_around_each_character_alone() -> None:
    """One character at a time, so that the common non-word characters take the fast
    path (a text with one other goes the slow way), with its bytes between letters, at
    the ends and next to ASCII punctuation."""
    for code in range(0x80, 0x20000):
        character = chr(code)
        if UNSPACED.match(character):
            continue
        text = f"{character}a{character}b {character}.{character}"
        assert utf8_words(text) == [word.encode() for word in words(text)], hex(code)


@pytest.mark.parametrize(
    "paragraphs",
    [
        ["The ferry leaves at ten.", "  It returns at noon  ", "", "— 2024 —"],
        ["地铁十二号线今天开通。", "— 2024 —", "Line 12 号线 opens"],  # "—" is no word here
        ["รถไฟฟ้าสายใหม่", "..."],
        [],
    ],
)
def test_an_articles_words_are_counted_from_its_paragraphs(paragraphs: list[str]) -> None:
    per_paragraph, total = count_paragraph_words(paragraphs)
    assert per_paragraph == [count_words(p) for p in paragraphs]
    assert total == count_words("\n\n".join(paragraphs))


def test_a_chinese_article_is_shingled_by_characters() -> None:
    text = "本市地铁十二号线今天上午正式开通运营"
    assert shingles(text, 5)[:2] == ["本 市 地 铁 十".encode(), "市 地 铁 十 二".encode()]
    assert len(shingles(text, 5)) == len(text) - 4


def test_a_chinese_near_copy_with_two_characters_edited_is_one_near_duplicate() -> None:
    original = json.loads(GOLDEN_CHINESE.read_text(encoding="utf-8").splitlines()[0])["text"]
    assert len(original) > 150
    edited = original.replace("二十八", "三十八", 1).replace("二十个", "二十五", 1)
    assert sum(a != b for a, b in zip(original, edited, strict=True)) == 2
    stranger = (
        "今年的春季花展将在下个月举行，预计将吸引大量市民前来参观，主办方增加了临时停车场。" * 3
    )
    settings = NearDupSettings()
    signatures = compute_signatures([original, edited, stranger], settings)
    similarity = estimate_similarity(signatures, np.array([[0, 1], [0, 2]]))
    assert similarity[0] >= 0.8 and similarity[1] < 0.1
    run = RunSignatures(settings)
    run.add([_doc(0, original), _doc(1, edited), _doc(2, stranger)])
    [dup] = decide_near_duplicates(run, _empty_lake())
    assert {dup.article.doc_id, dup.duplicate_of} == {_doc(0, "").doc_id, _doc(1, "").doc_id}
