"""``convert`` writes what it did with each topic into the .rrd itself (``/rerun_bridge/convert``), read
back here through rerun-sdk's own reader."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from rerun_bridge.cli import main
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.pipeline import TopicKind, TopicStats
from rerun_bridge.replay import convert_bags
from rerun_bridge.replay.outcome import OUTCOME_ARCHETYPE, reason_of, result_of, summary_table
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.viewer.component_values import describe
from rerun_bridge.viewer.sources import load_files
from test.conftest import GPS_BAG, ROSBAG2_RESOURCES, rrd_chunks, verify_rrd

TALKER = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources" / "mcap" / "talker"
PREFIX = f"{OUTCOME_ARCHETYPE}:"


def read_outcome(rrd: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """The outcome document's text, and each topic's outcome fields by topic (every row static)."""
    document = ""
    topics: dict[str, dict[str, Any]] = {}
    for entity, static, batch in rrd_chunks(rrd):
        if not entity.startswith("/rerun_bridge/convert"):
            continue
        assert static, entity
        if "TextDocument:text" in batch.schema.names:
            assert batch.column("TextDocument:media_type").to_pylist() == [["text/markdown"]]
            document = batch.column("TextDocument:text").to_pylist()[0][0]
            continue
        fields = {
            name.removeprefix(PREFIX): batch.column(name).to_pylist()[0][0]
            for name in batch.schema.names
            if name.startswith(PREFIX)
        }
        fields["path"] = entity
        assert fields["topic"] not in topics, fields
        topics[fields["topic"]] = fields
    return document, topics


def assert_outcome_matches(outcome: dict[str, Any], stats: TopicStats) -> None:
    assert outcome["type"] == stats.type_name
    assert outcome["result"] == result_of(stats)
    assert outcome["entity"] == stats.entity_path
    assert outcome["path"] == "/rerun_bridge/convert" + stats.entity_path
    counts = (stats.messages, stats.rows, stats.skipped, stats.errors, stats.zero_stamps)
    assert (outcome["messages"], outcome["rows"], outcome["skipped"], outcome["errors"]) == counts[:4]
    assert outcome["zero_stamps"] == counts[4]
    assert outcome["written_as"] == (", ".join(sorted(stats.produced)) or "-")
    assert outcome["reason"] == reason_of(stats)


def test_the_gps_bags_outcome_survives_in_the_rrd(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The GPS bag: its ackermann topic has no definition (skipped, with the reason), /vehicle_pose never
    stamps its headers, the rest convert; the .rrd says so per topic and in the printed table's words."""
    rrd = tmp_path / "gps.rrd"
    assert main(["convert", str(GPS_BAG), "-o", str(rrd)]) == 0
    printed = capsys.readouterr().out
    verify_rrd(rrd)
    document, outcome = read_outcome(rrd)
    summary = convert_bags([GPS_BAG], tmp_path / "again.rrd")
    assert set(outcome) == {stats.topic for stats in summary.topics}
    for stats in summary.topics:
        assert_outcome_matches(outcome[stats.topic], stats)

    ackermann = outcome["/vehicle_command_ackermann"]
    assert ackermann["result"] == TopicKind.SKIPPED.value
    assert "no definition" in ackermann["reason"]
    assert ackermann["skipped"] == ackermann["messages"] > 0
    assert outcome["/vehicle_pose"]["zero_stamps"] == outcome["/vehicle_pose"]["messages"] > 0
    assert outcome["/gps"]["result"] == TopicKind.CONVERTED.value
    assert outcome["/gps"]["reason"] == ""

    # The document holds the printed table's rows, each with its zero stamps and reason added.
    for stats in summary.topics:
        printed_row = next(line for line in printed.splitlines() if line.split()[:1] == [stats.topic])
        document_row = next(line for line in document.splitlines() if line.startswith(f"| {stats.topic} |"))
        cells = [cell.strip() for cell in document_row.strip("|").split(" | ")]
        assert " ".join(cells[:-2]).split() == printed_row.split()
        assert cells[-2:] == [str(stats.zero_stamps), reason_of(stats) or "-"]
    assert f"`{GPS_BAG.name}`" in document
    for warning in summary.warnings:
        assert f"- {warning}" in document


