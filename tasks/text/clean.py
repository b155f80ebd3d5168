"""Clean stage: mojibake repair, Unicode and whitespace normalisation, paragraph splitting.

`clean_text` is idempotent: cleaning its output again changes nothing. ftfy is slow
(~430 docs/s), so it only runs on text in which a cheap regex sees mojibake or C1 controls.
"""

import html
import re
import unicodedata
from dataclasses import dataclass, replace

import ftfy

from newsmill.schemas.reasons import Reason
from newsmill.tasks.records import Document, Reject
from newsmill.tasks.text.letters import UPPER

# Bumped whenever the clean stage can write other text for the same input (the golden set
# in tests/golden fails when output changes and no version did).
# v3: a byline names authors whose names start with any cased capital ("By Émilie Laurent")
# v4: a headline or byline line is at most 300 characters; the headline pattern is linear
CLEAN_VERSION = "clean_v5"

# What UTF-8 looks like when read as cp1252 or latin-1: a lead byte (Â..ô) followed by
# a continuation byte (0x80-0xBF) rendered as a cp1252 symbol or a C1 control.
_CONTINUATION = "".join(
    sorted(
        set(bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore"))
        | {chr(c) for c in range(0x80, 0xC0)}
    )
)
_MOJIBAKE = re.compile(f"[\u00c2-\u00f4][{re.escape(_CONTINUATION)}]")
_C1_CONTROLS = re.compile("[\u0080-\u009f]")
_HTML_ENTITY = re.compile(r"&(?:#\d{2,6}|#x[0-9a-fA-F]{2,5}|[a-zA-Z]{2,8});")
_LINE_BREAK = "\r\u2028\u2029\u0085\u000b\u000c"
_LINE_BREAKS = re.compile(f"[{_LINE_BREAK}]")
# controls, soft hyphen, zero-width characters, BOM; and the bidirectional controls (LRM/RLM,
# embeddings, overrides, isolates, the Arabic letter mark): they reorder what a reader sees
# ("Trojan Source") and make equal text compare unequal
_INVISIBLE_CHARACTER = (
    "\u0000-\u0008\u000e-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u202a-\u202e"
    "\u2060\u2066-\u2069\ufeff"
)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARACTER}]")
_ODD_SPACE = "\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
# any of the three: most text has none, which one search tells
_UNUSUAL = re.compile(f"[{_LINE_BREAK}{_INVISIBLE_CHARACTER}{_ODD_SPACE}]")
# Single plain spaces are the common case and must not be matched (one match per word).
_SPACES = re.compile(f"[ {_ODD_SPACE}]{{2,}}|[{_ODD_SPACE}]")
_ODD_SPACES = re.compile(f"[{_ODD_SPACE}]")
_SPACE_AROUND_NEWLINE = re.compile(" \n ?|\n ")
_BLANK_LINE = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?:;\"'”’)\]]$")

_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,  # done separately, for text without mojibake too
    uncurl_quotes=False,  # curly quotes are correct text, and quote detection needs them
    fix_latin_ligatures=False,
    fix_character_width=False,
    explain=False,
)
_MAX_REPAIR_ROUNDS = 4
# Plain text states a headline and byline only in these standard forms; nothing else is guessed.
# Linear on any line: the closing #s are stripped after the match ("^#\s+(.+?)\s*#*$" took
# 141 s on a 300 KB line of #).
_MARKDOWN_TITLE = re.compile(r"#[ \t]+(.*)")
# A headline or byline is a line, not a paragraph: longer ones are body text.
_MAX_HEADLINE_CHARS = 300
_NAME = rf"{UPPER}[\w.'’-]+(?: {UPPER}[\w.'’-]+){{1,3}}"
_BYLINE = re.compile(rf"^By ({_NAME}(?:(?:,| and) {_NAME})*)$")
# A block whose lines are all this long but end mid-sentence is hard-wrapped prose.
_WRAP_MIN_CHARS = 40
_WRAP_MAX_CHARS = 100


@dataclass(frozen=True, slots=True)
class CleanedText:
    paragraphs: list[str]
    mojibake_repaired: bool


