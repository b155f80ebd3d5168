"""An entity mention: what every finder returns and canonicalisation fills in."""

from dataclasses import dataclass

PERSON, ORG, LOC = "PERSON", "ORG", "LOC"
MAX_ENTITIES = 5_000  # per article: past this, the text is not prose
MAYBE_PERSON = "PERSON?"  # capitalised words with no sign of being a person yet
UNDECIDED = "?"  # the gazetteers alone cannot label a span
OFFICE = "OFFICE"  # an office named alone ("the President"): a person if the article says who
HOLDER = "HOLDER"  # an office whose holder is known: its canonical is, for now, their name


@dataclass(frozen=True, slots=True)
class Entity:
    text: str  # as written
    canonical: str
    label: str
    start: int
    end: int
    role: str = ""  # the title words before a person's name, lower case


def words_of(span: str) -> list[str]:
    return span.split()


def is_acronym(token: str) -> bool:
    letters = token.replace(".", "")
    return 2 <= len(letters) <= 6 and letters.isupper() and letters.isalpha()


def contains_words(tokens: list[str], part: list[str]) -> bool:
    """`part` occurs in `tokens` as a run of whole words."""
    n = len(part)
    return any(tokens[i : i + n] == part for i in range(len(tokens) - n + 1))
