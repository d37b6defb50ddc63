"""A conversion to one file writes a marker group's row with only the components its entity does not
already show (docs/markers.md): latest-at must give, at every time on every timeline, what whole rows give,
also where marker stamps go back in time (the conversion then writes the topic again whole)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap.reader import make_reader

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.convert.marker_state import same_component
from rerun_bridge.model.records import TopicInfo
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.replay import convert_bags
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_rrd, open_rrd_lazily
from test.conftest import rrd_chunks, verify_rrd
from test.convert.test_marker_semantics import (
    CUBE,
    DELETE,
    DELETEALL,
    LINE_STRIP,
    SECOND,
    SPHERE,
    T0,
    marker,
    write_bag,
)

MARKER_ARRAY = "visualization_msgs/msg/MarkerArray"
TEXT = 9


def placed(
    ns: str, marker_id: int, x: float, kind: int = CUBE, red: float = 1.0, **fields: Any
) -> dict[str, Any]:
    """A marker at ``x``, of colour (red, 0, 0); stamped at ``stamp`` (seconds after T0) when given."""
    seconds = fields.pop("at", None)
    if seconds is not None:
        fields["stamp"] = T0 + round(seconds * SECOND)
    return marker(
        ns,
        marker_id,
        kind,
        pose={"position": {"x": x}, "orientation": {"w": 1.0}},
        color={"r": red, "a": 1.0},
        **fields,
    )


STRIP = [{"x": 0.0}, {"x": 1.0}, {"y": 1.0}]


def cycle(seconds: float, moved: float = 2.0, red: float = 1.0, extra: bool = False) -> list[dict[str, Any]]:
    """slam_toolbox's cycle: DELETEALL, then the set (cubes, spheres, a strip and labels), stamped."""
    markers = [
        marker("", 0, action=DELETEALL, stamp=T0 + round(seconds * SECOND)),
        placed("p", 1, 1.0, red=red, at=seconds),
        placed("p", 2, moved, at=seconds),
        placed("q", 1, 10.0, SPHERE, at=seconds),
        placed("s", 1, 0.0, LINE_STRIP, points=STRIP, at=seconds),
        placed("t", 1, 5.0, TEXT, at=seconds, text="node"),
    ]
    if extra:
        markers.append(placed("p", 3, 3.0, at=seconds))
    return markers


#: (seconds after T0, markers): arrays stamped forward that change some components of a group, none,
#: or its size, and empty a group.
STREAM: list[tuple[float, list[dict[str, Any]]]] = [
    (1, cycle(1)),
    (2, cycle(2, moved=2.5)),  # one cube moved: centers change, sizes and colours do not
    (3, cycle(3, moved=2.5, red=0.5)),  # one colour changes
    (4, cycle(4, moved=2.5, red=0.5)),  # the same set again: nothing changes
    (5, cycle(5, moved=2.5, red=0.5, extra=True)),  # a cube more: every component of the cubes
    (7, [placed("p", 3, 3.0, action=DELETE, at=7)]),  # DELETE
    (8, [marker("q", 0, action=DELETEALL, stamp=T0 + 8 * SECOND)]),  # namespace q emptied: cleared
    (9, [placed("q", 1, 10.0, SPHERE, at=9)]),  # re-added after the Clear as it was
    (10, cycle(10)),
]


def cube(x: float, red: float, at: float, marker_id: int = 1, **fields: Any) -> dict[str, Any]:
    return placed("p", marker_id, x, red=red, at=at, **fields)


#: What an audit found wrong while partial rows were not written again: arrays whose stamps go back
#: between a row and the partial row after it (by their receive times, log_time: 1 s, 2 s, ...).
BACKWARDS: dict[str, list[tuple[float, list[dict[str, Any]]]]] = {
    # Red at 10 s, moved at 20 s (its colour left out), then green stamped 15 s: at 20 s red shows.
    "a colour stamped between": [
        (1, [cube(1.0, 1.0, at=10)]),
        (2, [cube(2.0, 1.0, at=20)]),
        (3, [cube(2.0, 0.0, at=15)]),
    ],
    # Two cubes at 10 s, moved at 20 s, deleted by a DELETE stamped 15 s: at 20 s both show, whole.
    "a delete stamped between": [
        (1, [cube(1.0, 1.0, at=10), cube(5.0, 1.0, at=10, marker_id=2)]),
        (2, [cube(2.0, 1.0, at=20), cube(6.0, 1.0, at=20, marker_id=2)]),
        (3, [cube(2.0, 1.0, at=15, action=DELETE), cube(6.0, 1.0, at=15, marker_id=2, action=DELETE)]),
    ],
    # Red at 20 s, deleted at 5 s, green at 10 s, the same green set again at 25 s: green at 25 s.
    "a set re-sent after a delete stamped back": [
        (1, [cube(1.0, 1.0, at=20)]),
        (2, [cube(1.0, 1.0, at=5, action=DELETE)]),
        (3, [cube(3.0, 0.0, at=10)]),
        (4, [cube(3.0, 0.0, at=25)]),
    ],
    "slam_toolbox's cycle with a late array": [
        (1, cycle(1)),
        (2, cycle(2, moved=2.5)),
        (3, cycle(3, moved=2.5, red=0.5, extra=True)),
        (4, cycle(2.5, moved=7.0, red=0.25)),
        (5, cycle(4, moved=7.0, red=0.25)),
    ],
}

