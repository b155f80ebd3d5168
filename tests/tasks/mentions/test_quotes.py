import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmill.tasks.mentions.quotes import find_quotes


def _pairs(text: str) -> list[tuple[str, str | None, str | None]]:
    return [(q.quote, q.speaker_mention, q.verb) for q in find_quotes(text)]


def test_the_seeds_quotes_and_their_speaker_mentions(seed_text: str) -> None:
    first_copy = seed_text.split("Next week, Yoon")[0]  # the seed pastes everything twice
    quotes = find_quotes(first_copy)
    by_start = {q.quote.split()[0]: q for q in quotes}
    yoon = by_start["It"]
    assert yoon.quote.startswith("It might be difficult") and yoon.quote.endswith("laws of war")
    assert (yoon.speaker_mention, yoon.verb) == ("the South Korean president", "stated")
    # Peskov's quote: opened, never closed, then attributed; the next one is closed
    peskov = by_start["But"]
    assert peskov.quote.endswith("involvement in this conflict.")
    assert (peskov.speaker_mention, peskov.verb) == ("he", "said")
    unclosed = by_start["They'll"]
    assert (
        unclosed.quote == "They'll attempt to directly involve more and more nations in this fight."
    )
    assert unclosed.speaker_mention == "he"
    partial = by_start["unfortunate"]
    assert (partial.speaker_mention, partial.verb) == ("Dmitry Peskov", "called")
    assert by_start["quid"].speaker_mention == "Medvedev"
    for quote in quotes:  # offsets point at the words and at the mention
        assert first_copy[quote.start : quote.end] == quote.quote
        assert quote.speaker_start is not None and quote.speaker_mention is not None
        start = quote.speaker_start
        assert first_copy[start : start + len(quote.speaker_mention)] == quote.speaker_mention


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"We will win," Smith said.', [("We will win", "Smith", "said")]),
        ('"We will win," said Jane Smith, the mayor.', [("We will win", "Jane Smith", "said")]),
        ("Smith said, “We will win.”", [("We will win.", "Smith", "said")]),
        ("Smith told reporters: “We will win.”", [("We will win.", "Smith", "told")]),
        ('"No," she said.', [("No", "she", "said")]),
        ("“Fine,” the minister added.", [("Fine", "the minister", "added")]),
        (
            "In a speech on Friday, Lee promised “better roads.”",
            [("better roads.", "Lee", "promised")],
        ),
        ("The sign said nothing.", []),
        ('"We will win," said Jane Smith.', [("We will win", "Jane Smith", "said")]),
        ('"We will win," said John Smith Jr.', [("We will win", "John Smith Jr.", "said")]),
        # speakers whose names start with a capital outside ASCII
        ('"Nous verrons," said Émilie Laurent.', [("Nous verrons", "Émilie Laurent", "said")]),
        ("Łucja Nowak told reporters: “We will win.”", [("We will win.", "Łucja Nowak", "told")]),
        (
            '"ÖZTÜRK: We are ready," the transcript ran.',
            [("ÖZTÜRK: We are ready", "ÖZTÜRK", "said")],
        ),
    ],
)
def test_the_common_news_patterns(text: str, expected: list) -> None:
    assert _pairs(text) == expected


def test_a_quote_never_runs_into_the_next_paragraph() -> None:
    text = 'He said, "we will see\nThe next story begins here," and goes on.'
    [first, *rest] = find_quotes(text)
    assert first.quote == "we will see"
    assert all(q.start > text.index("\n") for q in rest)


def test_apostrophes_are_not_quote_marks() -> None:
    assert find_quotes("Russia's army and the people's choice don't matter.") == []


@pytest.mark.parametrize(
    "text",
    [
        '"' * 5000,
        '" " " " "',
        "“" * 300 + " words " + "”" * 7,
        ('He said "a ' * 3000) + "end",
        "NOBODY SAID ANYTHING",
        "",
    ],
)
def test_hostile_marks_never_crash(text: str) -> None:
    quotes = find_quotes(text)
    assert all(any(c.isalpha() for c in q.quote) for q in quotes)


PIECES = [*"ab .,\"“”'\n:", "said", "He", " X ", "the mayor"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=120).map("".join))
def test_any_text_gives_quotes_whose_offsets_hold(text: str) -> None:
    for quote in find_quotes(text):
        assert text[quote.start : quote.end] == quote.quote
        assert "\n" not in quote.quote
        if quote.speaker_start is not None and quote.speaker_mention is not None:
            start = quote.speaker_start
            assert text[start : start + len(quote.speaker_mention)] == quote.speaker_mention
