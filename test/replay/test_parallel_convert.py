"""One recording converted by several processes (``convert --jobs N``) writes what one process writes:
the same rows per entity and timeline, the same counts and warnings, in one .rrd that Rerun verifies.
Real child processes, real bags (generated and from ../shared/data), real damage, a really killed child."""

from __future__ import annotations

import inspect
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rerun.chunk as rrc
from mcap.reader import make_reader

from rerun_bridge.cli import rerun_blueprint_for
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.convert.registry import Converter, ConverterTable
from rerun_bridge.demo.sample_bag import SampleSpec, write_sample
from rerun_bridge.pipeline import TopicKind, TopicStats, TypeSupport
from rerun_bridge.replay import TopicSelection, convert_bags
from rerun_bridge.replay.conversion import ConvertSummary
from rerun_bridge.replay.parallel import SHARED_MEMORY, ParallelOptions, merge_summaries, plan_conversion
from rerun_bridge.replay.split import MESSAGE_COST_BYTES, SPLITTABLE_TYPES, WorkUnit, plan_units, splittable
from rerun_bridge.scratch import PARTS_PREFIX
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.sources.profile import TopicProfile, bag_profile
from rerun_bridge.store.rrd_file import decode_chunk, read_chunk_bytes, read_rrd_index
from test.blueprint.rbl_reader import plain, rbl_tree, read_rbl
from test.conftest import NEATO_BAG, RERUN_SUPPORTED_MCAP, mounted_tmpfs, rrd_chunks, verify_rrd
from test.replay.test_column_batches import rrd_rows

CLI = Path(sys.executable).parent / "rerun-bridge"
CLOUD_TOPIC = "/lidar/points"


@pytest.fixture(scope="module")
def sample_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "bag", SampleSpec(duration_s=6.0))