#: Line strips with per-point colours: each segment a strip of its own, kept as a list of arrays.
COLOURED_STRIPS: list[tuple[float, list[dict[str, Any]]]] = [
    (
        seconds,
        [
            placed(
                "path",
                1,
                seconds,
                LINE_STRIP,
                at=seconds,
                points=STRIP,
                colors=[{"r": 1.0, "a": 1.0}, {"g": 1.0, "a": 1.0}, {"b": 1.0, "a": 1.0}],
            ),
            cube(seconds, 1.0, at=seconds),
        ],
    )
    for seconds in (1, 2, 3, 3)
]


class Kept(StoreSink):
    """A store sink that also keeps the rows it is given, in order."""

    def __init__(self, store: ChunkStore) -> None:
        super().__init__(store)
        self.rows: list[Row] = []

    def write(self, rows: Sequence[Row], default_times: Any) -> None:
        self.rows.extend(rows)
        super().write(rows, default_times)


def whole_rows(bag: Path) -> Kept:
    """The bag's MarkerArray converted by a pipeline that writes rows whole (as a live bridge does)."""
    kept = Kept(ChunkStore())
    pipeline = Pipeline([kept])
    pipeline.add_topic("/markers", MARKER_ARRAY)
    decoder = TypeResolver([TopicInfo("/markers", MARKER_ARRAY)], "jazzy").choose(MARKER_ARRAY).decoder
    assert decoder is not None
    with bag.open("rb") as stream:
        for _schema, _channel, message in make_reader(stream).iter_messages():
            pipeline.process("/markers", decoder(message.data), message.log_time)
    pipeline.finish()
    return kept


def converted(bag: Path) -> Kept:
    """The bag converted as ``convert`` and ``view`` convert it (partial rows), into a store."""
    kept = Kept(ChunkStore())
    summary = convert_bags([bag], None, extra_sinks=[kept])
    assert [(topic.topic, topic.errors) for topic in summary.topics] == [("/markers", 0)]
    return kept


def shown(store: ChunkStore, timeline: str, time: int) -> dict[str, dict[str, Any]]:
    return {
        entity: {name: array.to_pylist() for name, array in store.latest_at(entity, timeline, time).items()}
        for entity in store.entities()
    }


