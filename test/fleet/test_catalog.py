"""The catalog of runs: rows written for real recordings converted and registered, queried with DuckDB
through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerun_bridge.cli import main
from rerun_bridge.fleet.catalog import catalog_of, converted_runs, query, robot_of
from rerun_bridge.fleet.discovery import content_hash as recording_hash
from rerun_bridge.fleet.discovery import find_recordings
from rerun_bridge.fleet.jobs import ConversionFailedError, JobOptions, convert_recording, register_recording
from rerun_bridge.replay import convert_bags
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.sources.storage import SqliteStorage
from test.conftest import ABITOBOT_BAG, GPS_BAG, NEATO_BAG, ROSBAG2_RESOURCES, verify_rrd

# The Neato's /scan: 153 messages over the recording's 32.448 s (../shared/data/README.md).
NEATO_SCAN_MESSAGES = 153


@pytest.fixture(scope="module")
def catalog_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Neato bag converted (tagged) and the GPS bag registered, into one output folder."""
    out = tmp_path_factory.mktemp("fleet_catalog")
    recordings, problems = find_recordings([str(NEATO_BAG), str(GPS_BAG)])
    assert problems == []
    neato, gps = recordings
    convert_recording(neato, JobOptions(str(out), tags={"robot": "neato1", "site": "olin"}), {})
    register_recording(gps, str(out), {"site": "uf"})
    return out


