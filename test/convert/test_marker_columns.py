"""MarkerArrays read as columns (cdr/marker_scan.py) and converted group by group (convert/marker_columns.py)
give exactly the rows of the marker-by-marker path, one array and a sequence of arrays updating the topic's
markers: every marker type, per-point colours, lifetimes, other frames, DELETE / DELETEALL mixed in, ids
out of order and repeated; bad markers and malformed payloads end as they always did. Each test runs with
the C walk of an array's layout and with numpy's."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap_ros2.writer import Writer
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.cdr import marker_scan
from rerun_bridge.cdr.decoding import TypeResolver, _make_decoder
from rerun_bridge.cdr.fast import MarkerArray, ScannedMarkerArray
from rerun_bridge.convert.marker_columns import has_bad_markers
from rerun_bridge.convert.registry import ConvertContext, SharedState
from rerun_bridge.convert.visualization_msgs import convert_marker_array
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.records import TopicInfo
from rerun_bridge.model.rows import Row
from rerun_bridge.model.strips import Strips
from rerun_bridge.replay import convert_bags
from test.conftest import verify_rrd

STORE = get_typestore(Stores.ROS2_JAZZY)
TYPE = "visualization_msgs/msg/MarkerArray"
SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND
ARROW, CUBE, SPHERE, CYLINDER, LINE_STRIP, LINE_LIST = range(6)
CUBE_LIST, SPHERE_LIST, POINTS, TEXT, MESH, TRIANGLES = range(6, 12)
ADD, DELETE, DELETEALL = 0, 2, 3
#: Points each type gets in the mixes (ARROW: by pose, and by two points below).
POINT_COUNTS = {LINE_STRIP: 4, LINE_LIST: 4, CUBE_LIST: 3, SPHERE_LIST: 2, POINTS: 5, TRIANGLES: 6}


@pytest.fixture(autouse=True, params=["C walk", "numpy walk"])
def marker_walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test on both of the scan's walks: the C extension's (built by setup) and numpy's fallback."""
    if request.param == "numpy walk":
        monkeypatch.setattr(marker_scan, "_marker_walk", None)
    else:
        assert marker_scan.native_walk_built(), "the C extension is not built (scripts/setup.sh)"
    return str(request.param)


def marker(ns: str, marker_id: int, kind: int = CUBE, action: int = ADD, **fields: Any) -> Any:
    """A visualization_msgs/Marker with a pose that rotates and scales, in frame ``map`` unless given."""
    types = STORE.types
    point, color = types["geometry_msgs/msg/Point"], types["std_msgs/msg/ColorRGBA"]
    stamp = fields.pop("stamp", T0 + marker_id)
    frame = fields.pop("frame", "map")
    points = [point(0.5 * index, math.sin(index), 0.25 - index) for index in range(fields.pop("points", 0))]
    colors = [color(0.1 * index, 0.3, 1.5, 0.5) for index in range(fields.pop("colors", 0))]
    quaternion = fields.pop("quaternion", (0.1 * marker_id, -0.2, 0.3, 0.9))
    lifetime = fields.pop("lifetime", 0)
    return types["visualization_msgs/msg/Marker"](
        header=types["std_msgs/msg/Header"](
            types["builtin_interfaces/msg/Time"](*divmod(stamp, SECOND)), frame
        ),
        ns=ns,
        id=marker_id,
        type=kind,
        action=action,
        pose=types["geometry_msgs/msg/Pose"](
            point(*fields.pop("position", (marker_id * 0.7, -1.25, 3.0))),
            types["geometry_msgs/msg/Quaternion"](*quaternion),
        ),
        scale=types["geometry_msgs/msg/Vector3"](*fields.pop("scale", (0.3, 0.2, 0.1))),
        color=color(*fields.pop("color", (0.2, 0.4, 0.6, 0.8))),
        lifetime=types["builtin_interfaces/msg/Duration"](*divmod(lifetime, SECOND)),
        frame_locked=fields.pop("frame_locked", False),
        points=points,
        colors=colors,
        texture_resource="",
        texture=types["sensor_msgs/msg/CompressedImage"](
            types["std_msgs/msg/Header"](types["builtin_interfaces/msg/Time"](0, 0), ""),
            "",
            np.zeros(0, np.uint8),
        ),
        uv_coordinates=[],
        text=fields.pop("text", ""),
        mesh_resource=fields.pop("mesh_resource", ""),
        mesh_file=types["visualization_msgs/msg/MeshFile"]("", np.zeros(0, np.uint8)),
        mesh_use_embedded_materials=False,
        **fields,
    )


