"""`rerun-bridge repair` on real .rrd and .mcap files cut where a kill or a full disk cuts them."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import rerun.chunk as rrc
import rerun_bindings

from rerun_bridge.cli import main
from rerun_bridge.errors import RecordingError
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.model.rows import Row
from rerun_bridge.repair import repair, rrd_frames
from rerun_bridge.replay import convert_bags
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sinks.rrd import RrdSink
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.viewer.sources import load_files
from test.conftest import ROSBAG2_RESOURCES, verify_rrd
from test.sources.test_damaged_bags import intact_chunks

DEFINITION = MessageDefinition("ros2msg", "string data")


def _write_rrd(path: Path, batches: int) -> None:
    with RrdSink(path, recording_id="repair-test", batch_rows=1) as sink:
        for index in range(batches):
            values = np.full(2000, float(index))
            sink.write([Row("/values", "Scalars", {"scalars": values})], {"frame": index})
            sink.flush()


def _values(path: Path) -> list[float]:
    out: list[float] = []
    for chunk in rrc.RrdReader(str(path)).stream().to_chunks():
        batch = chunk.to_record_batch()
        if str(chunk.entity_path) == "/values":
            out += [float(np.asarray(row)[0]) for row in batch.column("Scalars:scalars").to_pylist()]
    return sorted(out)


@pytest.mark.parametrize("fraction", [0.3, 0.55, 0.8, 0.97])
def test_a_cut_rrd_is_rewritten_with_a_footer_and_every_complete_chunk(
    tmp_path: Path, fraction: float
) -> None:
    whole = tmp_path / "whole.rrd"
    _write_rrd(whole, 20)
    data = whole.read_bytes()
    cut = tmp_path / "cut.rrd"
    cut.write_bytes(data[: int(len(data) * fraction)])
    report = repair(cut, tmp_path / "fixed.rrd")
    fixed = tmp_path / "fixed.rrd"
    verify_rrd(fixed)
    assert rerun_bindings.check_for_rrd_footer(str(fixed))
    values = _values(fixed)
    assert values == [float(i) for i in range(len(values))]  # a prefix, without holes
    assert report.kept > 0
    assert report.damage is not None
    assert len(values) < 20 or fraction > 0.9  # a cut inside the footer keeps every chunk


def _damaged_middle_frame(path: Path, target: Path) -> int:
    """``path`` with bytes inside its middle chunk frame's message flipped, into ``target``; that frame's
    offset."""
    data = bytearray(path.read_bytes())
    frames = [frame for frame in rrd_frames(bytes(data), len(data)) if frame[2] == 2]
    start, end, _kind = frames[len(frames) // 2]
    for at in range(start + 16, min(start + 16 + 64, end)):
        data[at] ^= 0xFF
    target.write_bytes(bytes(data))
    return start


def test_an_rrd_with_a_damaged_chunk_keeps_every_other_chunk(tmp_path: Path) -> None:
    """One chunk's bytes damaged in the middle of a complete file: Rerun's reader fails the whole file on
    it, and the repair kept nothing (found by an audit). The other chunks are kept, the frame named; the
    viewer reads the damaged file around it, with a warning."""
    whole = tmp_path / "whole.rrd"
    _write_rrd(whole, 30)
    damaged = tmp_path / "damaged.rrd"
    at = _damaged_middle_frame(whole, damaged)
    report = repair(damaged, tmp_path / "fixed.rrd")
    verify_rrd(tmp_path / "fixed.rrd")
    intact = _values(whole)
    kept = _values(tmp_path / "fixed.rrd")
    assert len(kept) == len(intact) - 1  # the damaged chunk (one row) lost, no more
    assert set(kept) < set(intact)
    assert report.damage is not None
    assert f"1 frame(s) that do not decode left out (at bytes {at})" in report.damage
    for budget in (None, 512 << 20):  # read whole, and through the index as `view` does
        loaded = load_files([damaged], memory_budget_bytes=budget)
        assert any("decode (damaged): left out" in warning for warning in loaded.warnings)
        rows = loaded.store.range("/values", "frame", 0, 1000)
        assert rows.num_rows == 29


def test_an_intact_rrd_is_copied_whole(tmp_path: Path) -> None:
    whole = tmp_path / "whole.rrd"
    _write_rrd(whole, 5)
    report = repair(whole, tmp_path / "copy.rrd")
    assert report.damage is None
    assert _values(tmp_path / "copy.rrd") == [0.0, 1.0, 2.0, 3.0, 4.0]


def _write_mcap(path: Path, compression: str) -> None:
    with McapSink(path, compression=compression, chunk_size=2000) as sink:
        channel = sink.add_topic("/chatter", "std_msgs/msg/String", DEFINITION)
        for index in range(200):
            sink.write(channel, 1_000 + index, 1_000 + index, f"message {index:04d}".encode() * 10)


@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_a_cut_mcap_is_rewritten_with_a_summary(tmp_path: Path, compression: str) -> None:
    whole = tmp_path / "whole.mcap"
    _write_mcap(whole, compression)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: len(data) // 2 + 37])  # inside a chunk
    report = repair(cut, tmp_path / "fixed.mcap")
    assert report.damage is not None
    assert "cut" in report.damage
    with open_bag(tmp_path / "fixed.mcap") as bag:
        times = [message.log_time_ns for message in bag.messages()]
    assert times == list(range(1_000, 1_000 + len(times)))  # a prefix, without holes
    assert report.kept == len(times) > 0
    if compression == "none":  # the cut chunk's messages before the cut are kept too
        assert report.damage.startswith("an uncompressed chunk cut short")


@pytest.mark.parametrize("summary", [True, False])
def test_garbage_over_a_chunk_header_costs_that_chunk_only(tmp_path: Path, summary: bool) -> None:
    """40 bytes overwritten at a chunk's start: the chunks after it are kept, as convert reads them (the
    repair stopped there: 908 of 6,121 messages kept, "a record cut" where the file went on; audit)."""
    whole = tmp_path / "whole.mcap"
    _write_mcap(whole, "zstd")
    chunks = intact_chunks(whole)
    assert len(chunks) >= 6
    data = bytearray(whole.read_bytes())
    hit = chunks[2]
    data[hit.offset : hit.offset + 40] = b"\xab" * 40
    if not summary:
        data = data[: chunks[-1].offset + chunks[-1].length]  # the data section alone
    damaged = tmp_path / "damaged.mcap"
    damaged.write_bytes(bytes(data))
    report = repair(damaged, tmp_path / "fixed.mcap")
    expected = sorted(key[1] for chunk in chunks if chunk is not hit for key in chunk.messages)
    with open_bag(tmp_path / "fixed.mcap") as bag:
        times = [message.log_time_ns for message in bag.messages()]
    assert times == expected
    assert report.kept == len(expected)
    assert report.damage is not None
    assert f"bytes {hit.offset}..{chunks[3].offset} hold no readable record" in report.damage


@pytest.mark.parametrize("compression", ["zstd", "lz4"])
def test_a_cut_or_damaged_compressed_chunk_keeps_its_messages_before_the_cut(
    tmp_path: Path, compression: str
) -> None:
    """A small recording is one compressed chunk: cut inside it, repair kept nothing ("a compressed chunk
    is only readable whole") where convert recovered most of it (audit). What decompresses from the
    chunk's start is kept now; a chunk whose CRC does not match is kept, as convert keeps it."""
    whole = tmp_path / "whole.mcap"
    with McapSink(whole, compression=compression, chunk_size=1 << 20) as sink:
        channel = sink.add_topic("/chatter", "std_msgs/msg/String", DEFINITION)
        for index in range(400):
            # Half noise: the chunk stays most of the file, whatever the compression.
            noise = random.Random(index).randbytes(512)
            sink.write(channel, 1_000 + index, 1_000 + index, noise + bytes(512))
    data = whole.read_bytes()
    damaged = bytearray(data)
    middle = len(data) // 2
    damaged[middle : middle + 64] = bytes(64)
    cases = (
        ("cut", data[: middle + 37], f"a {compression} chunk cut short"),
        # Bytes of a payload zeroed: the chunk decompresses, its CRC does not match; kept, as convert does.
        ("damaged", bytes(damaged), "a chunk whose CRC does not match (its messages are kept"),
    )
    for name, broken, damage in cases:
        source = tmp_path / f"{name}.mcap"
        source.write_bytes(broken)
        report = repair(source, tmp_path / f"{name}.fixed.mcap")
        assert report.damage is not None
        assert report.damage.startswith(damage)
        with open_bag(tmp_path / f"{name}.fixed.mcap") as bag:
            times = [message.log_time_ns for message in bag.messages()]
        assert 0 < len(times) <= 400
        assert len(times) < 400 or name == "damaged"
        assert times == list(range(1_000, 1_000 + len(times)))  # a prefix, without holes
        assert report.kept == len(times)


def test_a_repair_that_keeps_nothing_leaves_no_file_and_a_hard_link_of_the_source_is_refused(
    tmp_path: Path,
) -> None:
    """An .rrd cut inside its first chunk "repaired" into a file that itself failed `rerun rrd verify`;
    `-o` naming a hard link of the source overwrote the source (audit)."""
    whole = tmp_path / "whole.rrd"
    _write_rrd(whole, 5)
    cut = tmp_path / "cut.rrd"
    cut.write_bytes(whole.read_bytes()[:400])  # inside its first chunk
    report = repair(cut, tmp_path / "nothing.rrd")
    assert report.kept == 0
    assert not (tmp_path / "nothing.rrd").exists()
    assert report.describe().startswith(f"{cut}: no chunks kept, no file written")
    # Cut inside its header or first frame: nothing kept either, exit 1 as documented (it was 2: audit).
    for size in (8, 20):
        tiny = tmp_path / f"tiny{size}.rrd"
        tiny.write_bytes(whole.read_bytes()[:size])
        assert main(["repair", str(tiny), "-o", str(tmp_path / f"tiny{size}.fixed.rrd")]) == 1
        assert not (tmp_path / f"tiny{size}.fixed.rrd").exists()
    # An .mcap cut inside its first chunk, before any whole message: no "its messages ... are kept".
    mcap = tmp_path / "whole.mcap"
    _write_mcap(mcap, "zstd")
    first_chunk = intact_chunks(mcap)[0]
    cut_mcap = tmp_path / "cut.mcap"
    cut_mcap.write_bytes(mcap.read_bytes()[: first_chunk.payload_offset + 30])
    said = repair(cut_mcap, tmp_path / "cut.fixed.mcap").describe()
    assert "no messages kept, no file written" in said
    assert "(no whole message before the cut)" in said
    link = tmp_path / "link.rrd"
    os.link(whole, link)
    original = whole.read_bytes()
    with pytest.raises(RecordingError, match="the repaired file must be written elsewhere"):
        repair(whole, link)
    assert whole.read_bytes() == original


def test_a_repair_says_it_leaves_the_files_layout_out(tmp_path: Path) -> None:
    """The repaired file held the data but not the layout, and the report said nothing (README audit)."""
    talker = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources" / "mcap" / "talker"
    rrd = tmp_path / "run.rrd"
    convert_bags([talker], rrd, default_layout=True, warn=lambda _: None)
    report = repair(rrd, tmp_path / "fixed.rrd")
    assert report.damage is None
    assert any("layout (blueprint) is left out" in note for note in report.notes)
    bare = tmp_path / "bare.rrd"
    convert_bags([talker], bare, warn=lambda _: None)
    assert not repair(bare, tmp_path / "bare_fixed.rrd").notes


def test_neither_rrd_nor_mcap_is_one_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.rrd"
    text.write_text("hello")
    with pytest.raises(RecordingError, match=r"neither an \.rrd"):
        repair(text)


def test_a_wrong_output_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`repair run.rrd -o FOLDER` ended in a traceback from Rerun's writer (exit code 1); `-o fixed.mcap`
    for an .rrd wrote an .rrd under that name, reported in "messages"."""
    talker = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources" / "mcap" / "talker"
    rrd, mcap = tmp_path / "run.rrd", tmp_path / "run.mcap"
    convert_bags([talker], rrd, mcap, warn=lambda _: None)
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = [
        (rrd, folder, f"error: {folder}: is a folder: -o names the repaired file"),
        (mcap, folder, f"error: {folder}: is a folder: -o names the repaired file"),
        (
            rrd,
            tmp_path / "fixed.mcap",
            f"error: {rrd}: an .rrd file is repaired into an .rrd file, not fixed.mcap",
        ),
        (
            mcap,
            tmp_path / "fixed.rrd",
            f"error: {mcap}: an .mcap file is repaired into an .mcap file, not fixed.rrd",
        ),
    ]
    for source, output, message in cases:
        assert main(["repair", str(source), "-o", str(output)]) == 2
        assert message in capsys.readouterr().err
    assert list(folder.iterdir()) == []
    assert not (tmp_path / "fixed.mcap").exists()
    assert not (tmp_path / "fixed.rrd").exists()
    # An output named without a suffix is fine, and counted in the source's unit.
    assert main(["repair", str(rrd), "-o", str(tmp_path / "fixed")]) == 0
    assert "chunks kept; the source read to its end" in capsys.readouterr().out
    verify_rrd(tmp_path / "fixed")
