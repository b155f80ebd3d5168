import codecs

import pytest

from newsmill.tasks.ingest.decode import decode_bytes, looks_binary, too_many_control_chars

WESTERN = "The city’s mayor said “no” — café owners were déçus. "


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        (WESTERN.encode("utf-8"), WESTERN, "utf-8"),
        (codecs.BOM_UTF8 + WESTERN.encode("utf-8"), WESTERN, "utf-8"),
        (codecs.BOM_UTF16_LE + WESTERN.encode("utf-16-le"), WESTERN, "utf-16-le"),
        (WESTERN.encode("cp1252"), WESTERN, "cp1252"),
        (
            "Привет, как дела? Это новости дня.".encode("cp1251"),
            "Привет, как дела? Это новости дня.",
            "cp1251",
        ),
        # a UTF-8 file with one paragraph pasted from a cp1252 source
        (
            WESTERN.encode("utf-8") + "It’s naïve.".encode("cp1252"),
            WESTERN + "It’s naïve.",
            "utf-8+cp1252",
        ),
    ],
)
def test_decode_bytes_finds_the_right_encoding(data: bytes, text: str, encoding: str) -> None:
    decoded = decode_bytes(data)
    assert decoded is not None
    assert decoded.text == text
    assert decoded.encoding == encoding


def test_declared_encoding_is_used_when_utf8_fails() -> None:
    text = "Ελληνικά νέα της ημέρας"
    decoded = decode_bytes(text.encode("iso-8859-7"), declared="iso-8859-7")
    assert decoded is not None and decoded.text == text


def test_decoding_never_invents_replacement_characters() -> None:
    for data in (
        WESTERN.encode("cp1252"),
        "Ærø: 10 °C".encode("latin-1"),
        WESTERN.encode("utf-8") + b"\x81\x8d",
    ):
        decoded = decode_bytes(data)
        assert decoded is not None
        assert "\ufffd" not in decoded.text


def test_bytes_no_encoding_explains_are_refused_not_guessed() -> None:
    assert decode_bytes(bytes(range(0x20, 0x100)) * 3) is None


@pytest.mark.parametrize(
    ("data", "binary"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"x" * 50, True),
        (b"%PDF-1.7\n", True),
        (b"PK\x03\x04zipdata", True),
        (b"text with a \x00 NUL", True),
        (codecs.BOM_UTF16_LE + "hello".encode("utf-16-le"), False),
        (b"plain old text\n", False),
    ],
)
def test_looks_binary(data: bytes, binary: bool) -> None:
    assert looks_binary(data) is binary


def test_control_characters_mark_binary_decoded_as_text() -> None:
    assert too_many_control_chars("".join(chr(c) for c in range(0, 32)) * 10 + "abc")
    assert not too_many_control_chars("An ordinary line\twith a tab.\n" * 20)