def probe_times(stream: list[tuple[float, list[dict[str, Any]]]]) -> list[int]:
    """Every receive time and marker stamp of the stream, and just before and after each."""
    times = {T0 + round(at * SECOND) for at, _ in stream}
    stamps = (each["header"]["stamp"] for _, markers in stream for each in markers if "header" in each)
    times |= {stamp["sec"] * SECOND + stamp["nanosec"] for stamp in stamps if stamp["sec"]}
    return sorted({*times, *(time - 1 for time in times), *(time + SECOND // 4 for time in times)})


def assert_same_everywhere(
    stream: list[tuple[float, list[dict[str, Any]]]], partial: ChunkStore, whole: ChunkStore
) -> None:
    assert set(partial.entities()) == set(whole.entities())
    for timeline in (LOG_TIME, ROS_TIME):
        for time in probe_times(stream):
            assert shown(partial, timeline, time) == shown(whole, timeline, time), (timeline, time - T0)


@pytest.fixture(scope="module")
def forward(tmp_path_factory: pytest.TempPathFactory) -> tuple[Kept, Kept]:
    """:data:`STREAM` converted with partial rows and with whole rows."""
    bag = write_bag(tmp_path_factory.mktemp("partial") / "markers.mcap", STREAM)
    return converted(bag), whole_rows(bag)


def test_every_time_shows_what_whole_rows_show(forward: tuple[Kept, Kept]) -> None:
    partial, whole = forward
    assert_same_everywhere(STREAM, partial.store, whole.store)


def group_rows(rows: list[Row], entity_path: str) -> list[tuple[int, list[str]]]:
    """(ros_time in seconds after T0, component names) of each row of the entity, in order."""
    return [
        (round((row.times[ROS_TIME] - T0) / SECOND), sorted(row.components))
        for row in rows
        if row.entity_path == entity_path and row.archetype != "CoordinateFrame"
    ]


EVERYTHING = ["centers", "colors", "half_sizes", "quaternions"]


def test_whole_rows_repeat_every_component(forward: tuple[Kept, Kept]) -> None:
    cubes = group_rows(forward[1].rows, "/markers/p/CUBE")
    assert [seconds for seconds, _names in cubes] == [1, 2, 3, 4, 5, 7, 10]
    assert all(names == EVERYTHING for _seconds, names in cubes)


def test_rows_leave_out_what_the_entity_already_shows(forward: tuple[Kept, Kept]) -> None:
    rows = forward[0].rows
    assert group_rows(rows, "/markers/p/CUBE") == [
        (1, EVERYTHING),
        (2, ["centers"]),  # one cube moved
        (3, ["colors"]),  # one colour changed
        # 4 s: the same set again, no row; 5 s: a cube more, every component.
        (5, EVERYTHING),
        (7, EVERYTHING),  # DELETE: fewer instances
        (10, ["centers", "colors"]),
    ]
    # The strip and the labels never change: one row each.
    assert group_rows(rows, "/markers/s/LINE_STRIP") == [(1, ["colors", "radii", "strips"])]
    labels = ["colors", "labels", "positions", "radii"]
    assert group_rows(rows, "/markers/t/TEXT_VIEW_FACING") == [(1, labels)]
    # Namespace q emptied at 8 s (its entity cleared) and re-added as it was: whole again after the Clear.
    assert group_rows(rows, "/markers/q/SPHERE") == [(1, EVERYTHING), (8, ["is_recursive"]), (9, EVERYTHING)]


@pytest.mark.parametrize("case", sorted(BACKWARDS))
def test_stamps_going_back_show_what_whole_rows_show(case: str, tmp_path: Path) -> None:
    stream = BACKWARDS[case]
    bag = write_bag(tmp_path / "markers.mcap", stream)
    partial = converted(bag)
    assert_same_everywhere(stream, partial.store, whole_rows(bag).store)
    # The topic was written again whole after its partial rows: the last row of the cubes holds them all.
    assert group_rows(partial.rows, "/markers/p/CUBE")[-1][1] in (EVERYTHING, ["is_recursive"])


def test_strips_with_per_point_colours_compare_as_lists_of_arrays(tmp_path: Path) -> None:
    # Their strips are a list of arrays: comparing them as one value raised, and every array after the
    # first failed to convert.
    bag = write_bag(tmp_path / "markers.mcap", COLOURED_STRIPS)
    partial = converted(bag)
    assert_same_everywhere(COLOURED_STRIPS, partial.store, whole_rows(bag).store)
    assert [seconds for seconds, _names in group_rows(partial.rows, "/markers/path/LINE_STRIP")] == [1, 2, 3]


def test_a_converted_file_holds_the_partial_rows(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "markers.mcap", STREAM)
    rrd = tmp_path / "markers.rrd"
    convert_bags([bag], rrd)
    verify_rrd(rrd)
    cube_columns = [
        sorted(name for name in batch.schema.names if name.startswith("Boxes3D:"))
        for entity, _static, batch in rrd_chunks(rrd)
        if entity == "/markers/p/CUBE"
    ]
    assert ["Boxes3D:centers"] in cube_columns
    assert ["Boxes3D:centers", "Boxes3D:colors", "Boxes3D:half_sizes", "Boxes3D:quaternions"] in cube_columns


@pytest.mark.parametrize("case", ["forward", "a colour stamped between"])
def test_a_file_opened_lazily_shows_what_the_whole_file_shows(case: str, tmp_path: Path) -> None:
    # The viewer's lazy reader loads, per entity and component, the chunk that holds the latest row: the
    # sizes and colours of an early whole row, the centers of a later partial one.
    stream = STREAM if case == "forward" else BACKWARDS[case]
    bag = write_bag(tmp_path / "markers.mcap", stream)
    rrd = tmp_path / "markers.rrd"
    convert_bags([bag], rrd)
    eager = ChunkStore()
    load_rrd(rrd, eager)
    lazy_store = ChunkStore()
    lazy = open_rrd_lazily(rrd, lazy_store, budget_bytes=1)
    assert lazy is not None
    assert not lazy.fits_whole
    for timeline in (LOG_TIME, ROS_TIME):
        for time in probe_times(stream):
            lazy.show(timeline, time)
            assert shown(lazy_store, timeline, time) == shown(eager, timeline, time), (timeline, time - T0)
    assert lazy.counts.unloads > 0  # chunks came and went as the times were shown
    lazy.close()


def test_labels_compare_as_whole_lists() -> None:
    # Labels are compared in one step; a changed, missing or retyped label still counts as a change.
    labels = [f"node {index}" for index in range(50)]
    assert same_component(labels, list(labels))
    assert same_component(tuple(labels), labels)
    assert not same_component(labels, [*labels[:-1], "node x"])
    assert not same_component(labels, labels[:-1])
    assert not same_component(["1"], [1])
    strips = [np.zeros((2, 3)), np.ones((2, 3))]
    assert same_component(strips, [array.copy() for array in strips])
    assert not same_component(strips, [strips[0], np.zeros((2, 3))])
    assert not same_component(["a", "b"], ["a", np.zeros(2)])  # a string list meeting an array


def test_arrays_compare_by_type_shape_and_bytes() -> None:
    positions = np.array([[1.0, np.nan, 0.0]], dtype=np.float32)
    assert same_component(positions, positions.copy())  # a NaN shows as itself: not written again
    assert not same_component(positions, positions.astype(np.float64))
    assert not same_component(positions, positions.reshape(3, 1))
    assert not same_component(np.zeros(2, np.float32), -np.zeros(2, np.float32))  # written again, harmless
    assert same_component(positions[:, ::2], np.array([[1.0, 0.0]], dtype=np.float32))  # a strided view
