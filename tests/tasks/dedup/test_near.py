import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import rensa

from newsmill.schemas.tables import ARTICLES, DUPLICATES, MINHASH, PARAGRAPHS
from newsmill.tasks.dedup.exact import without_dropped
from newsmill.tasks.dedup.near import (
    ArticleChunk,
    LakeSignatures,
    Member,
    NearDupSettings,
    RunSignatures,
    band_keys,
    choose_canonical,
    cluster,
    compute_signatures,
    decide_near_duplicates,
    estimate_similarity,
    find_candidates,
    shingles,
)
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.records import Document
from tests.tasks.lake_runs import runs_row

SETTINGS = NearDupSettings()
RNG = random.Random(3)
VOCABULARY = [f"w{i}" for i in range(3000)]


def _article(words: int = 300) -> str:
    return " ".join(RNG.choices(VOCABULARY, k=words))


def _edit(text: str, share: float) -> str:
    words = text.split()
    for i in RNG.sample(range(len(words)), int(len(words) * share)):
        words[i] = "edited"
    return " ".join(words)


def _doc(i: int, text: str, published: datetime | None = None) -> Document:
    return Document(
        f"s{i}",
        f"{i:016x}",  # input and content hashes are xxh3-64 hex
        "text",
        "",
        paragraphs=[text],
        content_hash=f"{i + 100:016x}",
        published_at=published,
    )


def test_shingles_of_short_and_empty_texts() -> None:
    assert shingles("One two three four five six", 5) == [
        b"one two three four five",
        b"two three four five six",
    ]
    assert shingles("Too short", 5) == [b"too short"]
    assert shingles("  ...  ", 5) == []


def test_signatures_are_those_of_the_shingles_as_strings() -> None:
    """Shingles are built as UTF-8 bytes for speed; rensa must sign them as the strings
    they encode, or a lake's earlier signatures would stop matching."""
    texts = [
        "“Déjà vu”, said the café’s owner — naïve? No: 12½ km² of ‘straße’ and DŽungla_x.",
        "Ngân hàng Nhà nước công bố lãi suất mới vào thứ Hai. " * 3,
        "Москва\u00a0и\u2003Київ: «переговоры» продолжатся… Ελλάδα! हिन्दी समाचार आज।",
        "地铁十二号线今天开通，乘客很多。Line 12 号线 opens today for riders.",
        "a b",
    ]
    settings = NearDupSettings()
    for text, signature in zip(texts, compute_signatures(texts, settings), strict=True):
        as_strings = [shingle.decode() for shingle in shingles(text, settings.shingle_words)]
        minhash = rensa.RMinHash(settings.num_perm, settings.minhash_seed)
        minhash.update(as_strings)
        assert (signature == (np.array(minhash.digest(), dtype=np.uint32) & 0xFFFF)).all()


def test_near_copies_are_candidates_and_strangers_are_not() -> None:
    base = _article()
    texts = [
        base,
        _edit(base, 0.02),
        _edit(base, 0.05) + " " + _article(40),
        _article(),
        _article(),
    ]
    signatures = compute_signatures(texts, SETTINGS)
    pairs = find_candidates(band_keys(signatures, SETTINGS))
    assert {tuple(p) for p in pairs.tolist()} >= {(0, 1), (0, 2)}
    assert not {tuple(p) for p in pairs.tolist()} & {(0, 3), (0, 4), (3, 4), (1, 3)}
    similarity = estimate_similarity(signatures, np.array([[0, 1], [0, 3]]))
    assert similarity[0] > 0.7 and similarity[1] < 0.1


def test_empty_and_short_texts_are_not_matched_to_everything() -> None:
    texts = ["", "...", "Brief.", "Brief.", _article(), _article()]
    signatures = compute_signatures(texts, SETTINGS)
    pairs = {tuple(p) for p in find_candidates(band_keys(signatures, SETTINGS)).tolist()}
    assert pairs == {(2, 3)}  # only the identical short texts
    assert find_candidates(band_keys(compute_signatures([], SETTINGS), SETTINGS)).shape == (0, 2)


def test_a_bucket_of_many_copies_costs_linear_pairs() -> None:
    signatures = compute_signatures([_article()] * 500, SETTINGS)
    pairs = find_candidates(band_keys(signatures, SETTINGS))
    assert len(pairs) == 499 + 498  # each with the first, each with its neighbour
    assert len(set(cluster(500, pairs).tolist())) == 1


