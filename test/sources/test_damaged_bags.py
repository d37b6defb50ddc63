"""Damaged copies of real recordings (cut, bytes flipped, pages zeroed, files missing): every intact
message is read, the damage is reported with its position, the CLI exits 0 when anything was recovered.

Expected messages come from the intact file, read independently with the mcap library's stream reader
(chunk by chunk) or with sqlite3 directly."""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcap.reader import make_reader
from mcap.records import Channel, Chunk, Message
from mcap.stream_reader import StreamReader, breakup_chunk

from rerun_bridge.model.records import RawMessage
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sources.bag import open_bag
from test.conftest import ABITOBOT_BAG, NEATO_BAG, ROSBAG2_RESOURCES

ABITOBOT_MCAP = ABITOBOT_BAG / "rosbag2_2025_05_09-18_01_02_0.mcap"
NEATO_DB3 = NEATO_BAG / "obstacle-avoider_0.db3"
WBAG = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources"
Key = tuple[str, int, bytes]


@dataclass(frozen=True)
class IntactChunk:
    offset: int
    length: int
    payload_offset: int
    messages: list[Key]
    #: (offset of the message record within the chunk's records, its record length) per message.
    positions: list[tuple[int, int]]


def intact_chunks(path: Path) -> list[IntactChunk]:
    """The chunks of an intact file and their messages, read by the mcap library."""
    key = hashlib.sha256(path.read_bytes()).digest()
    if key not in _INTACT:
        _INTACT[key] = _read_intact_chunks(path)
    return _INTACT[key]


def _read_intact_chunks(path: Path) -> list[IntactChunk]:
    with path.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None
    indexes = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
    channels: dict[int, Channel] = dict(summary.channels)
    chunks = []
    with path.open("rb") as stream:
        records = [r for r in StreamReader(stream, emit_chunks=True).records if isinstance(r, Chunk)]
    for index, chunk in zip(indexes, records, strict=True):
        keys, positions, pos = [], [], 0
        for record in breakup_chunk(chunk, validate_crc=False):
            if isinstance(record, Channel):
                channels[record.id] = record
            if isinstance(record, Message):
                keys.append((channels[record.channel_id].topic, record.log_time, bytes(record.data)))
                positions.append((pos, 9 + 22 + len(record.data)))
            pos += _record_length(record)
        # Readers hand out each chunk's messages in log-time order (stable): so do the expectations.
        order = sorted(range(len(keys)), key=lambda i: keys[i][1])
        keys, positions = [keys[i] for i in order], [positions[i] for i in order]
        payload_offset = index.chunk_start_offset + 9 + 8 * 3 + 4 + 4 + len(chunk.compression) + 8
        chunks.append(
            IntactChunk(index.chunk_start_offset, index.chunk_length, payload_offset, keys, positions)
        )
    return chunks


def _record_length(record: object) -> int:
    from mcap.data_stream import RecordBuilder

    builder = RecordBuilder()
    record.write(builder)  # type: ignore[attr-defined]
    return len(builder.end())  # type: ignore[no-untyped-call]


def recovered(path: Path) -> tuple[list[Key], list[str]]:
    with open_bag(path) as bag:
        keys = [(m.topic, m.log_time_ns, bytes(m.data)) for m in bag.messages()]
        bag.topics()
        return keys, bag.problems


#: The rewritten recordings by compression, and intact files' chunks by content: made once per module.
_REWRITTEN: dict[str, bytes] = {}
_INTACT: dict[bytes, list[IntactChunk]] = {}


def rewritten(tmp_path: Path, compression: str) -> Path:
    """The Gazebo recording written again with small chunks of the given compression (the real messages,
    11 chunks instead of 4)."""
    target = tmp_path / f"abitobot_{compression}.mcap"
    if compression in _REWRITTEN:
        target.write_bytes(_REWRITTEN[compression])
        return target
    with (
        open_bag(ABITOBOT_BAG) as bag,
        McapSink(target, compression=compression, chunk_size=256 << 10) as sink,
    ):
        channels = {}
        for topic in bag.topics():
            assert topic.definition is not None
            channels[topic.name] = sink.add_topic(topic.name, topic.type_name, topic.definition)
        for message in bag.messages():
            sink.write(channels[message.topic], message.log_time_ns, message.publish_time_ns, message.data)
    _REWRITTEN[compression] = target.read_bytes()
    return target


