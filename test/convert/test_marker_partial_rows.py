"""A conversion to one file writes a marker group's row with only the components its entity does not
already show (docs/markers.md): latest-at must give, at every time on every timeline, what whole rows give."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from mcap.reader import make_reader

from rerun_bridge.cdr.decoding import TypeResolver
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


#: (seconds after T0, markers): arrays that change some components of a group, none, or its size.
STREAM: list[tuple[float, list[dict[str, Any]]]] = [
    (1, cycle(1)),
    (2, cycle(2, moved=2.5)),  # one cube moved: centers change, sizes and colours do not
    (3, cycle(3, moved=2.5, red=0.5)),  # one colour changes
    (4, cycle(4, moved=2.5, red=0.5)),  # the same set again: nothing changes
    (5, cycle(5, moved=2.5, red=0.5, extra=True)),  # a cube more: every component of the cubes
    (6, cycle(4.5, moved=7.0, red=0.5, extra=True)),  # stamped before the array at 5 s (ros_time)
    (7, [placed("p", 3, 3.0, action=DELETE)]),  # DELETE
    (8, [marker("q", 0, action=DELETEALL)]),  # namespace q emptied: its entity cleared
    (9, [placed("q", 1, 10.0, SPHERE, at=4.0)]),  # re-added after the Clear, stamped in the past
    (10, cycle(10)),
]


def converted(bag: Path, whole_history: bool) -> tuple[ChunkStore, list[Row]]:
    """The bag's MarkerArray converted by a pipeline into a store, and the rows it wrote."""
    store = ChunkStore()
    rows: list[Row] = []

    class Kept(StoreSink):
        def write(self, given: Sequence[Row], default_times: Any) -> None:
            rows.extend(given)
            super().write(given, default_times)

    pipeline = Pipeline([Kept(store)], whole_history=whole_history)
    pipeline.add_topic("/markers", MARKER_ARRAY)
    decoder = TypeResolver([TopicInfo("/markers", MARKER_ARRAY)], "jazzy").choose(MARKER_ARRAY).decoder
    assert decoder is not None
    with bag.open("rb") as stream:
        for _schema, _channel, message in make_reader(stream).iter_messages():
            pipeline.process("/markers", decoder(message.data), message.log_time)
    pipeline.finish()
    return store, rows


def shown(store: ChunkStore, timeline: str, time: int) -> dict[str, dict[str, Any]]:
    return {
        entity: {name: array.to_pylist() for name, array in store.latest_at(entity, timeline, time).items()}
        for entity in store.entities()
    }


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, tuple[ChunkStore, list[Row]]]:
    bag = write_bag(tmp_path_factory.mktemp("partial") / "markers.mcap", STREAM)
    return {whole_history: converted(bag, whole_history) for whole_history in (False, True)}


def probe_times() -> list[int]:
    seconds = sorted({at for at, _ in STREAM} | {4.5, 4.0})
    times = [T0 + round(at * SECOND) for at in seconds]
    return sorted({*times, *(time - 1 for time in times), *(time + SECOND // 4 for time in times)})


@pytest.mark.parametrize("timeline", [LOG_TIME, ROS_TIME])
def test_every_time_shows_what_whole_rows_show(
    stores: dict[bool, tuple[ChunkStore, list[Row]]], timeline: str
) -> None:
    whole, partial = stores[False][0], stores[True][0]
    assert set(partial.entities()) == set(whole.entities())
    for time in probe_times():
        assert shown(partial, timeline, time) == shown(whole, timeline, time), (timeline, time - T0)


def group_rows(rows: list[Row], entity_path: str) -> list[tuple[int, list[str]]]:
    """(ros_time in seconds after T0, component names) of each row of the entity, in order."""
    return [
        (round((row.times[ROS_TIME] - T0) / SECOND), sorted(row.components))
        for row in rows
        if row.entity_path == entity_path and row.archetype != "CoordinateFrame"
    ]


EVERYTHING = ["centers", "colors", "half_sizes", "quaternions"]


def test_whole_rows_repeat_every_component(stores: dict[bool, tuple[ChunkStore, list[Row]]]) -> None:
    cubes = group_rows(stores[False][1], "/markers/p/CUBE")
    assert [seconds for seconds, _names in cubes] == [1, 2, 3, 4, 5, 4, 7, 10]
    assert all(names == EVERYTHING for _seconds, names in cubes)


def test_rows_leave_out_what_the_entity_already_shows(
    stores: dict[bool, tuple[ChunkStore, list[Row]]],
) -> None:
    rows = stores[True][1]
    assert group_rows(rows, "/markers/p/CUBE") == [
        (1, EVERYTHING),
        (2, ["centers"]),  # one cube moved
        (3, ["colors"]),  # one colour changed
        # 4 s: the same set again, no row; 5 s: a cube more, every component.
        (5, EVERYTHING),
        (4, EVERYTHING),  # stamped before the latest row (5 s): whole, or 4.5 s would show 3 s' colours
        (7, EVERYTHING),  # after a row stamped back, whole until one is the latest again
        (10, ["centers", "colors"]),
    ]
    # The strip and the labels never change: rows only where a row must be whole.
    strip, labels = ["colors", "radii", "strips"], ["colors", "labels", "positions", "radii"]
    assert group_rows(rows, "/markers/s/LINE_STRIP") == [(1, strip), (4, strip), (10, strip)]
    assert group_rows(rows, "/markers/t/TEXT_VIEW_FACING") == [(1, labels), (4, labels), (10, labels)]


def test_after_a_clear_rows_are_whole_again(stores: dict[bool, tuple[ChunkStore, list[Row]]]) -> None:
    # Namespace q emptied at 8 s (its entity cleared), re-added at 9 s stamped 4 s: whole, and hidden by the
    # Clear after 8 s, so the same sphere at 10 s is written whole again.
    assert group_rows(stores[True][1], "/markers/q/SPHERE") == [
        (1, EVERYTHING),
        (4, EVERYTHING),
        (8, ["is_recursive"]),
        (4, EVERYTHING),
        (10, EVERYTHING),
    ]


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


def test_a_file_opened_lazily_shows_what_the_whole_file_shows(tmp_path: Path) -> None:
    # The viewer's lazy reader loads, per entity and component, the chunk that holds the latest row: the
    # sizes and colours of an early whole row, the centers of a later partial one.
    bag = write_bag(tmp_path / "markers.mcap", STREAM)
    rrd = tmp_path / "markers.rrd"
    convert_bags([bag], rrd)
    eager = ChunkStore()
    load_rrd(rrd, eager)
    lazy_store = ChunkStore()
    lazy = open_rrd_lazily(rrd, lazy_store, budget_bytes=1)
    assert lazy is not None
    assert not lazy.fits_whole
    for timeline in (LOG_TIME, ROS_TIME):
        for time in probe_times():
            lazy.show(timeline, time)
            assert shown(lazy_store, timeline, time) == shown(eager, timeline, time), (timeline, time - T0)
    assert lazy.counts.unloads > 0  # chunks came and went as the times were shown
    lazy.close()