def test_every_pair_of_a_small_bucket_is_a_candidate() -> None:
    keys = np.array([[5], [5], [5], [0], [7], [9], [7]], dtype=np.uint64)
    assert {tuple(p) for p in find_candidates(keys).tolist()} == {(0, 1), (0, 2), (1, 2), (4, 6)}


# 8 permutations in 2 bands of 4, so signatures can be written out by hand
TINY = NearDupSettings(num_perm=8, bands=2, near_threshold=0.6)


def _signed_run(signatures: list[list[int]], days: list[int]) -> RunSignatures:
    run = RunSignatures(TINY)
    n = len(signatures)
    run.add_chunk(
        ArticleChunk(
            [f"doc{i}" for i in range(n)],
            [f"{i:016x}" for i in range(n)],
            np.full((n, 6), 100, dtype=np.int32),
            np.array([datetime(2024, 1, day, tzinfo=UTC).timestamp() for day in days]),
            np.array(signatures, dtype=np.uint16),
        )
    )
    return run


def test_two_copies_sharing_a_bucket_only_with_a_stranger_are_compared() -> None:
    """doc1 and doc2 agree on 7 of 8 positions but share only band 0, whose bucket doc0
    (a stranger to both: 4 of 8) opens; comparing each with the bucket's first missed them."""
    run = _signed_run(
        [[1, 1, 1, 1, 9, 9, 9, 9], [1, 1, 1, 1, 6, 6, 6, 7], [1, 1, 1, 1, 6, 6, 6, 8]],
        days=[1, 2, 3],
    )
    [dup] = decide_near_duplicates(run, _empty_lake_of(TINY))
    assert (dup.article.doc_id, dup.duplicate_of, dup.similarity) == ("doc2", "doc1", 0.875)


def test_a_copy_joined_through_another_points_at_its_closest_not_below_the_threshold() -> None:
    """doc0 ~ doc1 (0.75) and doc1 ~ doc2 (0.75), but doc0 and doc2 agree on only 0.5."""
    run = _signed_run(
        [[1, 1, 1, 1, 2, 2, 2, 2], [1, 1, 1, 1, 2, 2, 3, 3], [4, 4, 1, 1, 2, 2, 3, 3]],
        days=[1, 2, 3],
    )
    found = {d.article.doc_id: d for d in decide_near_duplicates(run, _empty_lake_of(TINY))}
    assert {k: (d.duplicate_of, d.similarity, d.cluster_id) for k, d in found.items()} == {
        "doc1": ("doc0", 0.75, "doc0"),
        "doc2": ("doc1", 0.75, "doc0"),  # not ("doc0", 0.5): below the threshold
    }


def test_cluster_joins_chains_into_components() -> None:
    labels = cluster(6, np.array([[0, 1], [1, 2], [4, 5]]))
    assert labels.tolist() == [0, 0, 0, 3, 4, 4]


def test_canonical_rule_lake_then_earliest_then_longest_then_first() -> None:
    early, late = datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 6, 1, tzinfo=UTC)
    assert (
        choose_canonical(
            [Member("a", False, early, 10, 0), Member("lake", True, late, 5, -1)]
        ).doc_id
        == "lake"
    )
    assert (
        choose_canonical(
            [Member("a", False, late, 900, 0), Member("b", False, early, 10, 1)]
        ).doc_id
        == "b"
    )
    assert (
        choose_canonical(
            [Member("a", False, None, 900, 0), Member("b", False, early, 10, 1)]
        ).doc_id
        == "b"
    )
    assert (
        choose_canonical([Member("a", False, None, 10, 0), Member("b", False, None, 90, 1)]).doc_id
        == "b"
    )
    assert (
        choose_canonical([Member("a", False, None, 10, 0), Member("b", False, None, 10, 1)]).doc_id
        == "a"
    )


def _empty_lake() -> LakeSignatures:
    return _empty_lake_of(SETTINGS)


def _empty_lake_of(settings: NearDupSettings) -> LakeSignatures:
    return LakeSignatures([], np.zeros((0, settings.num_perm), dtype=np.uint16), [], [])


def test_run_decisions_name_the_canonical_and_the_similarity() -> None:
    base = _article()
    run = RunSignatures(SETTINGS)
    docs = [
        _doc(0, base, datetime(2023, 5, 2, tzinfo=UTC)),
        _doc(1, _edit(base, 0.03), datetime(2023, 5, 1, tzinfo=UTC)),
        _doc(2, _article()),
    ]
    run.add(docs[:2])
    run.add(docs[2:])
    [dup] = decide_near_duplicates(run, _empty_lake())
    assert dup.article.n_words == 300
    assert (dup.article.doc_id, dup.duplicate_of, dup.cluster_id) == (
        docs[0].doc_id,
        docs[1].doc_id,
        docs[1].doc_id,
    )
    assert 0.6 < dup.similarity < 1.0  # 3% of words edited touch ~15% of 5-word shingles