@pytest.fixture(params=["recorded", "zstd", "lz4"])
def mcap_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The recording as rosbag2 wrote it (uncompressed chunks, no CRCs) and rewritten compressed."""
    if request.param == "recorded":
        target = tmp_path / "abitobot.mcap"
        shutil.copy(ABITOBOT_MCAP, target)
        return target
    return rewritten(tmp_path, request.param)


def _damaged(tmp_path: Path, data: bytes | bytearray) -> Path:
    target = tmp_path / "damaged.mcap"
    target.write_bytes(bytes(data))
    return target


def test_cut_at_a_chunk_boundary_keeps_the_chunks_before(tmp_path: Path, mcap_file: Path) -> None:
    chunks = intact_chunks(mcap_file)
    cut_at = chunks[2].offset
    keys, problems = recovered(_damaged(tmp_path, mcap_file.read_bytes()[:cut_at]))
    assert keys == chunks[0].messages + chunks[1].messages
    # In words: the mcap library's own ("unknown (opcode 204) record has length ...", or nothing) was
    # passed on (audit).
    (summary,) = [p for p in problems if "damaged.mcap" in p and "no readable summary" in p]
    assert f"(it does not end with MCAP's closing magic bytes: cut at byte {cut_at}, or still" in summary


def test_a_file_cut_after_its_header_says_so(tmp_path: Path) -> None:
    # The mcap library's error for it was "[Errno 22] Invalid argument" (a seek before the start).
    keys, problems = recovered(_damaged(tmp_path, ABITOBOT_MCAP.read_bytes()[:8]))
    assert keys == []
    assert any("ends after its 8-byte header" in problem for problem in problems), problems
    assert not any("Errno" in problem for problem in problems), problems


def test_cut_inside_a_chunk_keeps_its_whole_messages(tmp_path: Path, mcap_file: Path) -> None:
    chunks = intact_chunks(mcap_file)
    chunk = chunks[2]
    cut_at = chunk.offset + chunk.length // 2
    keys, problems = recovered(_damaged(tmp_path, mcap_file.read_bytes()[:cut_at]))
    before = chunks[0].messages + chunks[1].messages
    assert keys[: len(before)] == before
    tail = keys[len(before) :]
    assert set(tail) <= set(chunk.messages)
    if "recorded" in mcap_file.name or mcap_file.name == "abitobot.mcap":
        # Uncompressed: exactly the messages whose records end before the cut.
        whole = [
            key
            for key, (pos, length) in zip(chunk.messages, chunk.positions, strict=True)
            if chunk.payload_offset + pos + length <= cut_at
        ]
        assert sorted(tail, key=lambda k: k[1]) == sorted(whole, key=lambda k: k[1])
    assert any(f"chunk at byte {chunk.offset}" in p and "the file is cut there, or" in p for p in problems)


@pytest.mark.parametrize("compression", ["zstd", "lz4"])
@pytest.mark.parametrize("with_summary", [True, False], ids=["summary", "cut"])
@pytest.mark.parametrize("seed", range(4))
def test_flipped_byte_in_a_compressed_chunk_costs_at_most_that_chunk(
    tmp_path: Path, compression: str, with_summary: bool, seed: int
) -> None:
    source = rewritten(tmp_path, compression)
    chunks = intact_chunks(source)
    rng = random.Random(seed)
    damaged_index = rng.randrange(1, len(chunks) - 1)
    chunk = chunks[damaged_index]
    data = bytearray(source.read_bytes())
    flip_at = rng.randrange(chunk.payload_offset + 16, chunk.offset + chunk.length)
    data[flip_at] ^= 1 << rng.randrange(8)
    if not with_summary:
        data = data[: chunks[-1].offset + chunks[-1].length]  # the summary and footer gone too
    keys, problems = recovered(_damaged(tmp_path, data))
    others = [key for i, c in enumerate(chunks) if i != damaged_index for key in c.messages]
    other_keys = set(others)
    assert other_keys <= set(keys)
    from_damaged = [key for key in keys if key not in other_keys]
    assert len(from_damaged) <= len(chunk.messages)
    report = [p for p in problems if f"chunk at byte {chunk.offset}" in p]
    assert len(report) == 1, problems
    assert re.search(r"recovered", report[0])
    if with_summary:
        assert f"of its {len(chunk.messages)} messages recovered" in report[0]


def test_garbage_over_a_chunk_header_skips_to_the_next_chunk(tmp_path: Path) -> None:
    source = rewritten(tmp_path, "zstd")
    chunks = intact_chunks(source)
    data = bytearray(source.read_bytes()[: chunks[-1].offset + chunks[-1].length])
    data[chunks[3].offset : chunks[3].offset + 40] = b"\xee" * 40
    keys, problems = recovered(_damaged(tmp_path, data))
    expected = [key for i, c in enumerate(chunks) if i != 3 for key in c.messages]
    assert keys == expected
    assert any(f"bytes {chunks[3].offset}.." in p and "skipped" in p for p in problems), problems


def test_missing_split_file_and_metadata(tmp_path: Path) -> None:
    bag = tmp_path / "wbag"
    shutil.copytree(WBAG / "mcap" / "wbag", bag)
    (bag / "wbag_2.mcap").unlink()
    with open_bag(bag) as opened:
        count = sum(1 for _ in opened.messages())
        assert any("wbag_2.mcap" in p and "lost" in p for p in opened.problems)
    expected = sum(intact_count(WBAG / "mcap" / "wbag" / f"wbag_{i}.mcap") for i in (0, 1, 3, 4))
    assert count == expected
    (bag / "metadata.yaml").unlink()
    with open_bag(bag) as opened:
        assert sum(1 for _ in opened.messages()) == expected
        assert any("no metadata.yaml" in p for p in opened.problems)


def intact_count(path: Path) -> int:
    return sum(len(c.messages) for c in intact_chunks(path))


def _sqlite_rows(path: Path) -> dict[int, tuple[int, bytes]]:
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return {
            row_id: (ts, bytes(data))
            for row_id, ts, data in db.execute("SELECT id, timestamp, data FROM messages")
        }
    finally:
        db.close()


def test_zeroed_sqlite_page_loses_only_its_rows(tmp_path: Path) -> None:
    rows = _sqlite_rows(NEATO_DB3)
    data = bytearray(NEATO_DB3.read_bytes())
    page_size = 4096
    middle = sorted(rows)[len(rows) // 2]
    page = data.find(rows[middle][1][:64]) // page_size
    data[page * page_size : (page + 1) * page_size] = bytes(page_size)
    bag_dir = tmp_path / "neato"
    bag_dir.mkdir()
    (bag_dir / NEATO_DB3.name).write_bytes(bytes(data))
    with open_bag(bag_dir / NEATO_DB3.name) as bag:
        got = [(m.log_time_ns, bytes(m.data)) for m in bag.messages()]
        problems = bag.problems
        counted = sum(t.message_count for t in bag.topics())
    intact_values = list(rows.values())
    assert all(value in intact_values for value in got)
    lost = [row_id for row_id, value in rows.items() if value not in got]
    assert lost
    assert len(lost) < 100
    page_bytes = NEATO_DB3.read_bytes()[page * page_size : (page + 1) * page_size]
    assert all(page_bytes.find(rows[row_id][1][:16]) >= 0 for row_id in lost)  # each lost row was on it
    assert counted == len(got) == len(rows) - len(lost)
    assert [t for t, _ in got] == sorted(t for t, _ in got)
    assert any(f"rows {min(lost)}..{max(lost)}" in p and "damaged pages" in p for p in problems), problems


@pytest.mark.parametrize("cut_pages", [1, 200])
def test_cut_sqlite_file_keeps_the_rows_on_the_pages_it_still_has(tmp_path: Path, cut_pages: int) -> None:
    """SQLite refuses a file shorter than its header's page count as a whole ("malformed", its schema
    too): the bag used to be "not a readable sqlite3 bag", every message lost."""
    rows = _sqlite_rows(NEATO_DB3)
    intact = NEATO_DB3.read_bytes()
    page_size = 4096
    cut_at = len(intact) - cut_pages * page_size
    bag_file = tmp_path / NEATO_DB3.name
    bag_file.write_bytes(intact[:cut_at])
    with open_bag(bag_file) as bag:
        got = [(m.log_time_ns, bytes(m.data)) for m in bag.messages()]
        problems = bag.problems
        counted = sum(t.message_count for t in bag.topics())
    intact_values = list(rows.values())
    assert all(value in intact_values for value in got)
    # Every row whose data lies in the part that is left is read (rows big enough to be found by their
    # bytes: scans and clouds; an 8-byte bump message matches anywhere).
    big = [value for value in rows.values() if len(value[1]) >= 1024]
    kept = [value for value in big if 0 <= intact.find(value[1][:256]) < cut_at - 256]
    assert kept
    assert set(kept) <= set(got)
    assert counted == len(got) < len(rows)
    assert [t for t, _ in got] == sorted(t for t, _ in got)
    pages = len(intact) // page_size
    assert (
        f"{bag_file}: cut off at byte {cut_at} ({pages - cut_pages} whole pages of the {pages} its header"
        in (problems[0])
    )


def test_wal_left_by_a_killed_recorder_is_replayed_up_to_its_damage(tmp_path: Path) -> None:
    rows = sorted(_sqlite_rows(NEATO_DB3).items())
    keep = len(rows) // 2
    base = tmp_path / "base.db3"
    shutil.copy(NEATO_DB3, base)
    with sqlite3.connect(base) as db:
        db.execute("DELETE FROM messages WHERE id > ?", (rows[keep - 1][0],))
    db.close()
    db = sqlite3.connect(base, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    topic = db.execute("SELECT topic_id FROM messages LIMIT 1").fetchone()[0]
    transactions, wal_sizes = [rows[keep : keep + 200], rows[keep + 200 : keep + 400], rows[keep + 400 :]], []
    for batch in transactions:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO messages (id, topic_id, timestamp, data) VALUES (?, ?, ?, ?)",
            [(row_id, topic, ts, data) for row_id, (ts, data) in batch],
        )
        db.execute("COMMIT")
        wal_sizes.append(Path(f"{base}-wal").stat().st_size)
    killed = tmp_path / "killed"
    killed.mkdir()
    shutil.copy(base, killed / "bag_0.db3")  # copied while the writer still holds the log: a kill
    wal = bytearray(Path(f"{base}-wal").read_bytes())
    db.close()
    wal[(wal_sizes[0] + wal_sizes[1]) // 2] ^= 0x40  # inside the second transaction's frames
    (killed / "bag_0.db3-wal").write_bytes(bytes(wal))
    with open_bag(killed / "bag_0.db3") as bag:
        got = [bytes(m.data) for m in bag.messages()]
        problems = bag.problems
    expected = [data for _id, (_ts, data) in rows[: keep + 200]]
    assert sorted(got) == sorted(expected)
    assert any("bag_0.db3-wal" in p and "lost" in p and "byte" in p for p in problems), problems
    assert (killed / "bag_0.db3-wal").read_bytes() == bytes(wal)  # the original is untouched


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rerun_bridge.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_convert_and_info_recover_and_report(tmp_path: Path) -> None:
    source = rewritten(tmp_path, "lz4")
    chunks = intact_chunks(source)
    data = bytearray(source.read_bytes())
    data[chunks[4].payload_offset + 100] ^= 0xFF
    damaged = _damaged(tmp_path, data)
    info = _cli("info", "--check", str(damaged))
    assert info.returncode == 1, info.stderr  # damage found: a script can tell (it was 0: audit)
    assert f"chunk at byte {chunks[4].offset}" in info.stderr
    total = sum(len(c.messages) for c in chunks)
    assert f"{total - len(chunks[4].messages)} messages" in info.stdout or f"{total} messages" in info.stdout
    assert "no damage found" not in info.stdout
    # An intact file says so (plain `info` and `info --check` printed the same).
    intact = _cli("info", "--check", str(source))
    assert intact.returncode == 0, intact.stderr
    assert f"checked: every message of {source} reads, no damage found" in intact.stdout
    converted = _cli("convert", str(damaged), "-o", str(tmp_path / "out.rrd"), "--quiet")
    assert converted.returncode == 0, converted.stderr
    assert f"chunk at byte {chunks[4].offset}" in converted.stderr
    nothing = _damaged(tmp_path, source.read_bytes()[: chunks[0].offset + 20])
    failed = _cli("convert", str(nothing), "-o", str(tmp_path / "none.rrd"), "--quiet")
    assert failed.returncode == 1
    assert "damaged.mcap" in failed.stderr


def test_recovered_messages_are_raw_messages(tmp_path: Path) -> None:
    """Messages salvaged from a damaged chunk are ordinary RawMessages of the bag's topics."""
    source = rewritten(tmp_path, "zstd")
    chunks = intact_chunks(source)
    data = bytearray(source.read_bytes())
    data[chunks[1].payload_offset + 40] ^= 0x10
    with open_bag(_damaged(tmp_path, data)) as bag:
        topics = {t.name for t in bag.topics()}
        messages = list(bag.messages())
    assert all(isinstance(m, RawMessage) and m.topic in topics for m in messages)
    assert [m.log_time_ns for m in messages] == sorted(m.log_time_ns for m in messages)


