"""Bytes to text: BOMs, UTF-8, stray legacy bytes, and detected legacy encodings.

Nothing here replaces undecodable bytes with U+FFFD: a byte is either decoded by a real
encoding or the whole input is refused with a reason.
"""

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_BOMS = tuple(bom for bom, enc in _BOMS if enc != "utf-8")
_BINARY_SIGNATURES = (
    b"\x89PNG",
    b"%PDF",
    b"PK\x03\x04",
    b"GIF8",
    b"\xff\xd8\xff",
    b"\x7fELF",
    b"\xd0\xcf\x11\xe0",
    b"7z\xbc\xaf",
    b"RIFF",
    b"\x00\x00\x01\x00",
    b"wOFF",
)
_VALID_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
# Western text has few non-ASCII letters; text of another script read as cp1252 has mostly them.
_MAX_NON_ASCII_LETTER_SHARE = 0.3
_MAX_CONTROL_CHAR_SHARE = 0.01


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode each byte UTF-8 rejects as cp1252 (latin-1 for cp1252's five holes)."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    chars = "".join(
        bytes([b]).decode("latin-1" if b in _CP1252_UNDEFINED else "cp1252") for b in bad
    )
    return chars, error.end


codecs.register_error("newsmill-cp1252-fallback", _cp1252_fallback)


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str


def looks_binary(data: bytes) -> bool:
    """True for known binary signatures, or NUL bytes in text without a UTF-16/32 BOM."""
    if data.startswith(_BINARY_SIGNATURES):
        return True
    head = data[:8192]
    if head.startswith(_WIDE_BOMS):
        return False
    return b"\x00" in head


def too_many_control_chars(text: str) -> bool:
    sample = text[:20000]
    return bool(sample) and len(_CONTROL_CHARS.findall(sample)) > _MAX_CONTROL_CHAR_SHARE * len(
        sample
    )


def _non_ascii_letter_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if not c.isascii()) / len(letters)


def decode_bytes(data: bytes, declared: str | None = None) -> Decoded | None:
    """Decode `data`, or return None when no encoding fits.

    Order: a BOM; strict UTF-8; UTF-8 with stray cp1252 bytes (files pasted together from
    two encodings); the encoding the document declares; cp1252 when it reads as Western
    text; charset-normalizer's best guess.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data[len(bom) :].decode(encoding), encoding)
            except UnicodeDecodeError:
                return None
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    valid_multibyte = len(_VALID_UTF8_MULTIBYTE.findall(data))
    stray_bytes = len(data) - len(data.decode("utf-8", errors="ignore").encode("utf-8"))
    if valid_multibyte >= stray_bytes:
        return Decoded(data.decode("utf-8", errors="newsmill-cp1252-fallback"), "utf-8+cp1252")
    if declared:
        try:
            return Decoded(data.decode(declared), codecs.lookup(declared).name)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        text = data.decode("cp1252")
        if _non_ascii_letter_share(text) <= _MAX_NON_ASCII_LETTER_SHARE:
            return Decoded(text, "cp1252")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        return None
    return Decoded(str(best), best.encoding)