def every_type(ns: str, first_id: int, per_point_colors: bool, **fields: Any) -> list[Any]:
    """One marker of every type (ARROW twice: by pose and by points), ids from ``first_id``."""
    markers = []
    for offset, kind in enumerate(range(12)):
        count = POINT_COUNTS.get(kind, 0)
        colors = count if per_point_colors and count else 0
        extra: dict[str, Any] = {"text": f"näme {first_id + offset}"} if kind == TEXT else {}
        if kind == MESH:
            extra["mesh_resource"] = "package://nowhere/mesh.stl"
        markers.append(marker(ns, first_id + offset, kind, points=count, colors=colors, **extra, **fields))
    markers.append(marker(ns, first_id + 12, ARROW, points=2, **fields))
    return markers


def cdr(markers: list[Any]) -> bytes:
    return bytes(STORE.serialize_cdr(STORE.types[TYPE](markers), TYPE))


def decoder() -> Callable[[bytes], Any]:
    decode = TypeResolver([TopicInfo("/markers", TYPE)], "jazzy").choose(TYPE).decoder
    assert decode is not None
    return decode


def rows_of(message: Any, shared: SharedState | None = None) -> list[Row] | type[Exception]:
    """The rows of one array; with ``shared``, applied to the markers earlier arrays left there."""
    ctx = ConvertContext("/markers", TYPE, "/markers", shared=shared or SharedState())
    try:
        return convert_marker_array(message, ctx)
    except ConversionError as err:
        return type(err), str(err)  # type: ignore[return-value]


def assert_same_rows(fast: Any, slow: Any) -> None:
    if not isinstance(slow, list):
        assert fast == slow
        return
    assert isinstance(fast, list)
    assert [(r.entity_path, r.archetype) for r in fast] == [(r.entity_path, r.archetype) for r in slow]
    for fast_row, slow_row in zip(fast, slow, strict=True):
        where = (fast_row.entity_path, fast_row.archetype)
        assert (fast_row.times, fast_row.delay_ns, fast_row.static) == (
            slow_row.times,
            slow_row.delay_ns,
            slow_row.static,
        ), where
        assert list(fast_row.components) == list(slow_row.components), where
        for name, value in fast_row.components.items():
            _assert_same_value(value, slow_row.components[name], (*where, name))
        assert list(fast_row.extra) == list(slow_row.extra), where


def _assert_same_value(fast: Any, slow: Any, where: Any) -> None:
    if isinstance(slow, np.ndarray):
        assert isinstance(fast, np.ndarray), where
        assert (fast.dtype, fast.shape) == (slow.dtype, slow.shape), where
        assert np.array_equal(fast, slow, equal_nan=True), where
    elif isinstance(slow, list):
        if isinstance(fast, Strips):  # the same strips, held as one array of points
            fast = list(fast)
        assert isinstance(fast, list), where
        assert len(fast) == len(slow), where
        for fast_item, slow_item in zip(fast, slow, strict=True):
            _assert_same_value(fast_item, slow_item, where)
    else:
        assert fast == slow, where


