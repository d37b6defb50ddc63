"""MarkerArray DELETE / DELETEALL / lifetime across time: a small MCAP through convert_bags, read back from
the .rrd (checked by Rerun's verifier) and from the viewer's store, scrubbed with latest-at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcap_ros2.writer import Writer
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.convert.marker_frame_lock import FRAME_LOCKED
from rerun_bridge.replay import convert_bags
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_bags, load_rrd
from test.conftest import verify_rrd

SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND
CUBE, SPHERE, LINE_STRIP = 1, 2, 4
ADD, DELETE, DELETEALL = 0, 2, 3


def marker(ns: str, marker_id: int, kind: int = CUBE, action: int = ADD, **fields: Any) -> dict[str, Any]:
    stamp = fields.pop("stamp", 0)
    return {
        "header": {"stamp": {"sec": stamp // SECOND, "nanosec": stamp % SECOND}, "frame_id": "map"},
        "ns": ns,
        "id": marker_id,
        "type": kind,
        "action": action,
        "pose": {"orientation": {"w": 1.0}},
        "scale": {"x": 1.0, "y": 1.0, "z": 1.0},
        "color": {"r": 1.0, "a": 1.0},
        **fields,
    }


#: (seconds after T0, markers): what a robot might publish on /markers.
STREAM = [
    (
        1,
        [marker("a", 1), marker("a", 2, SPHERE, lifetime={"sec": 1, "nanosec": 500_000_000}), marker("b", 3)],
    ),
    (1.5, [marker("c", 7)]),
    (2, [marker("a", 1, action=DELETE)]),
    # slam_toolbox's cycle: DELETEALL of every namespace, then the new set (batched per namespace and type).
    (3, [marker("", 0, action=DELETEALL), marker("a", 4, SPHERE, stamp=T0 + 3 * SECOND)]),
    (4, [marker("b", 5, LINE_STRIP, points=[{"x": 0.0}, {"x": 1.0}], stamp=T0 + 4 * SECOND)]),
    (5, [marker("a", 0, action=DELETEALL, stamp=T0 + 5 * SECOND)]),
    # A marker deleted and added again in one array (rows of equal time, in message order) shows.
    (6, [marker("c", 7, action=DELETE), marker("c", 7)]),
]


def write_bag(path: Path, arrays: list[tuple[float, list[dict[str, Any]]]] = STREAM) -> Path:
    typestore = get_typestore(Stores.ROS2_JAZZY)
    name = "visualization_msgs/msg/MarkerArray"
    with path.open("wb") as stream:
        writer = Writer(stream)
        schema = writer.register_msgdef(name, typestore.generate_msgdef(name, ros_version=2)[0])
        for seconds, markers in arrays:
            writer.write_message(
                "/markers", schema, {"markers": markers}, log_time=T0 + round(seconds * SECOND)
            )
        writer.finish()  # type: ignore[no-untyped-call]
    return path


@pytest.fixture(params=["rrd", "store"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ChunkStore:
    """The converted stream as the viewer sees it: read back from the .rrd, or converted straight in."""
    bag = write_bag(tmp_path / "markers.mcap")
    store = ChunkStore()
    if request.param == "rrd":
        rrd = tmp_path / "markers.rrd"
        summary = convert_bags([bag], rrd)
        assert [(t.topic, t.errors, t.messages) for t in summary.topics] == [("/markers", 0, len(STREAM))]
        verify_rrd(rrd)
        load_rrd(rrd, store)
    else:
        load_bags([bag], store)
    return store


def shown(store: ChunkStore, seconds: float, timeline: str = "log_time") -> set[str]:
    """Entities that draw a shape at that time."""
    time = T0 + round(seconds * SECOND)
    shapes = ("Boxes3D:half_sizes", "Ellipsoids3D:half_sizes", "LineStrips3D:strips")
    return {
        entity
        for entity in store.entities()
        if any(shape in store.latest_at(entity, timeline, time) for shape in shapes)
    }


def test_deletes_deleteall_and_lifetime_while_scrubbing(store: ChunkStore) -> None:
    # Markers of one namespace and type share a row on <topic>/<ns>/<TYPE>; one with a lifetime has its own.
    assert shown(store, 1.0) == {"/markers/a/CUBE", "/markers/a/2", "/markers/b/CUBE"}
    assert shown(store, 2.0) == {"/markers/a/2", "/markers/b/CUBE", "/markers/c/CUBE"}  # DELETE a/1
    assert shown(store, 2.4) == {"/markers/a/2", "/markers/b/CUBE", "/markers/c/CUBE"}
    assert shown(store, 2.5) == {"/markers/b/CUBE", "/markers/c/CUBE"}  # a/2's lifetime of 1.5 s is over
    # DELETEALL without a namespace: nothing earlier shows; the sphere added after it in the same array does.
    assert shown(store, 3.0) == {"/markers/a/SPHERE"}
    assert shown(store, 4.0) == {"/markers/a/SPHERE", "/markers/b/LINE_STRIP"}
    assert shown(store, 5.0) == {"/markers/b/LINE_STRIP"}  # DELETEALL of namespace a only
    assert shown(store, 6.0) == {"/markers/b/LINE_STRIP", "/markers/c/CUBE"}
    assert shown(store, 1.2) == {"/markers/a/CUBE", "/markers/a/2", "/markers/b/CUBE"}  # scrubbing back


def test_markers_with_stamps_follow_them_on_ros_time(store: ChunkStore) -> None:
    # The arrays' stamped markers are on ros_time at their stamps, the DELETEALL at the array's stamp.
    assert shown(store, 3.0, "ros_time") == {"/markers/a/SPHERE"}
    assert shown(store, 4.0, "ros_time") == {"/markers/a/SPHERE", "/markers/b/LINE_STRIP"}
    assert shown(store, 5.0, "ros_time") == {"/markers/b/LINE_STRIP"}


def test_markers_stamped_zero_are_on_ros_time_at_their_arrays_receive_time(store: ChunkStore) -> None:
    # RViz's "latest": as any message stamped zero (docs/data-model.md), not left off ros_time, where a
    # viewer scrubbing the cameras' stamps would show none of them. Their lifetime counts from there too.
    for timeline in ("log_time", "ros_time"):
        assert shown(store, 1.0, timeline) == {"/markers/a/CUBE", "/markers/a/2", "/markers/b/CUBE"}
        assert shown(store, 2.4, timeline) == {"/markers/a/2", "/markers/b/CUBE", "/markers/c/CUBE"}
        assert shown(store, 2.5, timeline) == {"/markers/b/CUBE", "/markers/c/CUBE"}
        assert shown(store, 6.0, timeline) == {"/markers/b/LINE_STRIP", "/markers/c/CUBE"}
    assert shown(store, 0.9, "ros_time") == set()


def at_x(ns: str, marker_id: int, x: float, kind: int = CUBE, **fields: Any) -> dict[str, Any]:
    """A marker placed at ``x`` (which names it in the tests below)."""
    return marker(ns, marker_id, kind, pose={"position": {"x": x}, "orientation": {"w": 1.0}}, **fields)


#: Arrays without DELETEALL updating the topic's markers, as RViz keeps them.
UPDATES = [
    (1, [at_x("p", 1, 1.0), at_x("p", 2, 2.0), at_x("p", 3, 3.0), at_x("q", 1, 10.0, SPHERE)]),
    (1.5, [at_x("q", 2, 20.0, SPHERE)]),  # a later array adds to the group
    (2, [marker("p", 2, action=DELETE)]),  # removes exactly p/2
    (3, [at_x("p", 3, 30.0)]),  # MODIFY: p/3 moves
    (4, [at_x("p", 4, 4.0, lifetime={"sec": 0, "nanosec": 500_000_000})]),  # up until 4.5
    (5, [marker("q", 0, action=DELETEALL)]),  # namespace q only
    (6, [at_x("p", 1, 1.0), at_x("p", 3, 3.0)]),  # the set re-sent: p/3 back
]


@pytest.fixture(params=["rrd", "store"])
def updated(request: pytest.FixtureRequest, tmp_path: Path) -> ChunkStore:
    """:data:`UPDATES` read back from a verified .rrd, or converted straight into the viewer's store."""
    return converted(tmp_path, UPDATES, request.param)