def _query(out: Path, sql: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = query(catalog_of(str(out)), sql).to_pylist()
    return rows


def test_one_file_per_run_and_table(catalog_out: Path) -> None:
    runs = sorted(p.name for p in (catalog_out / "catalog" / "runs").iterdir())
    topics = sorted(p.name for p in (catalog_out / "catalog" / "topics").iterdir())
    assert runs == topics
    assert [name.split("-")[0] for name in runs] == ["olin_neato_obstacle_avoider", "uf_gps_nav_bag"]
    verify_rrd(catalog_out / "olin_neato_obstacle_avoider.rrd")


def test_runs_below_five_hz_on_scan(catalog_out: Path) -> None:
    rows = _query(
        catalog_out,
        "SELECT r.name, t.messages, t.rate_hz FROM runs r JOIN topics t USING (run_id) "
        "WHERE t.topic = '/scan' AND t.rate_hz < 5",
    )
    # Over the topic's own span (its first and last message, read straight from the bag's table).
    with open_bag(NEATO_BAG) as bag:
        storage = bag.storages[0]
        assert isinstance(storage, SqliteStorage)
        first, last = storage.database.execute(
            "SELECT MIN(m.timestamp), MAX(m.timestamp) FROM messages m JOIN topics t ON m.topic_id = t.id "
            "WHERE t.name = '/scan'"
        ).fetchone()
    expected_rate = (NEATO_SCAN_MESSAGES - 1) / ((last - first) / 1e9)
    assert [row["name"] for row in rows] == ["olin_neato_obstacle_avoider"]
    assert rows[0]["messages"] == NEATO_SCAN_MESSAGES
    assert rows[0]["rate_hz"] == pytest.approx(expected_rate)


def test_run_rows_hold_what_the_recording_holds(catalog_out: Path) -> None:
    (neato,) = _query(
        catalog_out,
        "SELECT robot, topics, messages, outputs, warnings, epoch_ns(start) AS start_ns FROM runs "
        "WHERE status = 'converted'",
    )
    with open_bag(NEATO_BAG) as bag:
        topics = bag.topics()
        bounds = bag.time_bounds()
    assert bounds is not None
    assert neato["start_ns"] == bounds[0]
    assert neato["robot"] == "neato1"
    assert neato["topics"] == len(topics)
    assert neato["messages"] == sum(t.message_count for t in topics)
    assert neato["outputs"] == [str(catalog_out / "olin_neato_obstacle_avoider.rrd")]
    # The two custom Neato types have no definition: each is one warning, kept with the run.
    assert len(neato["warnings"]) == 2  # type: ignore[arg-type]
    assert all("/bump" in w or "/accel" in w for w in neato["warnings"])  # type: ignore[attr-defined]
    (registered,) = _query(
        catalog_out, "SELECT status, outputs, tags['site'] AS site FROM runs WHERE robot = ''"
    )
    assert registered == {"status": "registered", "outputs": [], "site": "uf"}
    # Not decoded: zero stamps unknown (null), where 0 made `zero_stamps > 0` miss them (audit); the
    # converted run's counts are numbers.
    stamps = _query(
        catalog_out,
        "SELECT r.status, count(*) AS topics, count(t.zero_stamps) AS counted FROM runs r "
        "JOIN topics t USING (run_id) GROUP BY r.status ORDER BY r.status",
    )
    assert [(row["status"], row["counted"] == 0) for row in stamps] == [
        ("converted", False),
        ("registered", True),
    ]


def test_topic_outcomes_say_what_became_of_each_topic(catalog_out: Path) -> None:
    rows = _query(
        catalog_out,
        "SELECT r.name, t.topic, t.outcome, t.reason, t.rows FROM runs r JOIN topics t USING (run_id) "
        "WHERE t.outcome = 'skipped' ORDER BY r.name, t.topic",
    )
    assert [(row["name"], row["topic"]) for row in rows] == [
        ("olin_neato_obstacle_avoider", "/accel"),
        ("olin_neato_obstacle_avoider", "/bump"),
        ("uf_gps_nav_bag", "/vehicle_command_ackermann"),
    ]
    assert all("definition" in str(row["reason"]) for row in rows)
    (scan,) = _query(catalog_out, "SELECT outcome, rows, errors FROM topics WHERE topic = '/scan'")
    summary = convert_bags([NEATO_BAG], None, warn=lambda _: None)
    (scan_stats,) = [t for t in summary.topics if t.topic == "/scan"]
    assert scan == {"outcome": "converted", "rows": scan_stats.rows, "errors": 0}


def test_converted_runs_are_known_by_content_hash(catalog_out: Path) -> None:
    (neato,) = _query(catalog_out, "SELECT content_hash, run_id FROM runs WHERE status = 'converted'")
    assert converted_runs(catalog_of(str(catalog_out))) == {neato["content_hash"]: neato["run_id"]}


def test_query_command_formats(catalog_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT name, status FROM runs ORDER BY name"
    assert main(["catalog", "query", str(catalog_out), sql, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": "olin_neato_obstacle_avoider", "status": "converted"},
        {"name": "uf_gps_nav_bag", "status": "registered"},
    ]
    assert main(["catalog", "query", str(catalog_out), sql, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "name,status",
        "olin_neato_obstacle_avoider,converted",
        "uf_gps_nav_bag,registered",
    ]
    assert main(["catalog", "query", str(catalog_out / "catalog"), sql]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["name", "status"]
    assert table[2].split() == ["olin_neato_obstacle_avoider", "converted"]


def test_bad_sql_is_an_error_naming_the_column(catalog_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "query", str(catalog_out), "SELECT no_such_column FROM runs"]) == 2
    assert "no_such_column" in capsys.readouterr().err
    # A query with no statement (empty, or comments only) crashed with an AttributeError traceback.
    for empty in ("", "-- just a comment"):
        assert main(["catalog", "query", str(catalog_out), empty]) == 2
        assert "the query holds no SQL statement that returns rows" in capsys.readouterr().err


def test_empty_catalog_has_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "catalog").mkdir()  # a catalog whose runs were all removed, say
    assert (
        main(
            ["catalog", "query", str(tmp_path), "SELECT count(*) AS n FROM runs, topics", "--format", "json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"n": 0}]


def test_a_location_without_a_catalog_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped location is not an empty catalog: exit 2 and an error naming it."""
    sql = "SELECT count(*) FROM runs"
    assert main(["catalog", "query", str(tmp_path / "typo"), sql]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'typo'}: no such folder or prefix\n"
    assert main(["catalog", "query", str(tmp_path / "typo" / "catalog"), sql]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'typo' / 'catalog'}: no such folder or prefix\n"
    assert main(["catalog", "query", str(tmp_path), sql]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path}: holds no catalog")


def test_catalog_add_then_convert_replaces_the_registered_row(tmp_path: Path) -> None:
    mcap = next(ABITOBOT_BAG.glob("*.mcap"))
    assert main(["catalog", "add", str(mcap), "-o", str(tmp_path), "--tag", "robot=abitobot"]) == 0
    (registered,) = _query(tmp_path, "SELECT run_id, status, robot, messages FROM runs")
    assert registered["status"] == "registered"
    assert registered["robot"] == "abitobot"
    recordings, _ = find_recordings([str(mcap)])
    convert_recording(recordings[0], JobOptions(str(tmp_path)), {})
    (converted,) = _query(tmp_path, "SELECT run_id, status, messages FROM runs")
    assert converted == {
        "run_id": registered["run_id"],
        "status": "converted",
        "messages": registered["messages"],
    }


def test_copies_registered_apart_share_one_row_which_their_conversion_replaces(tmp_path: Path) -> None:
    """Three copies of one MCAP registered made three `registered` rows, which stayed beside the converted
    one after a batch (audit): one row per content now, replaced by the conversion."""
    mcap = next(ABITOBOT_BAG.glob("*.mcap"))
    uploads = tmp_path / "uploads"
    for folder in ("day1", "day2", "misc"):
        (uploads / folder).mkdir(parents=True)
        (uploads / folder / f"{folder}_run.mcap").write_bytes(mcap.read_bytes())
    out = tmp_path / "out"
    assert main(["catalog", "add", str(uploads), "-o", str(out), "--tag", "state=new"]) == 0
    (registered,) = _query(out, "SELECT run_id, status FROM runs")
    assert registered["status"] == "registered"
    recordings, _ = find_recordings([str(uploads / "misc")])
    convert_recording(recordings[0], JobOptions(str(out)), {})
    (converted,) = _query(out, "SELECT run_id, status, tags FROM runs")
    assert converted["run_id"] == registered["run_id"]
    assert converted["status"] == "converted"
    assert dict(converted["tags"]) == {"state": "new"}  # type: ignore[call-overload]


def test_a_conversion_keeps_the_tags_given_at_registration(tmp_path: Path) -> None:
    """A run's tags are those it was registered with, and the batch's added (a repeated key: the
    batch's value), also when converted again."""
    mcap = next(ABITOBOT_BAG.glob("*.mcap"))
    tags = ["--tag", "state=new", "--tag", "site=lab"]
    assert main(["catalog", "add", str(mcap), "-o", str(tmp_path), *tags]) == 0
    (recording,), _ = find_recordings([str(mcap)])
    convert_recording(recording, JobOptions(str(tmp_path), tags={"site": "field", "fleet": "a"}), {})
    sql = "SELECT status, tags FROM runs"
    (converted,) = _query(tmp_path, sql)
    assert converted["status"] == "converted"
    assert dict(converted["tags"]) == {"state": "new", "site": "field", "fleet": "a"}  # type: ignore[call-overload]
    convert_recording(recording, JobOptions(str(tmp_path), force=True), {})
    (again,) = _query(tmp_path, sql)
    assert dict(again["tags"]) == {"state": "new", "site": "field", "fleet": "a"}  # type: ignore[call-overload]


def test_catalog_add_of_a_converted_recording_keeps_its_row_and_adds_the_tags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to overwrite the converted row as registered, outputs gone: the next batch converted it
    again."""
    mcap = next(ABITOBOT_BAG.glob("*.mcap"))
    (recording,), _ = find_recordings([str(mcap)])
    convert_recording(recording, JobOptions(str(tmp_path), tags={"site": "lab"}), {})
    sql = "SELECT run_id, status, outputs, robot, tags FROM runs"
    (before,) = _query(tmp_path, sql)
    capsys.readouterr()
    tags = ["--tag", "reviewed=yes", "--tag", "robot=abitobot"]
    assert main(["catalog", "add", str(mcap), "-o", str(tmp_path), *tags]) == 0
    out = capsys.readouterr().out
    assert out == f"{mcap}: already converted as {before['run_id']}; its row is kept (tags added)\n"
    (after,) = _query(tmp_path, sql)
    assert (after["run_id"], after["status"], after["outputs"]) == (
        before["run_id"],
        "converted",
        before["outputs"],
    )
    assert after["robot"] == "abitobot"
    assert dict(after["tags"]) == {"site": "lab", "reviewed": "yes", "robot": "abitobot"}  # type: ignore[call-overload]
    assert converted_runs(catalog_of(str(tmp_path))) == {recording_hash(recording): before["run_id"]}


def test_catalog_add_names_a_broken_recording_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truncated = tmp_path / "trunc.db3"
    truncated.write_bytes(next(GPS_BAG.glob("*.db3")).read_bytes()[:8192])
    assert main(["catalog", "add", str(truncated), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {truncated}: not a readable sqlite3 bag")
    assert err.count(str(truncated)) == 1


def test_catalog_add_reports_inputs_that_are_not_recordings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("not a bag")
    assert main(["catalog", "add", str(tmp_path / "notes.txt"), "-o", str(tmp_path / "out")]) == 2
    assert "notes.txt: not a recording" in capsys.readouterr().err


def test_a_pattern_passes_over_the_files_beside_its_recordings(tmp_path: Path) -> None:
    """`catalog add "bags/**/talker*"` matched a .db3's -shm beside it and failed whole, nothing
    registered (README audit): the pattern's files that are no recordings are passed over."""
    folder = tmp_path / "bags"
    folder.mkdir()
    recording = folder / "talker.db3"
    recording.write_bytes(next(GPS_BAG.glob("*.db3")).read_bytes())
    (folder / "talker.db3-shm").write_bytes(bytes(32))
    (folder / "talker.notes.txt").write_text("field notes")
    recordings, problems = find_recordings([str(folder / "talker*")])
    assert problems == []
    assert [r.uri for r in recordings] == [str(recording)]
    nothing, problems = find_recordings([str(folder / "talker.n*")])
    assert nothing == []
    assert problems == [f"{folder / 'talker.n*'}: holds no recording (.mcap, .db3 or a bag folder)"]


def test_robot_is_the_tag_else_the_namespace_the_topics_share() -> None:
    own = ["/robot1/scan", "/robot1/odom", "/tf", "/tf_static", "/rosout"]
    assert robot_of({}, own) == "robot1"
    assert robot_of({"robot": "neato1"}, own) == "neato1"
    assert robot_of({}, ["/robot1/scan", "/robot2/scan"]) == ""
    assert robot_of({}, ["/robot1/scan", "/cmd_vel"]) == ""  # a global topic of its own: no namespace
    with open_bag(NEATO_BAG) as bag:
        assert robot_of({}, [t.name for t in bag.topics()]) == ""  # the Neato's topics are global


def test_a_lone_db3s_hash_takes_in_its_write_ahead_log(tmp_path: Path) -> None:
    # A .db3 converted before its -wal arrived was skipped as already converted once it had.
    db3 = tmp_path / "lone.db3"
    db3.write_bytes(b"SQLite format 3\0" + bytes(100))
    (before,), _ = find_recordings([str(db3)])
    alone = recording_hash(before)
    (tmp_path / "lone.db3-wal").write_bytes(b"log")
    (after,), _ = find_recordings([str(db3)])
    with_log = recording_hash(after)
    assert with_log != alone
    (tmp_path / "lone.db3-wal").write_bytes(b"LOG")
    assert recording_hash(after) != with_log  # any byte of the log counts


def test_a_renamed_lone_file_hashes_the_same_and_a_folder_names_its_files(tmp_path: Path) -> None:
    """docs/fleet.md: the same bag renamed hashes the same. A lone .mcap hashed its name with its bytes,
    so an upload tool that renames files had each converted again (found by an audit)."""
    first, second = tmp_path / "a" / "talker.mcap", tmp_path / "b" / "talker_2020-04-02.mcap"
    for path in (first, second):
        path.parent.mkdir()
        path.write_bytes(b"\x89MCAP0\r\n" + bytes(64))
    (one,), _ = find_recordings([str(first)])
    (other,), _ = find_recordings([str(second)])
    assert recording_hash(one) == recording_hash(other)
    second.write_bytes(b"\x89MCAP0\r\n" + bytes(63) + b"\x01")
    assert recording_hash(other) != recording_hash(one)
    other_suffix = tmp_path / "b" / "talker.db3"
    other_suffix.write_bytes(first.read_bytes())
    (as_db3,), _ = find_recordings([str(other_suffix)])
    assert recording_hash(as_db3) != recording_hash(one)  # another storage: another recording


def test_an_empty_bag_fails_saying_why(tmp_path: Path) -> None:
    """batch said "nothing could be converted" for rosbag2's empty bag, where convert says it holds no
    messages (audit)."""
    empty = ROSBAG2_RESOURCES / "ros2bag" / "test" / "resources" / "empty_bag"
    (recording,), _ = find_recordings([str(empty)])
    with pytest.raises(
        ConversionFailedError, match="nothing could be converted: the recording holds no messages"
    ):
        convert_recording(recording, JobOptions(str(tmp_path / "out")), {})


def _cut_copy(source: Path, folder: Path, keep: int) -> Path:
    """The first ``keep`` bytes of a real MCAP recording, as an upload cut short leaves it."""
    folder.mkdir(exist_ok=True)
    cut = folder / f"cut_{keep}.mcap"
    cut.write_bytes(source.read_bytes()[:keep])
    return cut


def test_a_cut_mcap_fails_saying_it_is_cut(tmp_path: Path) -> None:
    """A cut MCAP (nothing readable left in it) failed with "the recording holds no topics", where
    `info --check` says the file is cut."""
    cut = _cut_copy(next(ABITOBOT_BAG.glob("*.mcap")), tmp_path / "uploads", 2000)
    (recording,), _ = find_recordings([str(cut)])
    with pytest.raises(ConversionFailedError) as failure:
        convert_recording(recording, JobOptions(str(tmp_path / "out")), {})
    reason = str(failure.value)
    assert reason.startswith(f"{cut}: nothing could be converted: the recording is cut or damaged: ")
    assert "cut at byte 2000" in reason
    assert "holds no topics" not in reason
    assert reason.count(str(cut)) == 1  # named once, in front


def test_catalog_add_of_a_cut_mcap_warns_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`catalog add` registered a cut file without a word: its counts are what the cut copy holds, not
    the recording. It is registered as far as it reads (as batch converts it), each problem said naming
    the file and kept in the row's warnings; a whole recording beside it is registered quietly."""
    source = next(ABITOBOT_BAG.glob("*.mcap"))
    cut = _cut_copy(source, tmp_path / "uploads", source.stat().st_size // 2)
    out = tmp_path / "out"
    assert main(["catalog", "add", str(cut), str(source), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    warnings = captured.err.splitlines()
    assert warnings, captured
    assert all(line.startswith(f"warning: {cut}: ") for line in warnings), warnings
    assert any("closing magic bytes" in line for line in warnings)
    assert f"registered {cut} as " in captured.out
    assert "cut or damaged" in captured.out
    assert str(source) not in captured.err
    rows = _query(out, "SELECT source, warnings FROM runs ORDER BY source")
    by_source = {row["source"]: row["warnings"] for row in rows}
    assert by_source[str(source)] == []
    assert by_source[str(cut)] == [line.removeprefix("warning: ") for line in warnings]