def test_viewer_loads_what_a_cut_bag_holds_and_lists_the_damage(tmp_path: Path) -> None:
    """The viewer's loading goes through the same readers: the recovered messages are in its store,
    the damage among its warnings."""
    from rerun_bridge.viewer.sources import load_files

    source = rewritten(tmp_path, "zstd")
    chunks = intact_chunks(source)
    cut_at = chunks[5].offset + chunks[5].length // 3
    loaded = load_files([_damaged(tmp_path, source.read_bytes()[:cut_at])])
    assert any(f"chunk at byte {chunks[5].offset}" in w for w in loaded.warnings), loaded.warnings
    imu_before_cut = sum(1 for c in chunks[:5] for key in c.messages if key[0] == "/imu/data")
    assert imu_before_cut > 1000
    imu_rows = max(loaded.store.num_rows(entity) for entity in loaded.store.entities() if "imu" in entity)
    assert imu_rows >= imu_before_cut


def abitobot_with_metadata(tmp_path: Path, before: str, after: str) -> tuple[Path, Path]:
    """A copy of the abitobot bag with ``before`` replaced by ``after`` in its metadata.yaml: the folder
    and its metadata file."""
    bag = tmp_path / "abitobot"
    shutil.copytree(ABITOBOT_BAG, bag)
    metadata = bag / "metadata.yaml"
    text = metadata.read_text(encoding="utf-8")
    assert before in text
    metadata.write_text(text.replace(before, after, 1), encoding="utf-8")
    return bag, metadata


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        ("  version: 9", "  version: abc", "version: expected an integer, got 'abc'"),
        ("  message_count: 6578", "  message_count: many", "message_count: expected an integer, got 'many'"),
        ("    nanoseconds: 95226750409", "    nanoseconds: x", "duration.nanoseconds: expected an integer"),
        (
            "relative_file_paths:\n    - rosbag2_2025_05_09-18_01_02_0.mcap",
            "relative_file_paths: rosbag2_2025_05_09-18_01_02_0.mcap",
            "relative_file_paths: expected a list",
        ),
    ],
)
def test_a_metadata_field_of_the_wrong_kind_is_named_and_the_files_read(
    tmp_path: Path, before: str, after: str, said: str
) -> None:
    """A field that is not a number was a traceback of every command; a file name given as a string was
    read letter by letter (audit). One problem naming the key, and the folder's files are read."""
    bag, metadata = abitobot_with_metadata(tmp_path, before, after)
    with open_bag(bag) as opened:
        assert sum(1 for _ in opened.messages()) == 6578
        assert any(f"{metadata}: {said}" in problem for problem in opened.problems), opened.problems


