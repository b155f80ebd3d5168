"""A 2,000-document news corpus made here, the same on every machine: the golden check at
the scale of several shards (tests/test_golden.py). Sites with their boilerplate, names
and quotes, paragraphs pasted twice, exact and near copies across shards, a few other
languages and bad records. Its tables are recorded as a digest per table
(`expected/corpus.json`), not row by row."""

import json
import random
from pathlib import Path

DOCS = 2_000
FILES = 4  # one shard each (`shard_max_files=1`): copies cross shards
SEED = 18

PEOPLE = [
    "Maria Lopez", "John Okafor", "Anna Lindqvist", "Kim Shin-wook", "Sarah Jenkins",
    "Ahmed Hassan", "Émilie Durand", "Łucja Nowak", "Tomasz Wiśniewski", "Priya Raman",
    "David Cohen", "Grace Mwangi", "Luigi del Neri", "Hugh McGuire", "Olga Petrova",
]  # fmt: skip
ORGANISATIONS = [
    "the Refugee Council", "Kelvin plc", "Port Alder City Council", "the World Health Organization",
    "Leeds United", "the Football Association", "Northern Rail", "the Bank of England",
    "Greenfield Energy", "the Red Cross",
]  # fmt: skip
PLACES = ["Port Alder", "London", "Nairobi", "Seoul", "Mâcon", "Kyiv", "Texas", "Lagos", "Oslo"]
ROLES = ["a spokesman for", "the chief executive of", "a director at", "the head of"]
VERBS = ["said", "told reporters", "added", "warned", "explained"]
TOPICS = [
    "the budget for the coming year", "a new bridge over the river", "the closure of two schools",
    "rising rents in the city centre", "the results of the water survey", "the winter timetable",
    "plans for a solar farm", "the hospital waiting lists", "the rescue of a fishing crew",
]  # fmt: skip
QUOTES = [
    "We will not accept these cuts", "This is a good day for the city", "Nobody saw it coming",
    "The numbers speak for themselves", "We need more time", "It is too early to say",
]  # fmt: skip
BOILERPLATE = [
    "Subscribe to our newsletter for the latest stories.",
    "We use cookies to improve your experience. Accept all cookies.",
    "Share this article on social media.",
]
OTHER_LANGUAGES = [
    "Le conseil municipal a adopté le budget mardi après un long débat sur les écoles.",
    "Der Stadtrat hat am Dienstag nach langer Debatte den Haushalt beschlossen.",
    "El ayuntamiento aprobó el presupuesto el martes tras un largo debate.",
]


def write_corpus(folder: Path) -> list[Path]:
    """The corpus as `FILES` JSONL files in `folder`."""
    rng = random.Random(SEED)
    records: list[str] = []
    made: list[dict[str, str]] = []
    for n in range(DOCS):
        site = rng.randrange(12)
        if made and rng.random() < 0.08:  # an exact copy, elsewhere
            record = dict(rng.choice(made), id=f"d{n}", url=f"https://copy{site}.example/{n}")
        elif made and rng.random() < 0.08:  # a near copy: one sentence more
            record = dict(rng.choice(made), id=f"d{n}", url=f"https://near{site}.example/{n}")
            record["text"] += f"\n\n{_sentence(rng)}"
        else:
            record = _article(rng, n, site)
        made.append(record)
        records.append(json.dumps(record, ensure_ascii=False))
        if rng.random() < 0.01:  # truncated and empty records among them
            records.append(
                rng.choice(['{"id": "cut", "text": "The mayor', '{"id": "empty", "text": ""}'])
            )
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(FILES):
        path = folder / f"part-{i}.jsonl"
        path.write_text("\n".join(records[i::FILES]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _article(rng: random.Random, n: int, site: int) -> dict[str, str]:
    if rng.random() < 0.04:
        paragraphs = [" ".join(rng.choices(OTHER_LANGUAGES, k=3)) for _ in range(3)]
    else:
        paragraphs = [" ".join(_sentence(rng) for _ in range(rng.randint(2, 4)))]
        paragraphs += [" ".join(_sentence(rng) for _ in range(3)) for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.2:  # scraped text: a paragraph pasted twice
            paragraphs.insert(rng.randrange(len(paragraphs)), rng.choice(paragraphs))
        if site < 4:  # these sites repeat their banners on every page
            paragraphs.append(BOILERPLATE[site % len(BOILERPLATE)])
    day = 1 + n % 28
    return {
        "id": f"d{n}",
        "url": f"https://news{site}.example/2024/{1 + n % 12:02d}/{day:02d}/d{n}",
        "title": _topic_title(rng),
        "published": f"2024-{1 + n % 12:02d}-{day:02d}",
        "text": "\n\n".join(paragraphs),
    }


def _topic_title(rng: random.Random) -> str:
    return f"{rng.choice(PLACES)}: {rng.choice(TOPICS).capitalize()}"


def _sentence(rng: random.Random) -> str:
    person, organisation, place = rng.choice(PEOPLE), rng.choice(ORGANISATIONS), rng.choice(PLACES)
    return rng.choice(
        [
            f'"{rng.choice(QUOTES)}," {person} {rng.choice(VERBS)}.',
            f"{person}, {rng.choice(ROLES)} {organisation}, said {rng.choice(TOPICS)} would wait.",
            f"In {place}, {organisation} announced {rng.choice(TOPICS)} on Tuesday.",
            f'President {person} told reporters: "{rng.choice(QUOTES)}."',
            f"Residents of {place} met {person} to discuss {rng.choice(TOPICS)}.",
            f"{place.upper()} - {organisation.removeprefix('the ').capitalize()} reported "
            f"{rng.randint(2, 90)} cases on {rng.randint(1, 28)} March.",
        ]
    )
