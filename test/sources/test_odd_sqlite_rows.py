"""Rows of a sqlite3 bag that rosbag2 never writes but SQLite takes: a timestamp or data of another type,
a topic listed twice, a message of no listed topic. Each is reported naming its topic, and every other
message converts (found by an audit: the first two failed every command on the file)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from rerun_bridge.errors import BagError
from rerun_bridge.replay import convert_bags
from rerun_bridge.sources.bag import open_bag
from test.conftest import NEATO_BAG
from test.sources.test_damaged_bags import NEATO_DB3

#: The Neato bag's topics and message counts (its README).
SCAN_MESSAGES = 153
ALL_MESSAGES = 1545


def altered_bag(tmp_path: Path, *statements: str) -> Path:
    """A copy of the Neato bag folder with ``statements`` run on its database (``{scan}``: the id of its
    11th /scan message)."""
    folder = tmp_path / "neato"
    shutil.copytree(NEATO_BAG, folder)
    db = sqlite3.connect(folder / NEATO_DB3.name)
    try:
        scan = db.execute(
            "SELECT m.id FROM messages m JOIN topics t ON m.topic_id = t.id WHERE t.name = '/scan' "
            "ORDER BY m.id LIMIT 1 OFFSET 10"
        ).fetchone()[0]
        for statement in statements:
            db.execute(statement.format(scan=scan))
        db.commit()
    finally:
        db.close()
    return folder


def converted(folder: Path, tmp_path: Path) -> tuple[dict[str, tuple[int, int, int]], list[str]]:
    """Per topic (messages, rows, errors), and the warnings, of converting ``folder``."""
    warnings: list[str] = []
    summary = convert_bags([folder], tmp_path / "out.rrd", warn=warnings.append)
    topics = {stats.topic: (stats.messages, stats.rows, stats.errors) for stats in summary.topics}
    return topics, warnings + summary.warnings


@pytest.mark.parametrize("value", ["'hello'", "12345", "1.5"])
def test_data_that_is_not_bytes_is_one_undecodable_message_of_its_topic(tmp_path: Path, value: str) -> None:
    folder = altered_bag(tmp_path, f"UPDATE messages SET data = {value} WHERE id = {{scan}}")
    topics, warnings = converted(folder, tmp_path)
    messages, rows, errors = topics["/scan"]
    assert (messages, errors) == (SCAN_MESSAGES, 1)
    assert rows >= SCAN_MESSAGES - 1
    assert any("1 messages of /scan hold data that is not bytes" in warning for warning in warnings)
    assert topics["/odom"][0] == 166  # the rest untouched


def test_a_timestamp_that_is_not_a_number_skips_its_message_and_says_so(tmp_path: Path) -> None:
    folder = altered_bag(tmp_path, "UPDATE messages SET timestamp = 'abc' WHERE id = {scan}")
    with open_bag(folder) as bag:
        counts = {topic.name: topic.message_count for topic in bag.topics()}
        read = sum(1 for _ in bag.messages())
        bounds = bag.time_bounds()
        problems = list(bag.problems)
    assert counts["/scan"] == SCAN_MESSAGES - 1
    assert read == ALL_MESSAGES - 1
    assert bounds is not None
    assert bounds[0] < bounds[1]
    assert any("1 messages of /scan have a timestamp that is not a number: skipped" in p for p in problems)
    topics, _warnings = converted(folder, tmp_path)
    assert topics["/scan"][0] == SCAN_MESSAGES - 1
    assert topics["/scan"][2] == 0


def test_a_topic_listed_twice_keeps_the_row_with_its_messages(tmp_path: Path) -> None:
    folder = altered_bag(
        tmp_path, "INSERT INTO topics VALUES (99, '/scan', 'sensor_msgs/msg/Imu', 'cdr', '')"
    )
    topics, warnings = converted(folder, tmp_path)
    assert topics["/scan"] == (SCAN_MESSAGES, topics["/scan"][1], 0)
    assert topics["/scan"][1] >= SCAN_MESSAGES
    assert not any(topic.startswith("/scan ") for topic in topics)  # no second, Imu /scan
    assert any("lists /scan again (id 99, sensor_msgs/msg/Imu" in warning for warning in warnings)


def test_a_message_of_no_listed_topic_is_reported(tmp_path: Path) -> None:
    folder = altered_bag(tmp_path, "UPDATE messages SET topic_id = 999 WHERE id = {scan}")
    with open_bag(folder / NEATO_DB3.name) as bag:
        read = sum(1 for _ in bag.messages())
        bag.topics()
        problems = list(bag.problems)
    assert read == ALL_MESSAGES - 1
    assert any("1 messages of topic id 999, which the topics table does not list" in p for p in problems)


RELAXED_TOPICS = (
    "CREATE TABLE loose AS SELECT * FROM topics",  # without rosbag2's NOT NULL constraints
    "DROP TABLE topics",
    "ALTER TABLE loose RENAME TO topics",
)


@pytest.mark.parametrize("column", ["type", "name"])
def test_a_topic_without_a_name_or_type_is_skipped_and_named(tmp_path: Path, column: str) -> None:
    """SQLite takes NULL where rosbag2's schema does not: every command on the file failed with a
    traceback (audit)."""
    folder = altered_bag(tmp_path, *RELAXED_TOPICS, f"UPDATE topics SET {column} = NULL WHERE name = '/scan'")
    topics, warnings = converted(folder, tmp_path)
    assert "/scan" not in topics
    assert topics["/odom"][0] == 166
    (said,) = {warning for warning in warnings if "without a name or type" in warning}
    assert said.endswith("its messages are skipped")
    assert not any("which the topics table does not list" in warning for warning in warnings)


@pytest.mark.parametrize("column", ["timestamp", "data", "topic_id"])
def test_a_messages_table_without_a_column_is_no_rosbag2_file(tmp_path: Path, column: str) -> None:
    """A renamed timestamp column failed with three chained tracebacks, a missing data column read as
    damaged pages (audit)."""
    folder = altered_bag(tmp_path, f"ALTER TABLE messages RENAME COLUMN {column} TO other")
    with pytest.raises(
        BagError, match=f"not a rosbag2 sqlite3 file \\(its messages table has no {column}\\)"
    ):
        open_bag(folder / NEATO_DB3.name)
