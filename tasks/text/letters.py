"""Regular-expression classes for capital and small letters of every script that has case.

Python's `re` has no `\\p{Lu}`; `[A-Z]` sees "Émilie", "Łucja" and "Şükrü" as no capital
at all. These classes are built from the Unicode database of the running Python (general
categories Lu and Lt for capitals, Ll for small letters) over the Basic Multilingual Plane,
which holds every cased letter of the Latin, Greek, Cyrillic, Armenian and Georgian scripts
news is written in. `re` compiles a class this large to a bitmap, so a match costs what
`[A-Z]` costs.
"""

import functools
import unicodedata
from collections.abc import Callable

_BMP = 0x10000


def _letter_class(is_member: Callable[[str], bool]) -> str:
    """A `[...]` class of the code points `is_member` accepts, as ranges."""
    ranges: list[str] = []
    start = None
    for point in range(_BMP + 1):
        inside = point < _BMP and is_member(chr(point))
        if inside and start is None:
            start = point
        elif not inside and start is not None:
            end = point - 1
            ranges.append(chr(start) if start == end else f"{chr(start)}-{chr(end)}")
            start = None
    return "[" + "".join(ranges) + "]"


# a capital letter (Lu, and the title-case digraphs Lt such as "ǅ")
UPPER = _letter_class(lambda c: unicodedata.category(c) in ("Lu", "Lt"))
# a small letter (Ll)
LOWER = _letter_class(lambda c: unicodedata.category(c) == "Ll")

# Latin letters that Unicode does not decompose into a base letter and a mark
_UNDECOMPOSED = str.maketrans(
    {
        "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
        "ħ": "h", "Ħ": "H", "ı": "i", "ß": "ss", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe",
        "þ": "th", "Þ": "Th", "ŧ": "t", "Ŧ": "T", "ŀ": "l", "Ŀ": "L",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=1 << 16)
def without_diacritics(word: str) -> str:
    """The word with its diacritics dropped ("Şükrü" → "Sukru", "Łucja" → "Lucja"), for
    looking names up in lists that spell them either way; other scripts stay as they are."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c))
