"""Reject reason codes: one stable snake_case code per way an input can fail.

The prefix names the stage that rejects. Analysts group by these codes, so a code is never
renamed or reused for a different meaning; a new failure gets a new code.
"""

from enum import StrEnum


class Reason(StrEnum):
    READ_EMPTY_FILE = "read_empty_file"
    READ_TOO_LARGE = "read_too_large"
    READ_NOT_TEXT = "read_not_text"
    READ_UNDECODABLE = "read_undecodable"
    READ_CORRUPT_GZIP = "read_corrupt_gzip"
    READ_UNSUPPORTED_TYPE = "read_unsupported_type"
    READ_IO_ERROR = "read_io_error"
    READ_CORRUPT_WARC = "read_corrupt_warc"
    PARSE_INVALID_JSON = "parse_invalid_json"
    PARSE_NOT_OBJECT = "parse_not_object"
    PARSE_MISSING_TEXT = "parse_missing_text"
    EXTRACT_NO_ARTICLE = "extract_no_article"
    EXTRACT_TIMEOUT = "extract_timeout"
    EXTRACT_FAILED = "extract_failed"
    CLEAN_EMPTY_TEXT = "clean_empty_text"
    SHARD_FAILED = "shard_failed"

    @property
    def stage(self) -> str:
        return self.value.split("_", 1)[0]


REASONS: dict[Reason, str] = {
    Reason.READ_EMPTY_FILE: "The file has no bytes at all.",
    Reason.READ_TOO_LARGE: (
        "The file, its decompressed content, or one JSONL line is larger than "
        "`max_input_mb`; it was not read (or decompression stopped at the limit)."
    ),
    Reason.READ_NOT_TEXT: (
        "The bytes are binary (a known file signature such as PNG/PDF/ZIP, NUL bytes, or "
        "many control characters), not text, whatever the file name says."
    ),
    Reason.READ_UNDECODABLE: "No text encoding decodes the bytes without errors.",
    Reason.READ_CORRUPT_GZIP: (
        "The gzip stream is corrupt or truncated; lines read before the damage are kept."
    ),
    Reason.READ_UNSUPPORTED_TYPE: (
        "A file found while walking a directory whose extension newsmill does not read "
        "(name a file explicitly to have its content sniffed)."
    ),
    Reason.READ_IO_ERROR: "The operating system refused to read the file (permissions, I/O error).",
    Reason.READ_CORRUPT_WARC: (
        "The WARC archive is damaged or truncated; the records read before the damage are kept."
    ),
    Reason.PARSE_INVALID_JSON: "A JSONL line is not valid JSON (often a truncated record).",
    Reason.PARSE_NOT_OBJECT: "A JSONL line is valid JSON but not an object.",
    Reason.PARSE_MISSING_TEXT: "A JSONL record has no non-empty `text` or `html` field.",
    Reason.EXTRACT_NO_ARTICLE: (
        "The HTML page has no article: fewer than `min_article_words` words of running text "
        "(lines of 6+ words) once navigation, banners and boilerplate are removed."
    ),
    Reason.EXTRACT_TIMEOUT: "HTML extraction took longer than `extract_timeout_s` and was stopped.",
    Reason.EXTRACT_FAILED: "The HTML extractor raised an error on this page.",
    Reason.CLEAN_EMPTY_TEXT: "Nothing but whitespace or control characters is left after cleaning.",
    Reason.SHARD_FAILED: (
        "The work unit holding this input (a group of files, or a byte range of a JSONL "
        "file) failed on every try (`shard_retries`): an error outside the per-input checks, "
        "or a lost worker. The detail has the error; a later run tries the input again."
    ),
}