def repair_mojibake(text: str) -> tuple[str, bool]:
    if not (_MOJIBAKE.search(text) or _C1_CONTROLS.search(text)):
        return text, False
    fixed = ftfy.fix_text(text, _FTFY_CONFIG)
    return fixed, fixed != text


def normalise_text(text: str) -> str:
    """NFC, one kind of line break, no invisible characters, single spaces, stripped lines."""
    if _HTML_ENTITY.search(text):
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    # one pass over the text where a search or substitution for each would take three
    unusual = _UNUSUAL.search(text) is not None
    if unusual:
        text = _LINE_BREAKS.sub("\n", text.replace("\r\n", "\n"))
        text = _INVISIBLE.sub("", text)
    # most text has nothing for these two to do, which plain searches tell ~10x faster than
    # the substitutions, whose alternations try every position
    if "  " in text or (unusual and _ODD_SPACES.search(text)):
        text = _SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    return text.strip(" ")


def _is_hard_wrapped(lines: list[str]) -> bool:
    if len(lines) < 2:
        return False
    body = lines[:-1]
    return all(_WRAP_MIN_CHARS <= len(line) <= _WRAP_MAX_CHARS for line in body) and not all(
        _SENTENCE_END.search(line) for line in body
    )


def split_paragraphs(text: str) -> list[str]:
    """Blank-line paragraphs; inside a block, one paragraph per line unless hard-wrapped."""
    paragraphs: list[str] = []
    for block in _BLANK_LINE.split(text.strip()):
        lines = [line for line in block.split("\n") if line]
        if _is_hard_wrapped(lines):
            paragraphs.append(" ".join(lines))
        else:
            paragraphs.extend(lines)
    return paragraphs


def clean_text(text: str) -> CleanedText:
    """Repair and normalise until nothing changes, then split into paragraphs.

    ftfy judges mojibake by its context, and normalising changes the context (a stripped
    no-break space can turn a sequence it left alone into one it fixes), so the two steps
    repeat until a fixpoint; that is what makes cleaning idempotent.
    """
    repaired_any = False
    for _ in range(_MAX_REPAIR_ROUNDS):
        repaired, changed = repair_mojibake(text)
        normalised = normalise_text(repaired)
        repaired_any |= changed
        if normalised == text:
            break
        text = normalised
    return CleanedText(split_paragraphs(text), repaired_any)


def clean_field(value: str) -> str | None:
    """A one-line field (title, author): repaired and normalised, whitespace collapsed."""
    return " ".join(normalise_text(repair_mojibake(value)[0]).split()) or None


def split_off_headline_and_byline(doc: Document) -> Document:
    """Plain text: a leading Markdown `# headline` and `By Name` byline are fields, not body."""
    paragraphs = list(doc.paragraphs)
    title, author = doc.title, doc.author
    if title is None and len(paragraphs) > 1 and (headline := _markdown_title(paragraphs[0])):
        title = headline
        paragraphs.pop(0)
    if (
        author is None
        and len(paragraphs) > 1
        and len(paragraphs[0]) <= _MAX_HEADLINE_CHARS
        and (match := _BYLINE.match(paragraphs[0]))
    ):
        author = match.group(1)
        paragraphs.pop(0)
    return replace(doc, paragraphs=paragraphs, title=title, author=author)


def _markdown_title(line: str) -> str | None:
    match = _MARKDOWN_TITLE.fullmatch(line) if len(line) <= _MAX_HEADLINE_CHARS else None
    return match.group(1).rstrip().rstrip("#").rstrip() or None if match else None


def clean_document(doc: Document) -> Document | Reject:
    cleaned = clean_text(doc.body)
    if not cleaned.paragraphs:
        return Reject(
            doc.source,
            Reason.CLEAN_EMPTY_TEXT,
            "no text left after cleaning (whitespace or control characters only)",
            doc.input_hash,
            doc.line_number,
        )
    doc = replace(
        doc,
        body="",
        paragraphs=cleaned.paragraphs,
        mojibake_repaired=cleaned.mojibake_repaired,
        title=clean_field(doc.title) if doc.title else None,
        author=clean_field(doc.author) if doc.author else None,
    )
    return split_off_headline_and_byline(doc) if doc.source_kind == "text" else doc