def test_an_article_in_the_lake_stays_canonical_when_its_cluster_grows() -> None:
    base = _article()
    lake_signatures = compute_signatures([base], SETTINGS)
    lake = LakeSignatures(["yesterday"], lake_signatures, [datetime(2023, 5, 2, tzinfo=UTC)], [300])
    run = RunSignatures(SETTINGS)
    earlier_published = _doc(0, _edit(base, 0.02), datetime(2023, 5, 1, tzinfo=UTC))
    run.add([earlier_published])
    [dup] = decide_near_duplicates(run, lake)
    assert dup.duplicate_of == "yesterday" == dup.cluster_id


def test_clusters_made_only_of_lake_articles_are_left_alone() -> None:
    base = _article()
    signatures = compute_signatures([base, base], SETTINGS)
    lake = LakeSignatures(["a", "b"], signatures, [None, None], [300, 300])
    run = RunSignatures(SETTINGS)
    run.add([_doc(0, _article())])
    assert decide_near_duplicates(run, lake) == []


def test_lake_finds_related_signatures_and_drops_staged_rows(tmp_path) -> None:
    lake = Lake(tmp_path)
    texts = [_article(), _article()]
    signatures = compute_signatures(texts, SETTINGS)
    keys = band_keys(signatures, SETTINGS)
    writer = lake.start_run("r1")
    day = datetime(2026, 11, 28, tzinfo=UTC)
    writer.write(
        MINHASH,
        [
            {
                "doc_id": f"d{i}",
                "signature": signatures[i].tolist(),
                "band_keys": keys[i].tolist(),
                "published_at": None,
                "n_words": 300,
                "kernel": "k",
                "run_id": "r1",
                "run_date": day.date(),
            }
            for i in range(2)
        ],
    )
    writer.commit(runs_row("r1", day))
    query = band_keys(compute_signatures([_edit(texts[1], 0.02)], SETTINGS), SETTINGS)
    related = lake.related_signatures([query])
    assert related["doc_id"].to_pylist() == ["d1"]
    assert related.schema.equals(MINHASH.schema)
    assert lake.related_signatures([np.zeros((0, SETTINGS.bands), dtype=np.uint64)]).num_rows == 0

    writer = lake.start_run("r2", buffer_rows=1)
    writer.write(
        PARAGRAPHS,
        [
            {
                "doc_id": d,
                "position": 0,
                "text": "t",
                "paragraph_hash": "h",
                "n_words": 1,
                "run_id": "r2",
                "year": 2023,
                "month": 5,
            }
            for d in ("keep", "drop")
        ],
    )
    dup = {c.name: None for c in DUPLICATES.columns} | {
        "source": "s",
        "input_hash": "h",
        "similarity": 1.0,
        "content_hash": "c",
        "run_id": "r2",
        "run_date": day.date(),
    }
    writer.write(
        DUPLICATES,
        [
            dup
            | {"doc_id": "drop", "duplicate_of": "drop", "level": "paragraph", "method": "exact"},
            dup
            | {
                "doc_id": "copy",
                "duplicate_of": "drop",
                "level": "document",
                "method": "exact",
                "cluster_id": "drop",
            },
            dup
            | {
                "doc_id": "drop",
                "duplicate_of": "canon",
                "level": "document",
                "method": "near",
                "cluster_id": "canon",
            },
        ],
    )
    removed = writer.merge_parts(
        (ARTICLES, PARAGRAPHS, DUPLICATES), without_dropped({"drop": "canon"})
    )
    assert removed == 2
    staged = {
        p.relative_to(Path(writer.staging)).parts[0]: pq.read_table(p)
        for p in Path(writer.staging).rglob("*.parquet")
    }
    assert staged["paragraphs"]["doc_id"].to_pylist() == ["keep"]
    rows = sorted(
        zip(
            *(
                staged["duplicates"][c].to_pylist()
                for c in ("doc_id", "duplicate_of", "cluster_id", "level")
            ),
            strict=True,
        )
    )
    # the exact copy still names the document it copies; its cluster, the article kept
    assert rows == [("copy", "drop", "canon", "document"), ("drop", "canon", "canon", "document")]
