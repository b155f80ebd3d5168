"""Seconds the entity and quote rules take on hostile text (the inputs the unit tests feed
them for correctness): each should stay far below the clean stage's per-page budget.

    .venv/bin/python benchmarks/hostile.py
"""

import time
from collections.abc import Callable
from typing import Any

from newsmill.tasks.mentions.entities import find_entities
from newsmill.tasks.mentions.quotes import find_quotes

ENTITY_TEXTS = {
    "20k capitalised words": " ".join(["Capital"] * 20_000),
    "5k repeated names": "Anna Smith. " * 5_000,
    "10k quote marks": '"' * 10_000,
    "shouted capitals": "THE WHOLE STORY IS SHOUTED IN CAPITALS. PRESIDENT SAID NO." * 200,
}
QUOTE_TEXTS = {
    "300 open marks": "“" * 300 + " words " + "”" * 7,
    "3k unclosed quotes": ('He said "a ' * 3000) + "end",
    "10k quote marks": '"' * 10_000,
}


def _seconds(function: Callable[[str], Any], text: str) -> float:
    started = time.perf_counter()
    function(text)
    return time.perf_counter() - started


def main() -> None:
    for name, function, texts in (
        ("find_entities", find_entities, ENTITY_TEXTS),
        ("find_quotes", find_quotes, QUOTE_TEXTS),
    ):
        for label, text in texts.items():
            print(f"{name:14} {label:24} {len(text):>8} chars  {_seconds(function, text):7.3f} s")


if __name__ == "__main__":
    main()