def xs(store: ChunkStore, seconds: float, entity: str, component: str = "Boxes3D:centers") -> list[float]:
    """The x of each instance an entity draws at that time (latest-at), in the row's order."""
    found = store.latest_at(entity, "log_time", T0 + round(seconds * SECOND)).get(component)
    return [] if found is None else [center[0] for center in found.to_pylist()]


def test_a_delete_in_a_later_array_removes_exactly_its_marker(updated: ChunkStore) -> None:
    assert xs(updated, 1.0, "/markers/p/CUBE") == [1.0, 2.0, 3.0]
    assert xs(updated, 1.9, "/markers/p/CUBE") == [1.0, 2.0, 3.0]
    assert xs(updated, 2.0, "/markers/p/CUBE") == [1.0, 3.0]
    assert xs(updated, 2.9, "/markers/p/CUBE") == [1.0, 3.0]
    assert "/markers/p/2" not in updated.entities()  # never an entity of its own


def test_a_modify_moves_its_marker_and_a_resend_keeps_the_set(updated: ChunkStore) -> None:
    assert xs(updated, 3.0, "/markers/p/CUBE") == [1.0, 30.0]
    assert xs(updated, 6.0, "/markers/p/CUBE") == [1.0, 3.0]
    assert xs(updated, 2.5, "/markers/p/CUBE") == [1.0, 3.0]  # scrubbing back


