"""The timeline the viewer opens on, by the documented rule (time bounds only, no rows read)."""

from __future__ import annotations

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.timeline_choice import MAX_CLOCK_OFFSET_NS, blueprint_timeline, choose_timeline

NS = 1_000_000_000
START = 1_700_000_000 * NS


def store_with(rows: list[tuple[str, int, int | None]]) -> ChunkStore:
    """(entity, log_time, ros_time or None) rows of one scalar each."""
    store = ChunkStore()
    for entity, log_time, ros_time in rows:
        times = {"log_time": log_time} if ros_time is None else {"log_time": log_time, "ros_time": ros_time}
        store.append_row(entity, times, {"Scalars:scalars": [1.0]})
    return store


def test_stamps_near_the_receive_times_keep_ros_time() -> None:
    store = store_with([("/a", START + i * NS, START + i * NS - NS // 100) for i in range(60)])
    assert choose_timeline(store) == ("ros_time", "")


def test_a_clock_far_from_the_receive_times_picks_log_time() -> None:
    offset = MAX_CLOCK_OFFSET_NS + NS
    store = store_with([("/a", START + i * NS, START + i * NS - offset) for i in range(60)])
    choice = choose_timeline(store)
    assert choice.timeline == "log_time"
    assert "from the receive times" in choice.reason


def test_a_sliver_of_stamped_data_picks_log_time() -> None:
    """Stamped messages in 4 s of a 62 s recording (the rest has no header)."""
    rows: list[tuple[str, int, int | None]] = [("/odom", START + i * NS, None) for i in range(63)]
    rows += [("/scan", START + i * NS, START + i * NS) for i in range(5)]
    choice = choose_timeline(store_with(rows))
    assert choice.timeline == "log_time"
    assert "spans 4 s of a 62 s recording" in choice.reason


def test_without_both_timelines_the_name_decides() -> None:
    assert choose_timeline(store_with([("/a", START, None)])).timeline == "log_time"
    sequence = ChunkStore()
    sequence.append_row("/a", {"frame": 3}, {"Scalars:scalars": [1.0]})
    assert choose_timeline(sequence).timeline == "frame"
    assert choose_timeline(ChunkStore()).timeline is None


def test_a_header_less_topic_picks_log_time_where_ros_time_would_leave_it_empty() -> None:
    """The neato bag's /cmd_vel (Twist, no header) beside stamped odometry: on ros_time its plot is empty."""
    rows: list[tuple[str, int, int | None]] = [("/odom", START + i * NS, START + i * NS) for i in range(60)]
    rows += [("/cmd_vel", START + i * NS, None) for i in range(60)]
    assert choose_timeline(store_with(rows)) == (
        "log_time",
        "/cmd_vel has no header stamps (no ros_time): log_time shown",
    )
    rows += [("/cmd_vel/arrow", START + i * NS, None) for i in range(60)]  # the same topic's arrow
    rows += [("/battery", START + i * NS, None) for i in range(3)]
    assert choose_timeline(store_with(rows)) == (
        "log_time",
        "/battery and 1 more topic have no header stamps (no ros_time): log_time shown",
    )


def test_a_scenario_asking_for_ros_time_keeps_it_beside_header_less_topics() -> None:
    """The stamps span the data: the scenario asked for them, a /cmd_vel on log_time does not move it."""
    rows: list[tuple[str, int, int | None]] = [("/odom", START + i * NS, START + i * NS) for i in range(60)]
    rows += [("/cmd_vel", START + i * NS, None) for i in range(60)]
    assert blueprint_timeline("ros_time", store_with(rows)) == ("ros_time", "")
    far: list[tuple[str, int, int | None]] = [
        ("/odom", START + i * NS, START + i * NS - 2 * MAX_CLOCK_OFFSET_NS) for i in range(60)
    ]
    assert blueprint_timeline("ros_time", store_with(far)).timeline == "log_time"


def test_the_bridges_own_diagnostics_are_no_topic_without_stamps() -> None:
    """A live recording's /rerun_bridge/diagnostics plots (on log_time by nature) were counted as "11 more
    topics" without stamps, and the viewer opened on log_time (audit)."""
    rows: list[tuple[str, int, int | None]] = [("/odom", START + i * NS, START + i * NS) for i in range(60)]
    rows += [
        (f"/rerun_bridge/diagnostics/topic{n}", START + i * NS, None) for n in range(11) for i in range(60)
    ]
    assert choose_timeline(store_with(rows)) == ("ros_time", "")
    rows += [("/odd/chatter", START + i * NS, None) for i in range(60)]
    assert (
        choose_timeline(store_with(rows)).reason
        == "/odd/chatter has no header stamps (no ros_time): log_time shown"
    )