def test_a_conversion_error_is_the_topics_reason(tmp_path: Path) -> None:
    """A message with cut CDR bytes: the topic is converted with one error, whose text is its reason."""
    damaged = tmp_path / "damaged.mcap"
    with open_bag(TALKER) as bag, McapSink(damaged) as sink:
        channels = {
            info.name: sink.add_topic(
                info.name, info.type_name, info.definition or MessageDefinition("ros2msg", "")
            )
            for info in bag.topics()
        }
        for index, message in enumerate(bag.messages({"/topic"})):
            data = bytes(message.data)[:6] if index == 4 else bytes(message.data)
            sink.write(channels["/topic"], message.log_time_ns, message.publish_time_ns, data)
    summary = convert_bags([damaged], tmp_path / "d.rrd", warn=lambda _message: None)
    verify_rrd(tmp_path / "d.rrd")
    _document, outcome = read_outcome(tmp_path / "d.rrd")
    stats = next(t for t in summary.topics if t.topic == "/topic")
    assert_outcome_matches(outcome["/topic"], stats)
    assert (outcome["/topic"]["result"], outcome["/topic"]["errors"]) == (TopicKind.CONVERTED.value, 1)
    assert outcome["/topic"]["reason"] == stats.first_error
    assert "cannot decode" in stats.first_error


def test_our_viewer_shows_a_topics_outcome_at_any_time(tmp_path: Path) -> None:
    """Static rows: the embedded viewer's selection panel lists the outcome's fields at any time."""
    rrd = tmp_path / "gps.rrd"
    convert_bags([GPS_BAG], rrd, warn=lambda _message: None)
    store = load_files([rrd]).store
    for time in (0, 2**62):
        shown = {
            name.removeprefix(PREFIX): describe(values)
            for name, values in store.latest_at(
                "/rerun_bridge/convert/vehicle_command_ackermann", "log_time", time
            ).items()
        }
        assert shown["result"] == "'skipped'"
        assert shown["topic"] == "'/vehicle_command_ackermann'"
        assert shown["reason"].startswith("'the recording stores no definition")


def test_a_topic_whose_every_message_failed_reads_failed() -> None:
    # "converted" beside 0 rows and an error per message read as success (a bad converter option).
    failed = TopicStats(
        "/scan", "sensor_msgs/msg/LaserScan", TopicKind.CONVERTED, "/scan", messages=3, errors=3
    )
    partly = dataclasses.replace(failed, rows=2, errors=1)
    assert [row[2] for row in summary_table([failed, partly])] == ["failed", "converted"]
    assert result_of(failed) == "failed"
    assert result_of(partly) == "converted"
    skipped = TopicStats("/bump", "x/msg/Bump", TopicKind.SKIPPED, "/bump", messages=3)
    assert result_of(skipped) == "skipped"
    # None in a --start / --end window read "converted" with 0 messages (README audit).
    outside = dataclasses.replace(failed, messages=0, errors=0)
    assert result_of(outside) == "no messages"
    # A custom type none of whose messages decode read "raw" beside 20 errors (audit).
    raw = TopicStats("/odd", "my_pkg/msg/Odd", TopicKind.RAW, "/odd", messages=20, errors=20)
    assert result_of(raw) == "failed"
    assert result_of(dataclasses.replace(raw, rows=19, errors=1)) == "raw"


def test_the_catalogs_outcome_of_a_converted_topic_is_what_convert_prints() -> None:
    """The fleet catalog said "converted" for a topic with no messages, where convert said "no messages"
    (audit)."""
    from rerun_bridge.fleet.catalog import TopicEntry
    from rerun_bridge.fleet.jobs import _converted_topic

    expected = TopicEntry("/temperature", "sensor_msgs/msg/Temperature", 0, "converted")
    stats = TopicStats("/temperature", "sensor_msgs/msg/Temperature", TopicKind.CONVERTED, "/temperature")
    assert _converted_topic(expected, stats).outcome == "no messages"
    failing = dataclasses.replace(stats, messages=3, errors=3)
    assert _converted_topic(dataclasses.replace(expected, messages=3), failing).outcome == "failed"
