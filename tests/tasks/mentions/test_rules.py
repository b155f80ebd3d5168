"""The rules finder's own parts, against what they stand in for."""

import re

import pytest

from newsmill.tasks.mentions.rules import LOWER_CASE_WORD, LowerCaseWords

TEXTS = [
    "Anti-war protesters and rock-n-roll fans don't agree; l'état, l’homme and x_ray stay.",
    "McDonald's said the deal was off. O'neil-smith and o'Neil both came. 3rd place, 2x faster.",
    "ÉCOLE and école, STRASSE and straße; İstanbul and ıslak, ǅemal and ǆ; Ωmega and ωmega.",
    "a-b-c -start end- 'quoted' ‘curly’ — dash–en dash; __init__ self._private x1y2",
    "trailing word",
    "",
    "Δελφοί και δελφοί. Москва и москва. The END, the end.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_small_letter_words_answer_as_finding_them_all_does(text: str) -> None:
    """Asked word by word, the answers are those of the set of every match: for every
    piece of the text that could be asked about (its whitespace-separated words, those cut
    at punctuation, each lower-cased, and every match itself)."""
    every_match = set(LOWER_CASE_WORD.findall(text))
    asked = LowerCaseWords(text)
    pieces = set(text.split()) | set(re.split(r"[^\w'’-]+", text))
    pieces |= {piece.lower() for piece in pieces} | every_match
    pieces |= {piece[i:] for piece in set(pieces) for i in range(1, len(piece))}
    for piece in pieces:
        assert (piece in asked) == (piece in every_match), piece
    assert every_match <= {piece for piece in pieces if piece in asked}