@pytest.fixture(scope="module")
def clouds_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point clouds and little else: one topic holds nearly all the bytes."""
    spec = SampleSpec(
        duration_s=6.0,
        cloud_count=150,
        cloud_points=4096,
        image_count=0,
        scan_hz=0.0,
        imu_hz=0.0,
        tf_hz=5.0,
        joint_hz=0.0,
        odom_hz=2.0,
        gps_hz=0.0,
        status_hz=0.0,
        log_lines=0,
    )
    return write_sample(tmp_path_factory.mktemp("clouds") / "bag", spec)


def plan(bag: Path, jobs: int, selection: TopicSelection | None = None) -> list[WorkUnit]:
    options = ParallelOptions(selection or TopicSelection(), "rerun_bridge", None, TypeSupport(), 0.0)
    return plan_conversion([bag], jobs, options)


def assert_same_conversion(one: Path, split: Path) -> None:
    """Both files verify, hold the same rows (chunk boundaries aside), and the split one is one recording
    whose footer indexes every chunk."""
    verify_rrd(one)
    verify_rrd(split)
    one_fields, one_rows = rrd_rows(one)
    split_fields, split_rows = rrd_rows(split)
    assert split_fields == one_fields
    assert len(split_rows) == len(one_rows)
    assert split_rows == one_rows
    assert len(rrc.RrdReader(str(split)).recordings()) == 1
    index = read_rrd_index(split)
    assert index is not None
    assert len(index.chunks) == len(rrd_chunks(split))
    # Every chunk reads at the byte offset the joined footer gives (what the lazy viewer does).
    descriptor = os.open(split, os.O_RDONLY)
    try:
        for entry in index.chunks:
            assert decode_chunk(read_chunk_bytes(descriptor, entry)).num_rows == entry.num_rows
    finally:
        os.close(descriptor)


@pytest.mark.parametrize(
    "recording",
    [None, NEATO_BAG, RERUN_SUPPORTED_MCAP],
    ids=["sample_mcap", "neato_sqlite3", "rerun_supported"],
)
def test_split_conversion_equals_one_process(
    recording: Path | None, sample_bag: Path, tmp_path: Path
) -> None:
    bag = recording or sample_bag
    units = plan(bag, 2)
    assert len(units) == 2  # it really is split
    one = convert_bags([bag], tmp_path / "one.rrd", default_layout=True)
    split = convert_bags([bag], tmp_path / "split.rrd", jobs=2, default_layout=True)
    assert split.topics == one.topics  # messages, rows, errors, zero stamps, archetypes per topic
    assert split.warnings == one.warnings
    assert_same_conversion(tmp_path / "one.rrd", tmp_path / "split.rrd")
    # The joined file's layout is made of every part's entities: the one a single process embeds.
    one_layout = read_rbl(tmp_path / "one.rrd")
    assert plain(rbl_tree(read_rbl(tmp_path / "split.rrd").root)) == plain(rbl_tree(one_layout.root))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.rrd", "split.rrd"]  # no parts left behind


def test_a_split_conversion_with_a_scenario_layout_embeds_it_every_time(tmp_path: Path) -> None:
    """`convert --jobs 2 --blueprint navigation` failed 7 times in 10 (README audit): the scenario was
    part 0's default blueprint, and `rerun rrd route` panicked joining the parts. It is a part of its own
    now, first, as the default layout is: the joined file has the layout a single process embeds."""
    assert len(plan(NEATO_BAG, 2)) == 2
    blueprint = rerun_blueprint_for("navigation", [str(NEATO_BAG)])
    convert_bags([NEATO_BAG], tmp_path / "one.rrd", blueprint=blueprint)
    one_layout = plain(rbl_tree(read_rbl(tmp_path / "one.rrd").root))
    for attempt in range(4):
        split = tmp_path / f"split{attempt}.rrd"
        convert_bags([NEATO_BAG], split, jobs=2, blueprint=blueprint)
        verify_rrd(split)
        assert plain(rbl_tree(read_rbl(split).root)) == one_layout


def test_a_dominating_topic_is_split_by_time_ranges(clouds_bag: Path, tmp_path: Path) -> None:
    units = plan(clouds_bag, 3)
    assert len(units) == 3
    with open_bag(clouds_bag) as bag:
        profile = bag_profile(bag.storages)
    assert profile is not None
    clouds = profile[CLOUD_TOPIC].times
    # Consecutive ranges that cover the recording; each part has a share of the clouds.
    assert units[0].start_ns is None
    assert units[-1].end_ns is None
    for before, after in itertools.pairwise(units):
        assert before.end_ns is not None
        assert after.start_ns == before.end_ns + 1
    shares = [
        int(
            np.count_nonzero((clouds >= (u.start_ns or 0)) & (clouds <= (u.end_ns or np.iinfo(np.int64).max)))
        )
        for u in units
    ]
    assert sum(shares) == len(clouds)
    assert all(share >= len(clouds) // 6 for share in shares), shares
    assert all(CLOUD_TOPIC in u.ranged_topics and "/tf" in u.whole_topics for u in units)
    one = convert_bags([clouds_bag], tmp_path / "one.rrd")
    split = convert_bags([clouds_bag], tmp_path / "split.rrd", jobs=3)
    assert split.topics == one.topics
    assert_same_conversion(tmp_path / "one.rrd", tmp_path / "split.rrd")


def test_a_time_window_and_topic_choice_split_the_same(sample_bag: Path, tmp_path: Path) -> None:
    start = SampleSpec().start_ns
    selection = TopicSelection(exclude=re.compile("imu"), start_ns=start + 10**9, end_ns=start + 5 * 10**9)
    assert len(plan(sample_bag, 2, selection)) == 2
    one = convert_bags([sample_bag], tmp_path / "one.rrd", selection=selection)
    split = convert_bags([sample_bag], tmp_path / "split.rrd", selection=selection, jobs=2)
    assert split.topics == one.topics
    assert_same_conversion(tmp_path / "one.rrd", tmp_path / "split.rrd")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _part_process_of(pid: int, deadline_s: float = 60.0) -> int:
    """The pid of a split conversion's child process started by ``pid``, as soon as it appears."""
    ended = time.monotonic() + deadline_s
    while time.monotonic() < ended:
        for child in _children(pid):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"rerun_bridge.replay.part_process" in command:
                return child
        time.sleep(0.005)
    raise AssertionError("no part process was started")


