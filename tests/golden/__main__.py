"""`python -m tests.golden --update`: rewrite the expected rows from what the pipeline makes
now. Do it after bumping the version of the rules whose output changed."""

import argparse
import tempfile
from pathlib import Path

from tests.golden.run import (
    EXPECTED,
    corpus_tables,
    golden_tables,
    write_corpus_digests,
    write_expected,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite tests/golden/expected")
    if not parser.parse_args().update:
        parser.error("nothing to do without --update (the test is tests/test_golden.py)")
    with tempfile.TemporaryDirectory() as lake:
        write_expected(golden_tables(Path(lake)))
    with tempfile.TemporaryDirectory() as folder:
        write_corpus_digests(corpus_tables(Path(folder)))
    print(f"wrote {EXPECTED}")


if __name__ == "__main__":
    main()