def test_a_file_listed_twice_is_read_once(tmp_path: Path) -> None:
    """Listed twice in metadata.yaml, every message was converted twice, without a word (audit)."""
    listed = "relative_file_paths:\n    - rosbag2_2025_05_09-18_01_02_0.mcap"
    bag, _metadata = abitobot_with_metadata(
        tmp_path, listed, listed + "\n    - ./rosbag2_2025_05_09-18_01_02_0.mcap"
    )
    with open_bag(bag) as opened:
        assert sum(1 for _ in opened.messages()) == 6578
        assert any(
            "lists a file more than once, read once: './rosbag2_2025_05_09-18_01_02_0.mcap'" in p
            for p in opened.problems
        )


def test_a_storage_metadata_gets_wrong_is_read_as_the_file_says(tmp_path: Path) -> None:
    """metadata.yaml's storage_identifier sqlite3 on an MCAP file: "not a readable sqlite3 bag", with no
    word of the disagreement (audit)."""
    bag, _metadata = abitobot_with_metadata(
        tmp_path, "storage_identifier: mcap", "storage_identifier: sqlite3"
    )
    with open_bag(bag) as opened:
        assert sum(1 for _ in opened.messages()) == 6578
        assert any(
            "metadata.yaml says storage 'sqlite3', the file is mcap: read as mcap" in p
            for p in opened.problems
        )
