"""Regenerates wordnet.tsv, the proper names the entity rules read, from Princeton WordNet 3.0
as Debian's wordnet-base package ships it (licence: the WordNet 3.0 licence, kept as the file's
header):

    apt-get install wordnet-base && python tasks/gazetteer/build_wordnet.py

Each line is a name's kinds and the name, lower case: PERSON (noun.person), LOC
(noun.location), ORG (noun.group: organisations, parties, churches) and THING (any other
noun: "DNA", "IQ"). Only capitalised lemmas are names; a lemma that is also an adjective
("English", "Buddhist") is a demonym, not a name, and is left out. Names known only as
THING are kept when they are acronyms, for the rule that an acronym is an organisation.
"""

from __future__ import annotations

import collections
import subprocess
from pathlib import Path

WORDNET = Path("/usr/share/wordnet")
LICENCE = Path("/usr/share/doc/wordnet-base/copyright")
KINDS = {18: "PERSON", 15: "LOC", 14: "ORG"}  # WordNet's lexicographer files


def lemmas(line: str) -> tuple[int, list[str]]:
    fields = line.split(" | ")[0].split()
    count = int(fields[3], 16)
    words = [fields[4 + 2 * i].replace("_", " ").split("(")[0] for i in range(count)]
    return int(fields[1]), words


def synsets(part: str) -> list[tuple[int, list[str]]]:
    text = (WORDNET / f"data.{part}").read_text(encoding="latin-1")
    return [lemmas(line) for line in text.splitlines() if not line.startswith("  ")]


def main() -> None:
    adjectives = {w.lower() for _, words in synsets("adj") for w in words}
    kinds: dict[str, set[str]] = collections.defaultdict(set)
    acronyms = set()
    for lexicographer_file, words in synsets("noun"):
        for word in words:
            if word[:1].isupper() and word.lower() not in adjectives:
                kinds[word.lower()].add(KINDS.get(lexicographer_file, "THING"))
                if word.isupper():
                    acronyms.add(word.lower())
    version = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "wordnet-base"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    print(f"# WordNet 3.0 from Debian wordnet-base {version}; licence:")
    for line in LICENCE.read_text(encoding="utf-8").splitlines():
        print(f"# {line}")
    for name in sorted(kinds):
        listed = kinds[name]
        if listed != {"THING"} or name in acronyms:
            print("\t".join(sorted(listed)) + "\t" + name)


if __name__ == "__main__":
    main()
