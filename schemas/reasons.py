"""Reject reason codes: one stable snake_case code per way an input can fail.

The prefix names the stage that rejects. Analysts group by these codes, so a code is never
renamed or reused for a different meaning; a new failure gets a new code.
"""

from enum import StrEnum


class Reason(StrEnum):
    DISCOVER_BAD_URL = "discover_bad_url"
    DISCOVER_NO_LINKS = "discover_no_links"
    FETCH_BAD_URL = "fetch_bad_url"
    FETCH_PRIVATE_ADDRESS = "fetch_private_address"
    FETCH_ROBOTS_DISALLOWED = "fetch_robots_disallowed"
    FETCH_ROBOTS_UNAVAILABLE = "fetch_robots_unavailable"
    FETCH_CONNECTION_ERROR = "fetch_connection_error"
    FETCH_TIMEOUT = "fetch_timeout"
    FETCH_TOO_MANY_REDIRECTS = "fetch_too_many_redirects"
    FETCH_HTTP_ERROR = "fetch_http_error"
    FETCH_RATE_LIMITED = "fetch_rate_limited"
    FETCH_TOO_LARGE = "fetch_too_large"
    FETCH_NOT_HTML = "fetch_not_html"
    FETCH_FAILED = "fetch_failed"
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
    CLEAN_TIMEOUT = "clean_timeout"
    CLEAN_UNEXPECTED = "clean_unexpected"
    DEDUP_UNEXPECTED = "dedup_unexpected"
    FIELDS_UNEXPECTED = "fields_unexpected"
    BOILERPLATE_UNEXPECTED = "boilerplate_unexpected"
    MENTIONS_TIMEOUT = "mentions_timeout"
    MENTIONS_UNEXPECTED = "mentions_unexpected"
    SHARD_FAILED = "shard_failed"

    @property
    def stage(self) -> str:
        return self.value.split("_", 1)[0]


REASONS: dict[Reason, str] = {
    Reason.DISCOVER_BAD_URL: (
        "A line of a --urls file, or a link, is not an http(s) URL with a host; it is not fetched."
    ),
    Reason.DISCOVER_NO_LINKS: (
        "A feed or sitemap was fetched but holds no article links (not a feed or sitemap, or "
        "empty); the detail says which."
    ),
    Reason.FETCH_BAD_URL: "The URL's scheme is not http or https, or it has no host or a bad port.",
    Reason.FETCH_PRIVATE_ADDRESS: (
        "The host resolves to a private, loopback, link-local or reserved address, refused "
        "against server-side request forgery (`--allow-private-hosts` lifts it)."
    ),
    Reason.FETCH_ROBOTS_DISALLOWED: "The site's robots.txt disallows the URL for our user agent.",
    Reason.FETCH_ROBOTS_UNAVAILABLE: (
        "The site's robots.txt answered 5xx or could not be reached, which RFC 9309 reads as "
        "'fetch nothing'; a later run tries again."
    ),
    Reason.FETCH_CONNECTION_ERROR: (
        "The host did not resolve or the connection failed on every try; a later run tries again."
    ),
    Reason.FETCH_TIMEOUT: (
        "Connecting, reading, or the whole response took longer than its timeout on every "
        "try; a later run tries again."
    ),
    Reason.FETCH_TOO_MANY_REDIRECTS: "More redirects than `max_redirects`, or a redirect loop.",
    Reason.FETCH_HTTP_ERROR: (
        "The final response was an HTTP error: a 4xx at once, a 5xx after every retry (a "
        "later run tries a 5xx again). The detail has the status."
    ),
    Reason.FETCH_RATE_LIMITED: (
        "HTTP 429 on every try (each retry waited for Retry-After), or a Retry-After longer "
        "than `max_retry_after_s`; a later run tries again."
    ),
    Reason.FETCH_TOO_LARGE: (
        "The body is over `max_body_mb`; the download stopped there. The part received is "
        "kept in the raw zone, marked truncated. Also a gzipped feed or sitemap that expands "
        "past 50 MB (the sitemap protocol's limit) when decompressed: it is not read."
    ),
    Reason.FETCH_NOT_HTML: (
        "An article URL answered with a content type that is not HTML (an image, a PDF, …)."
    ),
    Reason.FETCH_FAILED: "An unexpected error while fetching; the detail has it. A later run tries again.",
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
        "(lines of 6+ words, or 12+ characters of a script without spaces, each a word) once "
        "navigation, banners and boilerplate are removed; or its text is only the teasers "
        "under several headlines that link elsewhere (a section or index page)."
    ),
    Reason.EXTRACT_TIMEOUT: "HTML extraction took longer than `extract_timeout_s` and was stopped.",
    Reason.EXTRACT_FAILED: "The HTML extractor raised an error on this page.",
    Reason.CLEAN_EMPTY_TEXT: "Nothing but whitespace or control characters is left after cleaning.",
    **{
        reason: (
            f"The {reason.stage} step ran longer than `document_timeout_s` on this input and "
            "was stopped; the rest of its work unit goes on."
        )
        for reason in (Reason.CLEAN_TIMEOUT, Reason.MENTIONS_TIMEOUT)
    },
    **{
        reason: (
            f"The {reason.stage} step raised an error on this input that no check foresaw (the "
            "detail names the exception): this input is rejected and the rest of its work unit "
            "goes on. It is not remembered as ingested, so a later run, with the bug fixed, "
            "tries it again."
        )
        for reason in (
            Reason.CLEAN_UNEXPECTED,
            Reason.DEDUP_UNEXPECTED,
            Reason.FIELDS_UNEXPECTED,
            Reason.BOILERPLATE_UNEXPECTED,
            Reason.MENTIONS_UNEXPECTED,
        )
    },
    Reason.SHARD_FAILED: (
        "The work unit holding this input (a group of files, or a byte range of a JSONL "
        "file) failed on every try (`shard_retries`) with a transient error (a lost worker, "
        "a timeout, a storage hiccup). The detail has the error; a later run tries the input "
        "again. Any other error is a bug and fails the run."
    ),
}
