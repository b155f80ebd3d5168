import json
import os
import socket
from pathlib import Path

from newsmill.tasks.ingest.read import ReadSettings, read_part
from newsmill.tasks.ingest.sources import (
    FilePart,
    Shard,
    SourceFile,
    discover_sources,
    number_lines,
    plan_shards,
)
from newsmill.tasks.records import Document


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.txt").write_text("one")
    (tmp_path / "a" / "b" / "two.html").write_text("<p>two</p>")
    (tmp_path / "a" / ".hidden.txt").write_text("hidden")
    (tmp_path / "a" / ".git").mkdir()
    (tmp_path / "a" / ".git" / "config.txt").write_text("x")
    (tmp_path / "z.jsonl").write_text("{}\n")
    return tmp_path


def test_discover_walks_folders_skips_hidden_and_dedups(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    found = discover_sources([str(root / "a"), str(root / "a" / "one.txt"), str(root / "*.jsonl")])
    names = [Path(f.path).name for f in found.files]
    assert names == ["two.html", "one.txt", "z.jsonl"]  # sorted by full path: a/b/ before a/o
    assert found.unmatched == []
    walked = {Path(f.path).name: f.explicit for f in found.files}
    assert walked == {"one.txt": True, "two.html": False, "z.jsonl": True}


def test_discover_reports_arguments_that_match_nothing(tmp_path: Path) -> None:
    found = discover_sources([str(tmp_path / "missing.txt"), str(tmp_path / "*.nothing")])
    assert found.files == []
    assert found.unmatched == [str(tmp_path / "missing.txt"), str(tmp_path / "*.nothing")]


def test_large_jsonl_is_split_on_line_boundaries_keeping_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    lines = [
        json.dumps({"id": i, "text": f"record number {i} " + "word " * (i % 37)})
        for i in range(1, 501)
    ]
    lines.insert(100, "")  # a blank line shifts every later line number by one
    path.write_text("\n".join(lines) + "\n")
    files = discover_sources([str(path)]).files
    shards = plan_shards(files, shard_bytes=4096, shard_max_files=10)
    assert len(shards) > 5
    docs = [d for s in number_lines(shards) for p in s.parts for d in read_part(p, ReadSettings())]
    assert all(isinstance(d, Document) for d in docs)
    by_line = {d.line_number: d.external_id for d in docs if isinstance(d, Document)}
    expected = {n: json.loads(line)["id"] for n, line in enumerate(lines, start=1) if line}
    assert by_line == {n: str(i) for n, i in expected.items()}


def _cut_on_lines(data: bytes, target: int) -> list[tuple[int, int, int]]:
    """(start, end, first line) of each part: what the plan did when it read every byte."""
    parts, start, line = [], 0, 1
    while start < len(data):
        end = start + target
        if end < len(data) and data[end - 1 : end] != b"\n":
            newline = data.find(b"\n", end)
            end = len(data) if newline == -1 else newline + 1
        end = min(end, len(data))
        parts.append((start, end, line))
        line += data[start:end].count(b"\n")
        start = end
    return parts


def test_jsonl_parts_are_cut_where_a_full_read_cuts_them_and_numbered_when_handed_out(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.jsonl"
    # lines of many lengths, a blank one, a long one and no newline at the end: cuts fall
    # inside lines, just after a newline and inside the last line
    records = [json.dumps({"id": i, "text": "w" * (i * 7 % 53)}) for i in range(200)]
    records[50] = ""
    records[120] = json.dumps({"id": 120, "text": "long " * 400})
    data = "\n".join(records).encode()
    path.write_bytes(data)
    [file] = discover_sources([str(path)]).files
    for shard_bytes in (97, 512, 1000, 4096, len(data) // 3):
        shards = plan_shards([file], shard_bytes, shard_max_files=10)
        parts = [part for shard in shards for part in shard.parts]
        pieces = -(-len(data) // shard_bytes)
        expected = _cut_on_lines(data, -(-len(data) // pieces))
        assert [(p.start, p.end) for p in parts] == [(s, e) for s, e, _ in expected]
        # the plan counts no line: only the first part knows where it starts
        assert [p.first_line for p in parts] == [1] + [None] * (len(parts) - 1)
        numbered = [part for shard in number_lines(shards) for part in shard.parts]
        assert [p.first_line for p in numbered] == [line for _, _, line in expected]
        # a later shard asked for first, then an earlier one: each still counted right
        backwards = [next(iter(number_lines([shard]))) for shard in shards[::-1]][::-1]
        assert [s.parts[0].first_line for s in backwards] == [line for _, _, line in expected]
        out_of_order = list(number_lines([shards[-1], shards[0], *shards[1:]]))
        assert out_of_order[0].parts[0].first_line == expected[-1][2]
        assert [s.parts[0].first_line for s in out_of_order[1:]] == [
            line for _, _, line in expected
        ]


def test_a_large_jsonl_file_is_cut_into_the_fewest_equal_shards(tmp_path: Path) -> None:
    """Full shards and a remainder left one worker alone with the last full shard."""
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": "word " * 20}) + "\n" for i in range(300)))
    line = len(path.read_bytes()) // 300
    shard_bytes = len(path.read_bytes()) * 2 // 5  # 2.5 shards' worth: 3 shards
    [file] = discover_sources([str(path)]).files
    sizes = [
        part.end - part.start
        for shard in plan_shards([file], shard_bytes, shard_max_files=10)
        for part in shard.parts
    ]
    assert len(sizes) == 3 and sum(sizes) == file.size
    assert max(sizes) - min(sizes) <= 2 * line


def test_small_files_are_grouped_up_to_the_limits(tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"{i}.txt").write_text("x" * 100)
    files = discover_sources([str(tmp_path)]).files
    shards = plan_shards(files, shard_bytes=250, shard_max_files=10)
    assert [len(s.parts) for s in shards] == [3, 3, 1]
    shards = plan_shards(files, shard_bytes=10_000, shard_max_files=2)
    assert [len(s.parts) for s in shards] == [2, 2, 2, 1]


def test_files_under_the_lake_are_never_inputs(tmp_path: Path) -> None:
    (tmp_path / "lake" / "articles").mkdir(parents=True)
    (tmp_path / "lake" / "articles" / "part.txt").write_text("x")
    (tmp_path / "a.txt").write_text("a")
    found = discover_sources([str(tmp_path)], exclude=tmp_path / "lake")
    assert [Path(f.path).name for f in found.files] == ["a.txt"]


def test_sources_on_s3_are_found_like_local_ones_and_their_changes_seen(bucket: str) -> None:
    import s3fs

    from newsmill.tasks.ingest.sources import version_marker

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.pipe(
        {
            f"{bucket}/in/a.txt": b"one",
            f"{bucket}/in/sub/b.jsonl": b"{}\n",
            f"{bucket}/in/_hidden/c.txt": b"x",
            f"{bucket}/in/.d.txt": b"x",
        }
    )
    folder = discover_sources([f"{bucket}/in"])
    assert [(f.path, f.size, f.explicit) for f in folder.files] == [
        (f"{bucket}/in/a.txt", 3, False),
        (f"{bucket}/in/sub/b.jsonl", 3, False),
    ]
    globbed = discover_sources([f"{bucket}/in/**/*.jsonl", f"{bucket}/nothing-here"])
    assert [f.path for f in globbed.files] == [f"{bucket}/in/sub/b.jsonl"]
    assert globbed.unmatched == [f"{bucket}/nothing-here"]

    before = version_marker(f"{bucket}/in/a.txt")
    fs.pipe(f"{bucket}/in/a.txt", b"two")  # same size, new content
    assert before and version_marker(f"{bucket}/in/a.txt") != before


def test_a_large_jsonl_on_s3_is_cut_and_numbered_like_a_local_one(
    bucket: str, tmp_path: Path
) -> None:
    import s3fs

    records = [json.dumps({"id": i, "text": "w" * (i * 11 % 61)}) for i in range(400)]
    records[77] = ""
    data = ("\n".join(records) + "\n").encode()
    s3fs.S3FileSystem(skip_instance_cache=True).pipe(f"{bucket}/big.jsonl", data)
    (tmp_path / "big.jsonl").write_bytes(data)
    cut = []
    for source in (f"{bucket}/big.jsonl", str(tmp_path / "big.jsonl")):
        shards = number_lines(plan_shards(discover_sources([source]).files, 2048, 10))
        cut.append([(p.start, p.end, p.first_line) for s in shards for p in s.parts])
    assert len(cut[0]) > 5 and cut[0] == cut[1]


def test_fifos_sockets_and_symlink_loops_are_no_inputs_and_never_block(tmp_path: Path) -> None:
    """Reading a FIFO would wait forever and a symlink loop never ends; neither is a file."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "story.txt").write_text("The ferry leaves at nine.")
    os.mkfifo(folder / "pipe.txt")
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(folder / "socket.txt"))
        (folder / "loop-a.txt").symlink_to(folder / "loop-b.txt")
        (folder / "loop-b.txt").symlink_to(folder / "loop-a.txt")
        (folder / "sub").mkdir()
        (folder / "sub" / "up").symlink_to(folder)  # a folder that contains itself
        found = discover_sources([str(folder)])
        assert [Path(f.path).name for f in found.files] == ["story.txt"]
        named = [str(folder / n) for n in ("pipe.txt", "socket.txt", "loop-a.txt")]
        assert discover_sources(named).unmatched == named


def test_a_shard_is_labelled_by_what_it_reads() -> None:
    """Task runs were named `process-shard-602`: nothing to find the inputs by."""
    export = SourceFile("/data/exports.jsonl", 40 << 20, True)
    part = FilePart(export, 8 << 20, 16 << 20, 20_001)
    assert Shard(2, (part,)).label(8) == "shard 3/8 · exports.jsonl[8-16MB]"
    files = tuple(FilePart(SourceFile(f"/in/{n}.txt", 10, False)) for n in range(42))
    assert Shard(0, files).label(1) == "shard 1/1 · 0.txt +41 files"
    small = FilePart(export, 0, 300_000, 1)
    assert Shard(0, (small,)).label(5) == "shard 1/5 · exports.jsonl[0.00-0.29MB]"


def test_names_starting_with_an_underscore_are_skipped_when_walking(tmp_path: Path) -> None:
    """The README says so; `_x.txt` was ingested (Spark's `_SUCCESS`, `_metadata`, …)."""
    for name in ("story.txt", "_x.txt", "_SUCCESS", ".hidden.txt", "_drafts/a.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("The ferry sails at dawn.")
    found = discover_sources([str(tmp_path)]).files
    assert [Path(f.path).name for f in found] == ["story.txt"]
    # named on the command line, it is read: the user asked for it
    assert len(discover_sources([str(tmp_path / "_x.txt")]).files) == 1