def test_a_killed_part_process_fails_the_conversion_with_one_error_and_no_output(
    sample_bag: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "run.rrd"
    proc = subprocess.Popen(
        [str(CLI), "convert", str(sample_bag), "-o", str(output), "--jobs", "2", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.kill(_part_process_of(proc.pid), signal.SIGKILL)  # the child we found, by its process id
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert "part 1" in errors[0]
    assert "died (exit code -9" in errors[0]
    assert str(output) in errors[0]
    assert not output.exists()
    assert list(output.parent.iterdir()) == []  # no parts, no half-joined file
    assert not list(SHARED_MEMORY.glob(f"{PARTS_PREFIX}{output.name}.*"))  # nor parts in memory


def _last_chunk(mcap: Path) -> tuple[int, int]:
    """Offset and length of the file's last chunk (in the last part of a split)."""
    with mcap.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None
    chunks = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
    assert len(chunks) >= 3
    return chunks[-1].chunk_start_offset, chunks[-1].chunk_length


def test_a_damaged_chunk_is_recovered_as_in_one_process(clouds_bag: Path, tmp_path: Path) -> None:
    bag = tmp_path / "damaged"
    shutil.copytree(clouds_bag, bag)
    mcap = next(bag.glob("*.mcap"))
    offset, length = _last_chunk(mcap)
    data = bytearray(mcap.read_bytes())
    data[offset + length // 2 : offset + length // 2 + 64] = bytes(64)  # zeroes inside a compressed chunk
    mcap.write_bytes(bytes(data))
    assert len(plan(bag, 2)) == 2  # the index is intact: still split
    one = convert_bags([bag], tmp_path / "one.rrd")
    split = convert_bags([bag], tmp_path / "split.rrd", jobs=2)
    assert any(f"byte {offset}" in w or str(mcap) in w for w in one.warnings)
    assert split.warnings == one.warnings
    assert split.topics == one.topics
    assert_same_conversion(tmp_path / "one.rrd", tmp_path / "split.rrd")


def test_a_bag_without_its_index_converts_in_one_process(sample_bag: Path, tmp_path: Path) -> None:
    bag = tmp_path / "cut"
    shutil.copytree(sample_bag, bag)
    mcap = next(bag.glob("*.mcap"))
    size = mcap.stat().st_size
    with mcap.open("r+b") as stream:
        stream.truncate(size * 2 // 3)  # the summary and the last chunks are gone
    assert len(plan(bag, 2)) == 1
    runs = {}
    for jobs in ("1", "2"):
        output = tmp_path / f"jobs{jobs}.rrd"
        result = subprocess.run(
            [str(CLI), "convert", str(bag), "-o", str(output), "--jobs", jobs, "--quiet"],
            capture_output=True,
            text=True,
            check=False,
        )
        runs[jobs] = (result.returncode, result.stderr)
    assert runs["1"] == runs["2"]
    assert runs["1"][0] == 0
    assert "summary" in runs["1"][1]
    assert_same_conversion(tmp_path / "jobs1.rrd", tmp_path / "jobs2.rrd")


def test_merged_counts_add_up_and_one_first_error_is_kept_per_topic() -> None:
    """A topic whose errors fall into two parts is warned about once, with the earliest part's error."""
    scan = "sensor_msgs/msg/LaserScan"

    def summary(messages: int, error: str, warnings: list[str]) -> ConvertSummary:
        stats = TopicStats(
            "/scan",
            scan,
            TopicKind.CONVERTED,
            "/scan",
            messages=messages,
            rows=messages,
            errors=1,
            first_error=error,
            produced={"Points3D"},
        )
        return ConvertSummary([stats], None, None, warnings)

    def said(error: str) -> str:
        return f"topic /scan ({scan}): {error} (further errors on this topic are counted)"

    first = summary(5, "cannot decode message at 1", ["shared", said("cannot decode message at 1")])
    second = summary(7, "cannot decode message at 9", ["shared", said("cannot decode message at 9"), "own"])
    topics, warnings = merge_summaries([first, second])
    assert warnings == ["shared", said("cannot decode message at 1"), "own"]
    assert len(topics) == 1
    assert (topics[0].messages, topics[0].rows, topics[0].errors) == (12, 12, 2)
    assert topics[0].first_error == "cannot decode message at 1"


def _even(count: int, size: int, start: int = 0) -> TopicProfile:
    times = np.arange(start, start + count, dtype=np.int64) * 1000
    return TopicProfile(times, np.full(count, size, dtype=np.int64))


def test_the_plan_gives_part_0_less_range_for_its_whole_topics() -> None:
    profile = {"/camera": _even(1000, 100_000), "/tf": _even(1000, 30_000)}
    types = {"/camera": "sensor_msgs/msg/Image", "/tf": "tf2_msgs/msg/TFMessage"}
    units = plan_units(profile, types, 2, start_cost=0)
    assert [u.ranged_topics for u in units] == [frozenset({"/camera"})] * 2
    assert [u.whole_topics for u in units] == [frozenset({"/tf"})] * 2
    first, second = units
    assert first.end_ns is not None
    camera_in_first = int(np.count_nonzero(profile["/camera"].times <= first.end_ns))
    # Part 0 also converts all of /tf, so it takes fewer of the camera's messages than part 1.
    assert 0 < camera_in_first < 1000 - camera_in_first
    assert abs(first.cost - second.cost) <= 2 * (100_000 + MESSAGE_COST_BYTES)


def test_whole_topics_that_outweigh_a_share_leave_part_0_no_range() -> None:
    profile = {"/camera": _even(100, 100_000), "/map": _even(100, 1_000_000)}
    types = {"/camera": "sensor_msgs/msg/Image", "/map": "nav_msgs/msg/OccupancyGrid"}
    units = plan_units(profile, types, 3, start_cost=0)
    assert units[0].end_ns is not None
    assert units[0].end_ns < int(profile["/camera"].times[0])  # part 0: the map only
    assert len(units) == 3


def test_parts_started_later_take_less() -> None:
    profile = {"/lidar": _even(1000, 1_000_000)}
    types = {"/lidar": "sensor_msgs/msg/PointCloud2"}
    even = plan_units(profile, types, 2, start_cost=0)
    later = plan_units(profile, types, 2, start_cost=100_000_000)
    assert even[0].end_ns is not None
    assert later[0].end_ns is not None
    assert later[0].end_ns > even[0].end_ns
    assert later[0].cost - later[1].cost == pytest.approx(
        100_000_000, abs=2 * (1_000_000 + MESSAGE_COST_BYTES)
    )


def test_a_user_mapping_keeps_its_type_whole() -> None:
    image = "sensor_msgs/msg/Image"
    assert splittable(image, BUILTIN_CONVERTERS)
    mapped = ConverterTable(
        [c for c in BUILTIN_CONVERTERS.all() if c.type_name != image]
        + [Converter(image, lambda m, c: [], ())]
    )
    assert not splittable(image, mapped)


def test_jobs_must_be_auto_or_a_positive_number(sample_bag: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CLI), "convert", str(sample_bag), "-o", str(tmp_path / "x.rrd"), "--jobs", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--jobs: expected 'auto' or a number >= 1, got '0'" in result.stderr
    assert not (tmp_path / "x.rrd").exists()


def test_a_split_conversion_without_room_for_its_output_leaves_nothing(
    sample_bag: Path, tmp_path: Path
) -> None:
    with mounted_tmpfs(tmp_path / "disk", "2m") as disk:
        output = disk / "run.rrd"
        result = subprocess.run(
            [str(CLI), "convert", str(sample_bag), "-o", str(output), "--jobs", "2", "--min-free-mb", "0.5"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert output.name in errors[0]
        assert list(disk.iterdir()) == []  # neither the output nor parts


@pytest.mark.parametrize("type_name", sorted(SPLITTABLE_TYPES))
def test_splittable_converters_keep_no_state(type_name: str) -> None:
    """A time range of a splittable topic must convert alone: its converters read no shared or topic state
    (a converter that starts to must leave SPLITTABLE_TYPES)."""
    converter = BUILTIN_CONVERTERS.lookup(type_name)
    assert converter is not None
    for function in (converter.func, converter.columns):
        if function is not None:
            source = inspect.getsource(function)
            assert "ctx.shared" not in source
            assert "topic_state(" not in source