def scanned_and_plain(markers: list[Any]) -> tuple[Any, Any]:
    """The array as the bridge decodes it (scanned), and the same markers as a plain MarkerArray."""
    message = decoder()(cdr(markers))
    assert isinstance(message, ScannedMarkerArray)
    return message, MarkerArray(list(message.markers))


#: Arrays with deletes first, then additions (slam_toolbox's pattern).
REDRAWN = {
    "deleteall_then_every_type": [
        marker("", 0, action=DELETEALL, frame=""),
        *every_type("graph", 10, per_point_colors=False),
        *every_type("edges", 10, per_point_colors=True),
    ],
    "some_namespaces_redrawn": [
        marker("graph", 0, action=DELETEALL, frame=""),
        marker("other", 0, action=DELETE, frame=""),
        *every_type("graph", 1, per_point_colors=True),
        *every_type("kept", 1, per_point_colors=False),
    ],
    "nothing_batched": [
        marker("", 0, action=DELETEALL),
        marker("a", 1, CUBE, lifetime=SECOND),
        marker("a", 2, MESH, mesh_resource="package://nowhere/mesh.stl"),
    ],
    "only_deletes": [marker("", 0, action=DELETEALL), marker("a", 3, action=DELETE)],
    # Namespaces and frames that differ only late, past several 4-byte words, or in a non-ASCII byte.
    "names_differing_late": [
        marker("", 0, action=DELETEALL),
        *(
            marker(ns, index, CUBE, frame=frame)
            for index, (ns, frame) in enumerate(
                [
                    ("robot/planner/local_über", "base_link_sensor_a"),
                    ("robot/planner/local_ubar", "base_link_sensor_a"),
                    ("robot/planner/local_über", "base_link_sensor_b"),
                    ("robot/planner/local_ü", "base_link_sensor_a"),
                    ("robot/planner/local_u", "base_link_sensor_"),
                ]
                * 2,
                1,
            )
        ),
    ],
    # Markers of one type sharing their orientation: their points placed by one rotation for all.
    "shared_orientation": [
        marker("", 0, action=DELETEALL),
        *(
            marker("s", index, kind, points=POINT_COUNTS[kind], quaternion=(0.0, 0.1, 0.3, 0.9))
            for index, kind in enumerate((CUBE_LIST, POINTS, LINE_STRIP, TRIANGLES, LINE_LIST) * 2, 1)
        ),
    ],
    "lifetimes_frames_and_zero_stamps": [
        marker("", 0, action=DELETEALL, stamp=0),
        marker("a", 1, CUBE, stamp=0),
        marker("a", 2, CUBE, lifetime=SECOND // 2),
        marker("a", 3, CUBE, frame="/map"),
        marker("a", 4, CUBE, frame="odom"),
        marker("a", 5, SPHERE, frame="odom"),
        marker("a", 6, SPHERE),
        marker("", 7, POINTS, points=3, frame="odom"),
        marker("a", 8, CUBE, quaternion=(0.0, 0.0, 0.0, 0.0)),
        marker("a", 9, LINE_STRIP, points=1),
        marker("a", 10, LINE_STRIP, points=0),
        marker("a", 11, LINE_STRIP, points=2, colors=2),
        marker("a", 12, LINE_STRIP, points=1, colors=1),
        marker("a", 13, CUBE, frame_locked=True),
    ],
}


@pytest.mark.parametrize("name", sorted(REDRAWN))
def test_redrawn_arrays_give_the_rows_of_the_marker_by_marker_path(name: str) -> None:
    scanned, plain = scanned_and_plain(REDRAWN[name])
    # The column path itself converts these (no marker sends it marker by marker).
    columns = scanned.columns
    assert not has_bad_markers(columns, np.flatnonzero(columns.actions == ADD))
    rows = rows_of(scanned)
    assert isinstance(rows, list)
    assert rows
    assert_same_rows(rows, rows_of(plain))


#: Other arrays: no DELETEALL, deletes among additions, an id twice.
OTHERS = {
    "no_deleteall": every_type("a", 0, per_point_colors=True),
    "delete_among_additions": [
        marker("", 0, action=DELETEALL, frame=""),
        marker("a", 1),
        marker("a", 1, action=DELETE),
        marker("a", 2),
    ],
    "deleteall_among_additions": [marker("a", 1), marker("a", 0, action=DELETEALL), marker("a", 2)],
    "an_id_twice": [marker("", 0, action=DELETEALL), marker("a", 1), marker("a", 2), marker("a", 1, SPHERE)],
    "the_same_id_and_type_twice": [marker("", 0, action=DELETEALL), marker("a", 1), marker("a", 1)],
}


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_other_arrays_give_the_same_rows_too(name: str) -> None:
    scanned, plain = scanned_and_plain(OTHERS[name])
    assert_same_rows(rows_of(scanned), rows_of(plain))


def _shuffled(markers: list[Any], seed: int) -> list[Any]:
    order = np.random.default_rng(seed).permutation(len(markers))
    return [markers[index] for index in order.tolist()]


#: Arrays in sequence, each updating what the earlier ones left: without DELETEALL, ids out of order, a
#: part of a set re-sent and modified, markers changing type and frame, deletes of grouped markers.
SEQUENCES = {
    "resent_out_of_order_without_deleteall": [
        _shuffled(every_type("a", 0, per_point_colors=False) + every_type("b", 20, per_point_colors=True), 1),
        _shuffled(every_type("a", 0, per_point_colors=True) + every_type("b", 20, per_point_colors=False), 2),
    ],
    "partial_updates_and_deletes": [
        [marker("a", index, CUBE_LIST, points=index % 4) for index in (5, 1, 9, 3, 7)]
        + [marker("a", index, LINE_LIST, points=2 * (index % 3)) for index in (20, 22, 21)],
        [
            marker("a", 9, CUBE_LIST, points=2, position=(4.0, 4.0, 4.0)),
            marker("a", 3, action=DELETE),
            marker("a", 21, action=DELETE),
            marker("a", 2, CUBE_LIST, points=3),
        ],
        [marker("a", 5, SPHERE), marker("a", 20, TEXT, text="now a text"), marker("a", 1, action=DELETE)],
    ],
    "frames_lifetimes_and_namespace_deleteall": [
        [marker("a", 1), marker("a", 2), marker("a", 3, frame="odom"), marker("b", 1), marker("b", 2)],
        [marker("a", 2, lifetime=SECOND), marker("a", 1, frame="odom"), marker("b", 0, action=DELETEALL)],
        [marker("a", 2), marker("a", 1, frame="odom"), marker("a", 3, frame="odom"), marker("b", 4)],
    ],
    # A frame-locked marker on its own entity (marked), back in its group, locked with a lifetime, then
    # unlocked on its own entity (the mark written false).
    "frame_locked_on_and_off": [
        [marker("a", 1), marker("a", 2, frame_locked=True)],
        [marker("a", 1), marker("a", 2)],
        [marker("a", 2, frame_locked=True, lifetime=SECOND)],
        [marker("a", 2, lifetime=SECOND)],
    ],
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_arrays_in_sequence_give_the_same_rows_on_both_paths(name: str) -> None:
    scanned_state, plain_state = SharedState(), SharedState()
    for markers in SEQUENCES[name]:
        scanned, plain = scanned_and_plain(markers)
        expected = rows_of(plain, plain_state)
        assert isinstance(expected, list)
        assert_same_rows(rows_of(scanned, scanned_state), expected)


BAD: dict[str, dict[str, Any]] = {
    "nan_position": {"kind": CUBE, "position": (math.nan, 0.0, 0.0)},
    "infinite_scale": {"kind": SPHERE, "scale": (math.inf, 1.0, 1.0)},
    "nan_point": {"kind": POINTS, "points": 2, "nan_point": True},
    "nan_in_an_arrows_first_two_points": {"kind": ARROW, "points": 2, "nan_point": True},
    "arrow_with_one_point": {"kind": ARROW, "points": 1},
    "odd_line_list": {"kind": LINE_LIST, "points": 3},
    "triangles_not_by_three": {"kind": TRIANGLES, "points": 4},
    "colors_that_do_not_match": {"kind": POINTS, "points": 3, "colors": 2},
    "unknown_type": {"kind": 42},
    "unknown_action": {"kind": CUBE, "action": 7},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_marker_anywhere_fails_the_array_with_the_marker_by_marker_error(name: str) -> None:
    fields = dict(BAD[name])
    kind = fields.pop("kind")
    nan_point = fields.pop("nan_point", False)
    bad = marker("b", 500, kind, **fields)
    if nan_point:
        bad.points[0].y = math.nan
    markers = [marker("", 0, action=DELETEALL), *every_type("a", 1, per_point_colors=True)]
    markers.insert(7, bad)
    scanned, plain = scanned_and_plain(markers)
    # Found before any group is built, but for points (checked as a group reads them) and actions.
    found_first = name not in ("nan_point", "unknown_action")
    columns = scanned.columns
    assert has_bad_markers(columns, np.flatnonzero(columns.actions == ADD)) == found_first
    slow = rows_of(plain)
    assert not isinstance(slow, list)  # the marker-by-marker path's ConversionError and message
    assert_same_rows(rows_of(scanned), slow)


def test_nan_points_past_an_arrows_second_are_ignored_by_both_paths() -> None:
    arrow = marker("a", 1, ARROW, points=3)
    arrow.points[2].x = math.nan
    scanned, plain = scanned_and_plain([marker("", 0, action=DELETEALL), arrow])
    rows = rows_of(scanned)
    assert isinstance(rows, list)
    assert_same_rows(rows, rows_of(plain))


def test_malformed_payloads_decode_or_fail_as_the_full_decoder_does() -> None:
    """Truncations at every length, a bad UTF-8 text and a lost NUL: the bridge's decoder (scan first)
    ends as rosbags' decoder alone does."""
    data = cdr(REDRAWN["lifetimes_frames_and_zero_stamps"])
    full = _make_decoder([STORE], TYPE)
    decode = decoder()
    broken = bytearray(data)
    broken[data.index(b"odom") + 4] = ord("x")  # a frame string without its NUL
    texts = bytearray(cdr(every_type("a", 1, per_point_colors=False)))
    at = texts.index("näme".encode())
    texts[at : at + 2] = b"\xff\xfe"  # not UTF-8
    variants = [data[:cut] for cut in range(0, len(data), 7)] + [
        bytes(broken),
        bytes(texts),
        data + b"\0" * 5,
    ]
    for variant in variants:
        try:
            expected = [m.id for m in full(variant).markers]
        except Exception as err:  # rosbags' own error types
            with pytest.raises(type(err)):
                decode(variant)
        else:
            assert [m.id for m in decode(variant).markers] == expected


def test_bad_and_malformed_arrays_are_counted_once_each_and_good_ones_kept(tmp_path: Path) -> None:
    """Through convert_bags: a truncated array and one with a NaN are one error each; the arrays around
    them are drawn."""
    good = REDRAWN["deleteall_then_every_type"]
    nan = [marker("", 0, action=DELETEALL), marker("a", 1, position=(math.nan, 0.0, 0.0))]
    bag = tmp_path / "markers.mcap"
    with bag.open("wb") as stream:
        writer = Writer(stream)
        schema = writer.register_msgdef(TYPE, STORE.generate_msgdef(TYPE, ros_version=2)[0])
        for index, markers in enumerate([good, nan, good]):
            writer.write_message("/markers", schema, _as_dict(markers), log_time=T0 + index * SECOND)
        writer.finish()  # type: ignore[no-untyped-call]
    rrd = tmp_path / "out.rrd"
    summary = convert_bags([bag], rrd)
    assert [(topic.messages, topic.errors) for topic in summary.topics] == [(3, 1)]
    verify_rrd(rrd)


def _as_dict(markers: list[Any]) -> dict[str, Any]:
    """A MarkerArray as the MCAP writer takes it (plain dicts), from rosbags' message objects."""

    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.tobytes()
        if isinstance(value, list):
            return [plain(item) for item in value]
        if hasattr(value, "__dataclass_fields__"):
            return {name: plain(getattr(value, name)) for name in value.__dataclass_fields__}
        return value

    return {"markers": plain(markers)}


@pytest.mark.parametrize("others", [3, 70])
def test_deleteall_clears_markers_of_their_own_one_by_one_or_past_64_recursively(others: int) -> None:
    """A DELETEALL empties the namespace's groups (a Clear on each group entity not refilled) and clears
    each marker on an entity of its own (here: in another frame than the group's); past 64 of those, one
    recursive Clear of the namespace instead. The other namespace is untouched."""
    shared = SharedState()
    first = [marker("a", 0), *(marker("a", index, frame="odom") for index in range(1, others + 1))]
    rows = rows_of(scanned_and_plain([*first, marker("b", 0)])[0], shared)
    assert isinstance(rows, list)
    assert sum(row.entity_path.startswith("/markers/a/") and row.archetype == "Boxes3D" for row in rows) == (
        others + 1
    )
    rows = rows_of(scanned_and_plain([marker("a", 0, action=DELETEALL)])[0], shared)
    assert isinstance(rows, list)
    clears = [(row.entity_path, bool(row.components["is_recursive"][0])) for row in rows]
    assert all(row.archetype == "Clear" for row in rows)
    if others <= 64:
        singles = [(f"/markers/a/{index}", False) for index in range(1, others + 1)]
        assert sorted(clears) == sorted([*singles, ("/markers/a/CUBE", False)])
    else:
        assert clears == [("/markers/a", True)]
    # What the state holds afterwards: namespace b only, so a new array adds to an empty namespace a.
    rows = rows_of(scanned_and_plain([marker("a", 5), marker("b", 1)])[0], shared)
    assert isinstance(rows, list)
    drawn = {row.entity_path: len(row.components["centers"]) for row in rows if row.archetype == "Boxes3D"}
    assert drawn == {"/markers/a/CUBE": 1, "/markers/b/CUBE": 2}


def test_many_groups_come_in_the_order_of_their_first_marker_each_id_once() -> None:
    """More groups than are sorted by comparison (16), ids out of order, an id re-added in another type:
    one row per group in the order of each group's first marker, holding each (namespace, id) once, at
    its last place (the later marker wins)."""
    kinds = (CUBE, SPHERE)
    markers = [marker(f"n{index % 20}", (index * 7) % 40, kinds[index // 20]) for index in range(40)]
    markers.append(marker("n3", (3 * 7) % 40, SPHERE))  # n3's cube 21 becomes a sphere
    scanned, plain = scanned_and_plain(markers)
    rows = rows_of(scanned)
    assert isinstance(rows, list)
    assert_same_rows(rows, rows_of(plain))
    groups = [
        (
            row.entity_path,
            sorted(round(float(center[0]) / 0.7) for center in np.asarray(row.components["centers"])),
        )
        for row in rows
        if row.archetype in ("Boxes3D", "Ellipsoids3D")
    ]
    expected = [(f"/markers/n{index}/CUBE", [(index * 7) % 40]) for index in range(20) if index != 3]
    expected += [(f"/markers/n{index}/SPHERE", [((index + 20) * 7) % 40]) for index in range(20)]
    expected[19 + 3] = ("/markers/n3/SPHERE", sorted([21, (23 * 7) % 40]))
    assert groups == expected
