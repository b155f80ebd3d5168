"""Output changes only with a rule version: the golden inputs must make exactly the rows
recorded in tests/golden/expected while every version in `RULE_VERSIONS` is the one
recorded with them. Changed rules: bump their version, then `python -m tests.golden --update`."""

import json
from pathlib import Path

import pytest

from newsmill.flows.settings import Settings
from newsmill.tasks.versions import RULE_VERSIONS
from tests.golden.run import CORPUS_DIGESTS, corpus_tables, digests, golden_tables, read_expected

UPDATE = "python -m tests.golden --update"


@pytest.fixture(scope="module")
def actual(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    return golden_tables(tmp_path_factory.mktemp("golden") / "lake")


def test_output_changes_only_with_a_rule_version(actual: dict[str, list[dict]]) -> None:
    recorded_versions, expected = read_expected()
    changed = {name: _first_difference(expected[name], rows) for name, rows in actual.items()}
    changed = {name: diff for name, diff in changed.items() if diff}
    bumped = {s: v for s, v in RULE_VERSIONS.items() if recorded_versions.get(s) != v}
    if bumped:
        pytest.fail(f"rule versions changed {bumped}: review the new output, then run {UPDATE}")
    assert not changed, (
        "output changed while every rule version stayed the same: bump the version of the "
        f"rules you changed (tasks/versions.py lists them), then run {UPDATE}\n"
        + "\n".join(f"{name}: {diff}" for name, diff in changed.items())
    )


def test_a_generated_corpus_makes_the_recorded_tables(tmp_path: Path) -> None:
    """The same at the scale of several shards: 2,000 generated documents (exact and near
    copies across shards, pasted paragraphs, banners, names, quotes, bad records) make
    tables whose digests are recorded. An optimisation must leave them as they are."""
    recorded_versions, _ = read_expected()
    if any(recorded_versions.get(s) != v for s, v in RULE_VERSIONS.items()):
        pytest.fail(f"rule versions changed: review the new output, then run {UPDATE}")
    recorded = json.loads(CORPUS_DIGESTS.read_text())
    made = digests(corpus_tables(tmp_path))
    changed = {name: (recorded.get(name), digest) for name, digest in made.items()}
    changed = {name: pair for name, pair in changed.items() if pair[0] != pair[1]}
    assert not changed, (
        "the corpus's tables changed while every rule version stayed the same: bump the "
        f"version of the rules you changed (tasks/versions.py lists them), then run {UPDATE}\n"
        + "\n".join(f"{name}: recorded {r}, made {m}" for name, (r, m) in changed.items())
    )


def test_every_rule_set_is_in_the_pipeline_version() -> None:
    from newsmill.tasks.versions import PIPELINE_VERSION

    assert all(version in PIPELINE_VERSION.split("; ") for version in RULE_VERSIONS.values())
    assert len(set(RULE_VERSIONS.values())) == len(RULE_VERSIONS)


def test_every_document_duplicate_tells_what_it_copies_and_what_was_kept(
    actual: dict[str, list[dict]],
) -> None:
    """On the golden inputs (a story, its identical copy and a longer rewrite among them):
    an exact copy names a document with its very content, a near copy one at least
    `near_threshold` similar, and the cluster the article kept."""
    articles = {row["doc_id"]: row for row in actual["articles"]}
    documents = [row for row in actual["duplicates"] if row["level"] == "document"]
    content = {row["doc_id"]: row["content_hash"] for row in [*articles.values(), *documents]}
    threshold = Settings().shard.near.near_threshold
    for row in documents:
        assert row["cluster_id"] in articles, row
        assert row["duplicate_of"] in content, row
        if row["method"] == "exact":
            assert (content[row["duplicate_of"]], row["similarity"]) == (row["content_hash"], 1.0)
        else:
            assert row["method"] == "near" and threshold <= row["similarity"] < 1.0, row
    by_doc = {row["doc_id"]: row for row in documents}
    story, copy = by_doc["doc:inputs/story.txt"], by_doc["doc:inputs/story-copy.txt"]
    assert (story["method"], story["duplicate_of"]) == ("exact", "doc:inputs/story-copy.txt")
    assert (copy["method"], copy["duplicate_of"]) == ("near", "doc:inputs/story-rewrite.txt")
    assert story["cluster_id"] == copy["cluster_id"] == "doc:inputs/story-rewrite.txt"


def _first_difference(expected: list[dict], actual: list[dict]) -> str:
    if expected == actual:
        return ""
    if len(expected) != len(actual):
        return f"{len(expected)} rows expected, {len(actual)} made"
    row = next(i for i, (e, a) in enumerate(zip(expected, actual, strict=True)) if e != a)
    columns = [c for c in expected[row] if expected[row][c] != actual[row].get(c)]
    return f"row {row}: expected {json.dumps({c: expected[row][c] for c in columns}, ensure_ascii=False)}, made {json.dumps({c: actual[row].get(c) for c in columns}, ensure_ascii=False)}"