def test_a_lifetime_ends_its_marker_only(updated: ChunkStore) -> None:
    assert xs(updated, 4.2, "/markers/p/4") == [4.0]
    assert xs(updated, 4.5, "/markers/p/4") == []
    assert xs(updated, 4.5, "/markers/p/CUBE") == [1.0, 30.0]


def test_deleteall_of_one_namespace_leaves_the_other(updated: ChunkStore) -> None:
    spheres = "Ellipsoids3D:centers"
    assert xs(updated, 1.0, "/markers/q/SPHERE", spheres) == [10.0]
    assert xs(updated, 1.5, "/markers/q/SPHERE", spheres) == [10.0, 20.0]
    assert xs(updated, 4.9, "/markers/q/SPHERE", spheres) == [10.0, 20.0]
    assert xs(updated, 5.0, "/markers/q/SPHERE", spheres) == []
    assert xs(updated, 5.0, "/markers/p/CUBE") == [1.0, 30.0]


#: A marker re-published before its lifetime ends (RViz restarts the lifetime), one left to expire, and one
#: whose lifetime outlasts the recording.
REPUBLISHED = [
    (1, [marker("p", 1, lifetime={"sec": 1, "nanosec": 0})]),
    (1.5, [marker("p", 1, lifetime={"sec": 1, "nanosec": 0})]),  # refreshed: up until 2.5, not 2
    (1.8, [marker("q", 2, lifetime={"sec": 0, "nanosec": 500_000_000})]),  # up until 2.3
    (4, [marker("r", 3, lifetime={"sec": 2, "nanosec": 0})]),  # the last message: up until 6
]


def converted(tmp_path: Path, arrays: list[tuple[float, list[dict[str, Any]]]], via: str) -> ChunkStore:
    """``arrays`` as the viewer sees them: read back from a verified .rrd (``via`` "rrd"), or converted
    straight into its store."""
    bag = write_bag(tmp_path / "stream.mcap", arrays)
    store = ChunkStore()
    if via == "rrd":
        rrd = tmp_path / "stream.rrd"
        convert_bags([bag], rrd)
        verify_rrd(rrd)
        load_rrd(rrd, store)
    else:
        load_bags([bag], store)
    return store


@pytest.mark.parametrize("via", ["rrd", "store"])
def test_a_marker_republished_within_its_lifetime_stays_up(tmp_path: Path, via: str) -> None:
    store = converted(tmp_path, REPUBLISHED, via)
    assert shown(store, 1.0) == {"/markers/p/1"}
    assert shown(store, 2.2) == {"/markers/p/1", "/markers/q/2"}  # past the first message's expiry
    assert shown(store, 2.4) == {"/markers/p/1"}  # q/2 expired, nothing re-published it
    assert shown(store, 2.6) == set()  # p/1's refreshed lifetime is over
    assert shown(store, 5.9) == {"/markers/r/3"}
    assert shown(store, 6.0) == set()  # cleared at the end of the stream, at its expiry


FRAME_LOCKED_STREAM: list[tuple[float, list[dict[str, Any]]]] = [
    (1, [at_x("p", 1, 1.0), at_x("p", 2, 2.0, frame_locked=True)]),
    (2, [at_x("p", 1, 1.0), at_x("p", 2, 2.0)]),  # back in its group
    (3, [at_x("p", 2, 2.0, frame_locked=True, lifetime={"sec": 5, "nanosec": 0})]),
    (4, [at_x("p", 2, 2.0, lifetime={"sec": 5, "nanosec": 0})]),  # unlocked on its own entity
]


@pytest.mark.parametrize("via", ["rrd", "store"])
def test_a_frame_locked_marker_has_an_entity_marked_frame_locked(tmp_path: Path, via: str) -> None:
    """RViz moves a frame-locked marker with its frame: it gets an entity of its own, marked, which the
    embedded viewer places by TF at the time shown (test_spatial3d_view); unmarked once it is not."""
    store = converted(tmp_path, FRAME_LOCKED_STREAM, via)

    def locked(seconds: float) -> list[bool] | None:
        found = store.latest_at("/markers/p/2", "log_time", T0 + round(seconds * SECOND)).get(FRAME_LOCKED)
        return None if found is None else found.to_pylist()

    assert xs(store, 1.0, "/markers/p/CUBE") == [1.0]
    assert xs(store, 1.0, "/markers/p/2") == [2.0]
    assert locked(1.0) == [True]
    assert xs(store, 2.0, "/markers/p/CUBE") == [1.0, 2.0]
    assert locked(2.0) is None
    assert locked(3.0) == [True]
    assert locked(4.0) == [False]
    assert xs(store, 4.0, "/markers/p/2") == [2.0]
