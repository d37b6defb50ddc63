"""TfBuffer against tf2's documented behaviour and against rotation math done independently here.

The expected values never come from ``rerun_bridge.tf.quaternion``: this file builds its own rotation
matrices (Rodrigues' formula) and interpolates on SO(3) directly, so both sides cannot share a bug.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerun_bridge.errors import ConnectivityError, ExtrapolationError, FrameLookupError, TransformError
from rerun_bridge.tf import quaternion as quat
from rerun_bridge.tf.buffer import TfBuffer, Transform, format_stamp

FloatArray = npt.NDArray[np.float64]

S = 1_000_000_000  # ns per second
EPOCH = 1_700_000_000 * S  # realistic stamps: large enough to expose float64 rounding of ns
IDENTITY_Q = [0.0, 0.0, 0.0, 1.0]
PROPERTY = settings(max_examples=60, deadline=None)

# ---- independent rotation math --------------------------------------------------------------------------


def rodrigues(axis: npt.ArrayLike, angle: float) -> FloatArray:
    """Rotation matrix of ``angle`` radians about ``axis``."""
    a = np.asarray(axis, dtype=np.float64)
    norm = np.linalg.norm(a)
    if norm == 0.0 or angle == 0.0:
        return np.eye(3)
    k = a / norm
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    out: FloatArray = np.eye(3) + math.sin(angle) * kx + (1.0 - math.cos(angle)) * kx @ kx
    return out


def quat_axis_angle(axis: npt.ArrayLike, angle: float) -> FloatArray:
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    return np.array([*(a * math.sin(angle / 2.0)), math.cos(angle / 2.0)])


def matrix_of(q: npt.ArrayLike) -> FloatArray:
    """Rotation matrix of a quaternion (any norm) through its axis and angle."""
    v = np.asarray(q, dtype=np.float64)
    v = v / np.linalg.norm(v)
    return rodrigues(v[:3], 2.0 * math.atan2(float(np.linalg.norm(v[:3])), float(v[3])))


def log_map(r: FloatArray) -> tuple[FloatArray, float]:
    """(unit axis, angle in [0, pi]) of a rotation matrix."""
    s = 0.5 * np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    angle = math.atan2(float(np.linalg.norm(s)), (np.trace(r) - 1.0) / 2.0)
    norm = float(np.linalg.norm(s))
    return (s / norm if norm > 0.0 else np.array([0.0, 0.0, 1.0])), angle


def rotation_angle(a: FloatArray, b: FloatArray) -> float:
    return log_map(a.T @ b)[1]


def geodesic(r0: FloatArray, r1: FloatArray, ratio: float) -> FloatArray:
    """The rotation ``ratio`` of the way from r0 to r1 along the shorter great circle."""
    axis, angle = log_map(r0.T @ r1)
    return r0 @ rodrigues(axis, ratio * angle)


def homogeneous(rotation: FloatArray, translation: npt.ArrayLike) -> FloatArray:
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    return out


def matrix_of_transform(t: Transform) -> FloatArray:
    return homogeneous(matrix_of(t.rotation), t.translation)


def assert_identity(m: FloatArray, atol: float = 1e-9) -> None:
    np.testing.assert_allclose(m, np.eye(4), atol=atol)


# ---- fixtures -------------------------------------------------------------------------------------------

Z90 = quat_axis_angle([0, 0, 1], math.pi / 2)
Z45 = quat_axis_angle([0, 0, 1], math.pi / 4)


@pytest.fixture
def turning() -> TfBuffer:
    """map -> odom: identity at 1 s, (10, 20, -4) and 90 deg about z at 11 s."""
    buffer = TfBuffer()
    buffer.add_transform("map", "odom", EPOCH + 1 * S, [0, 0, 0], IDENTITY_Q)
    buffer.add_transform("map", "odom", EPOCH + 11 * S, [10, 20, -4], Z90)
    return buffer


# ---- interpolation and exact samples ------------------------------------------------------------------


def test_midpoint_interpolates_translation_linearly_and_rotation_by_slerp(turning: TfBuffer) -> None:
    t = turning.lookup_transform("map", "odom", EPOCH + 6 * S)
    np.testing.assert_allclose(t.translation, [5, 10, -2], atol=1e-12)
    np.testing.assert_allclose(t.rotation, Z45, atol=1e-12)
    quarter = turning.lookup_transform("map", "odom", EPOCH + 3_500_000_000)
    np.testing.assert_allclose(quarter.translation, [2.5, 5, -1], atol=1e-12)
    np.testing.assert_allclose(quarter.rotation, quat_axis_angle([0, 0, 1], math.pi / 8), atol=1e-12)


def test_lookup_exactly_on_a_sample_returns_that_sample(turning: TfBuffer) -> None:
    first = turning.lookup_transform("map", "odom", EPOCH + 1 * S)
    last = turning.lookup_transform("map", "odom", EPOCH + 11 * S)
    np.testing.assert_array_equal(first.translation, [0, 0, 0])
    np.testing.assert_array_equal(first.rotation, IDENTITY_Q)
    np.testing.assert_array_equal(last.translation, [10, 20, -4])
    np.testing.assert_allclose(last.rotation, Z90, rtol=0, atol=1e-15)


def test_one_nanosecond_steps_are_resolved_at_epoch_scale() -> None:
    buffer = TfBuffer()
    buffer.add_transform("a", "b", EPOCH, [0, 0, 0], IDENTITY_Q)
    buffer.add_transform("a", "b", EPOCH + 4, [4, 0, 0], IDENTITY_Q)
    for step in range(5):
        assert buffer.lookup_transform("a", "b", EPOCH + step).translation[0] == pytest.approx(step)


def test_slerp_takes_the_short_way_for_negated_quaternions() -> None:
    buffer = TfBuffer()
    buffer.add_transform("a", "b", 10, [0, 0, 0], IDENTITY_Q)
    buffer.add_transform("a", "b", 20, [0, 0, 0], -Z90)  # the same rotation as Z90
    mid = buffer.lookup_transform("a", "b", 15).rotation
    assert rotation_angle(matrix_of(mid), matrix_of(Z45)) == pytest.approx(0, abs=1e-12)


def test_rotation_is_normalised_on_input() -> None:
    buffer = TfBuffer()
    buffer.add_transform("a", "b", 1, [1, 2, 3], [0, 0, 0, 2])
    np.testing.assert_array_equal(buffer.lookup_transform("a", "b", 1).rotation, IDENTITY_Q)


# ---- extrapolation ------------------------------------------------------------------------------------


def test_extrapolation_into_the_past_and_future_raises(turning: TfBuffer) -> None:
    with pytest.raises(ExtrapolationError) as past:
        turning.lookup_transform("map", "odom", EPOCH + 500_000_000)
    assert str(past.value) == (
        "Lookup would require extrapolation into the past.  Requested time 1700000000.500000000 but the "
        "earliest data is at time 1700000001.000000000, when looking up transform from frame [odom] "
        "to frame [map]"
    )
    with pytest.raises(ExtrapolationError, match=r"into the future.  Requested time 1700000011\.000000001 "):
        turning.lookup_transform("odom", "map", EPOCH + 11 * S + 1)
    assert not turning.can_transform("map", "odom", EPOCH)
    assert turning.can_transform("map", "odom", EPOCH + 1 * S)


def test_single_sample_edge_is_valid_only_at_its_stamp_or_time_zero() -> None:
    # tf2's TransformException_Backward_Forward: one sample at 2 s, lookups at other times fail.
    buffer = TfBuffer()
    buffer.add_transform("foo", "bar", 2 * S, [1, 0, 0], IDENTITY_Q)
    np.testing.assert_array_equal(buffer.lookup_transform("foo", "bar", 2 * S).translation, [1, 0, 0])
    np.testing.assert_array_equal(buffer.lookup_transform("foo", "bar", 0).translation, [1, 0, 0])
    with pytest.raises(ExtrapolationError, match=r"at time 4\.000000000, but only time 2\.000000000 is in"):
        buffer.lookup_transform("foo", "bar", 4 * S)
    buffer.add_transform("foo", "bar", 3 * S, [2, 0, 0], IDENTITY_Q)
    with pytest.raises(ExtrapolationError, match="into the past"):
        buffer.lookup_transform("foo", "bar", 1 * S)
    with pytest.raises(ExtrapolationError, match="into the future"):
        buffer.lookup_transform("foo", "bar", 4 * S)


def test_errors_are_one_family() -> None:
    assert issubclass(ExtrapolationError, TransformError)
    assert issubclass(FrameLookupError, TransformError)
    assert issubclass(ConnectivityError, TransformError)


# ---- static edges and chains --------------------------------------------------------------------------


def test_static_edge_is_valid_at_every_time() -> None:
    buffer = TfBuffer()
    buffer.add_transform("foo", "bar", 1 * S, [1, 2, 3], Z90, static=True)
    for time in (0, 1, 2 * S, EPOCH, -5):
        t = buffer.lookup_transform("foo", "bar", time)
        np.testing.assert_array_equal(t.translation, [1, 2, 3])
    assert buffer.time_range("foo", "bar") is None


def test_chain_mixing_static_and_dynamic_edges(turning: TfBuffer) -> None:
    turning.add_transform("odom", "base", 0, [1, 0, 0], IDENTITY_Q, static=True)
    turning.add_transform("base", "laser", 0, [0, 1, 0.5], Z90, static=True)
    t = turning.lookup_transform("map", "laser", EPOCH + 6 * S)
    # map <- odom is (5, 10, -2) turned 45 deg; then 1 m ahead, then 1 m left and 0.5 m up.
    r45 = rodrigues([0, 0, 1], math.pi / 4)
    expected = np.array([5, 10, -2]) + r45 @ (np.array([1, 0, 0]) + np.array([0, 1, 0.5]))
    np.testing.assert_allclose(t.translation, expected, atol=1e-12)
    assert rotation_angle(matrix_of(t.rotation), rodrigues([0, 0, 1], 3 * math.pi / 4)) < 1e-12
    # The static edges do not widen the dynamic one's range.
    with pytest.raises(ExtrapolationError):
        turning.lookup_transform("map", "laser", EPOCH + 12 * S)


def test_chain_matches_hand_computed_matrix_product() -> None:
    # world -> a -> b -> c and world -> d, every edge with its own rotation; c seen from d.
    edges = {
        "a": ("world", [1.0, 2.0, 3.0], [0.0, 0.0, 1.0], 0.3),
        "b": ("a", [-0.5, 0.25, 2.0], [1.0, 0.0, 0.0], -1.1),
        "c": ("b", [0.0, -3.0, 0.75], [1.0, 1.0, 0.0], 2.5),
        "d": ("world", [4.0, -1.0, 0.0], [0.0, 1.0, 1.0], 0.9),
    }
    buffer = TfBuffer()
    matrix = {}
    for child, (parent, translation, axis, angle) in edges.items():
        buffer.add_transform(parent, child, 7, translation, quat_axis_angle(axis, angle))
        matrix[child] = homogeneous(rodrigues(axis, angle), translation)
    world_c = matrix["a"] @ matrix["b"] @ matrix["c"]
    expected = np.linalg.inv(matrix["d"]) @ world_c
    np.testing.assert_allclose(
        matrix_of_transform(buffer.lookup_transform("d", "c", 7)), expected, atol=1e-12
    )
    np.testing.assert_allclose(buffer.lookup_transform("d", "c", 7).as_matrix(), expected, atol=1e-12)
    # Target an ancestor and a descendant of the source: the chain is one-sided.
    np.testing.assert_allclose(
        matrix_of_transform(buffer.lookup_transform("world", "c", 7)), world_c, atol=1e-12
    )
    np.testing.assert_allclose(
        matrix_of_transform(buffer.lookup_transform("c", "a", 7)),
        np.linalg.inv(matrix["b"] @ matrix["c"]),
        atol=1e-12,
    )


def test_lookup_of_a_frame_in_itself_is_identity(turning: TfBuffer) -> None:
    t = turning.lookup_transform("odom", "odom", EPOCH + 99 * S)  # no range check: tf2 short-circuits
    np.testing.assert_array_equal(t.translation, [0, 0, 0])
    np.testing.assert_array_equal(t.rotation, IDENTITY_Q)
    assert turning.can_transform("never_seen", "never_seen", 5)


def test_reverse_lookup_is_the_inverse(turning: TfBuffer) -> None:
    turning.add_transform("odom", "base", 0, [1, -2, 0.5], quat_axis_angle([1, 2, 3], 0.7), static=True)
    forward = turning.lookup_transform("map", "base", EPOCH + 4 * S)
    backward = turning.lookup_transform("base", "map", EPOCH + 4 * S)
    assert_identity(matrix_of_transform(forward) @ matrix_of_transform(backward))
    assert_identity(forward.compose(backward).as_matrix())


def test_disconnected_trees_raise_connectivity_error() -> None:
    buffer = TfBuffer()
    buffer.add_transform("map", "odom", 1, [0, 0, 0], IDENTITY_Q)
    buffer.add_transform("robot2/map", "robot2/odom", 1, [0, 0, 0], IDENTITY_Q)
    assert buffer.roots() == ["map", "robot2/map"]
    with pytest.raises(ConnectivityError, match="not part of the same tree"):
        buffer.lookup_transform("odom", "robot2/odom", 1)
    assert not buffer.can_transform("odom", "robot2/odom", 0)


def test_unknown_frames_raise_frame_lookup_error() -> None:
    buffer = TfBuffer()
    with pytest.raises(FrameLookupError):
        buffer.lookup_transform("a", "b", S)  # tf2's LookupException_Nothing_Exists
    buffer.add_transform("foo", "child", S, [0, 0, 0], IDENTITY_Q)
    with pytest.raises(FrameLookupError, match='"bar" passed to lookup_transform argument source_frame'):
        buffer.lookup_transform("foo", "bar", S)  # LookupException_One_Exists
    assert not buffer.can_transform("foo", "bar", S)
    with pytest.raises(FrameLookupError):
        buffer.parent_of("bar")
    with pytest.raises(FrameLookupError):
        buffer.time_range("bar", "child")


def test_loops_are_reported_not_followed() -> None:
    buffer = TfBuffer()
    buffer.add_transform("a", "b", 1, [0, 0, 0], IDENTITY_Q)
    buffer.add_transform("b", "c", 1, [0, 0, 0], IDENTITY_Q)
    buffer.add_transform("c", "a", 1, [0, 0, 0], IDENTITY_Q)
    with pytest.raises(FrameLookupError, match="loop"):
        buffer.lookup_transform("a", "c", 1)
    assert buffer.roots() == []


# ---- time zero ----------------------------------------------------------------------------------------


def test_time_zero_is_the_latest_common_time_of_the_chain() -> None:
    buffer = TfBuffer()
    for stamp in (1, 2, 3, 4):
        buffer.add_transform("map", "odom", stamp * S, [stamp, 0, 0], IDENTITY_Q)
    for stamp in (1, 2, 3):
        buffer.add_transform("odom", "base", stamp * S, [0, stamp, 0], IDENTITY_Q)
    buffer.add_transform("base", "laser", 100 * S, [0, 0, 1], IDENTITY_Q, static=True)
    # Another branch, with data until later.
    buffer.add_transforms("map", "gps", [1 * S, 10 * S], [[0, 0, 5]] * 2, [IDENTITY_Q] * 2)
    assert buffer.latest_common_time("map", "laser") == 3 * S  # the static edge does not constrain it
    np.testing.assert_array_equal(buffer.lookup_transform("map", "laser", 0).translation, [3, 3, 1])
    np.testing.assert_array_equal(buffer.lookup_transform("map", "odom", 0).translation, [4, 0, 0])
    # Across branches: min over both sides of the common ancestor.
    assert buffer.latest_common_time("gps", "odom") == 4 * S
    np.testing.assert_array_equal(buffer.lookup_transform("gps", "odom", 0).translation, [4, 0, -5])
    # Edges above the common ancestor do not count.
    assert buffer.latest_common_time("odom", "base") == 3 * S
    assert buffer.latest_common_time("base", "laser") == 0  # all static


def test_time_zero_can_still_extrapolate_when_ranges_do_not_overlap() -> None:
    # tf2 looks every edge up at the common time; an edge starting later has no data there.
    buffer = TfBuffer()
    buffer.add_transforms("map", "odom", [1, 2], [[0, 0, 0]] * 2, [IDENTITY_Q] * 2)
    buffer.add_transforms("odom", "base", [5, 6], [[0, 0, 0]] * 2, [IDENTITY_Q] * 2)
    with pytest.raises(ExtrapolationError, match="into the past"):
        buffer.lookup_transform("map", "base", 0)


# ---- inserting ----------------------------------------------------------------------------------------


def test_out_of_order_inserts_are_sorted_and_the_last_insert_wins_per_stamp() -> None:
    rng = np.random.default_rng(7)
    stamps = np.arange(50, dtype=np.int64) * 10
    translations = rng.normal(size=(50, 3))
    ordered, shuffled = TfBuffer(), TfBuffer()
    ordered.add_transforms("a", "b", stamps, translations, np.tile(IDENTITY_Q, (50, 1)))
    for i in rng.permutation(50):
        shuffled.add_transform("a", "b", int(stamps[i]), translations[i], IDENTITY_Q)
    got_stamps, got_translations, _ = shuffled.samples("a", "b")
    np.testing.assert_array_equal(got_stamps, stamps)
    np.testing.assert_array_equal(got_translations, translations)
    for time in (0, 5, 123, 490):
        np.testing.assert_array_equal(
            shuffled.lookup_transform("a", "b", time).translation,
            ordered.lookup_transform("a", "b", time).translation,
        )
    # A repeated stamp replaces the earlier sample, whether it lands at the end or in the middle.
    shuffled.add_transform("a", "b", 490, [9, 9, 9], IDENTITY_Q)
    shuffled.add_transform("a", "b", 100, [8, 8, 8], IDENTITY_Q)
    shuffled.add_transform("a", "b", 100, [7, 7, 7], IDENTITY_Q)
    np.testing.assert_array_equal(shuffled.lookup_transform("a", "b", 490).translation, [9, 9, 9])
    np.testing.assert_array_equal(shuffled.lookup_transform("a", "b", 100).translation, [7, 7, 7])
    assert len(shuffled.samples("a", "b")[0]) == 50


def test_vectorised_insert_matches_single_inserts_over_many_growths() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    stamps = np.sort(rng.choice(10**12, size=n, replace=False)).astype(np.int64)
    translations = rng.normal(size=(n, 3))
    rotations = rng.normal(size=(n, 4))
    bulk, single = TfBuffer(), TfBuffer()
    assert bulk.add_transforms("a", "b", stamps[::-1], translations[::-1], rotations[::-1]) == n
    for i in range(n):
        single.add_transform("a", "b", stamps[i], translations[i], rotations[i])
    for got, want in zip(bulk.samples("a", "b"), single.samples("a", "b"), strict=True):
        np.testing.assert_array_equal(got, want)
    assert bulk.time_range("a", "b") == (int(stamps[0]), int(stamps[-1]))


def test_cache_time_drops_samples_older_than_newest_minus_cache() -> None:
    buffer = TfBuffer(cache_time_ns=10 * S)
    for second in range(101):
        assert buffer.add_transform("map", "odom", second * S, [second, 0, 0], IDENTITY_Q)
    assert buffer.time_range("map", "odom") == (90 * S, 100 * S)
    assert len(buffer.samples("map", "odom")[0]) == 11
    with pytest.raises(ExtrapolationError, match="into the past"):
        buffer.lookup_transform("map", "odom", 89 * S)
    assert buffer.lookup_transform("map", "odom", 95 * S).translation[0] == pytest.approx(95)
    # Data already outside the cache is refused, as tf2's TF_OLD_DATA.
    assert not buffer.add_transform("map", "odom", 50 * S, [0, 0, 0], IDENTITY_Q)
    assert buffer.add_transforms("map", "odom", [80 * S, 95 * S + 1], [[0, 0, 0]] * 2, [IDENTITY_Q] * 2) == 1
    # Out-of-order data inside the cache is kept; a newer sample later pushes the window on.
    buffer.add_transforms("map", "odom", [115 * S, 105 * S], [[0, 0, 0]] * 2, [IDENTITY_Q] * 2)
    assert buffer.time_range("map", "odom") == (105 * S, 115 * S)


def test_unlimited_buffer_keeps_everything() -> None:
    buffer = TfBuffer()
    buffer.add_transforms("a", "b", np.arange(1000) * S, np.zeros((1000, 3)), np.tile(IDENTITY_Q, (1000, 1)))
    assert buffer.time_range("a", "b") == (0, 999 * S)
    assert buffer.cache_time_ns is None


def test_reparenting_newest_parent_wins() -> None:
    buffer = TfBuffer()
    buffer.add_transform("odom", "base", 10, [1, 0, 0], IDENTITY_Q)
    buffer.add_transform("map", "base", 20, [2, 0, 0], IDENTITY_Q)
    assert buffer.parent_of("base") == "map"
    assert buffer.frames() == ["base", "map", "odom"]
    assert buffer.roots() == ["map", "odom"]  # the old parent stays known
    assert buffer.time_range("map", "base") == (20, 20)  # the old parent's samples are gone
    # An older sample under another parent would rewrite newer history: it is ignored.
    assert not buffer.add_transform("odom", "base", 15, [3, 0, 0], IDENTITY_Q)
    assert buffer.parent_of("base") == "map"
    with pytest.raises(FrameLookupError):
        buffer.time_range("odom", "base")


def test_static_and_dynamic_inserts_replace_each_other() -> None:
    buffer = TfBuffer()
    buffer.add_transform("a", "b", 5, [1, 0, 0], IDENTITY_Q)
    buffer.add_transform("a", "b", 0, [2, 0, 0], IDENTITY_Q, static=True)
    assert buffer.time_range("a", "b") is None
    np.testing.assert_array_equal(buffer.lookup_transform("a", "b", 123).translation, [2, 0, 0])
    buffer.add_transform("a", "b", 0, [3, 0, 0], IDENTITY_Q, static=True)  # latched again: newest wins
    np.testing.assert_array_equal(buffer.lookup_transform("a", "b", 7).translation, [3, 0, 0])
    buffer.add_transform("c", "b", 0, [4, 0, 0], IDENTITY_Q, static=True)
    assert buffer.parent_of("b") == "c"
    buffer.add_transform("a", "b", 9, [5, 0, 0], IDENTITY_Q)
    assert buffer.parent_of("b") == "a"
    assert buffer.time_range("a", "b") == (9, 9)


def test_frames_parents_roots_and_slashes() -> None:
    buffer = TfBuffer()
    buffer.add_transform("/map", "/odom", 1, [0, 0, 0], IDENTITY_Q)
    buffer.add_transform("odom", "base_link", 1, [0, 0, 0], IDENTITY_Q, static=True)
    assert buffer.frames() == ["base_link", "map", "odom"]
    assert buffer.parent_of("odom") == "map"
    assert buffer.parent_of("/odom") == "map"
    assert buffer.parent_of("map") is None
    assert buffer.roots() == ["map"]
    assert buffer.can_transform("/map", "base_link", 1)
    buffer.clear()
    assert buffer.frames() == []


@pytest.mark.parametrize(
    ("parent", "child", "translation", "rotation", "message"),
    [
        ("a", "b", [0, 0, 0], [0, 0, 0, 0], "zero-norm quaternion"),
        ("a", "b", [0, 0, 0], [0, math.nan, 0, 1], "non-finite"),
        ("a", "b", [0, math.inf, 0], IDENTITY_Q, "non-finite"),
        ("a", "a", [0, 0, 0], IDENTITY_Q, "own parent"),
        ("", "b", [0, 0, 0], IDENTITY_Q, "empty"),
        ("a", "b", [0, 0], IDENTITY_Q, "shape"),
    ],
)
def test_invalid_input_is_rejected_naming_the_edge(
    parent: str, child: str, translation: list[float], rotation: list[float], message: str
) -> None:
    buffer = TfBuffer()
    with pytest.raises(ValueError, match=message) as info:
        buffer.add_transform(parent, child, 1, translation, rotation)
    assert f"{parent!r} -> {child!r}" in str(info.value)
    assert buffer.frames() == []


def test_bad_stamps_and_cache_time_are_rejected() -> None:
    buffer = TfBuffer()
    with pytest.raises(ValueError, match="integer nanoseconds"):
        buffer.add_transforms("a", "b", [1.5], [[0, 0, 0]], [IDENTITY_Q])
    with pytest.raises(TypeError):
        buffer.add_transform("a", "b", 1.5, [0, 0, 0], IDENTITY_Q)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="zero-norm quaternion \\(at index \\(1,\\)\\)"):
        buffer.add_transforms("a", "b", [1, 2], [[0, 0, 0]] * 2, [IDENTITY_Q, [0.0, 0.0, 0.0, 0.0]])
    assert buffer.add_transforms("a", "b", [], np.empty((0, 3)), np.empty((0, 4))) == 0
    with pytest.raises(ValueError, match="cache_time_ns"):
        TfBuffer(cache_time_ns=-1)


def test_transform_points(turning: TfBuffer) -> None:
    points = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    out = turning.transform_points("map", "odom", EPOCH + 11 * S, points)
    # 90 deg about z then (10, 20, -4).
    np.testing.assert_allclose(out, [[10, 21, -4], [8, 20, -4], [10, 20, -1]], atol=1e-12)
    back = turning.transform_points("odom", "map", EPOCH + 11 * S, out)
    np.testing.assert_allclose(back, points, atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        turning.transform_points("map", "odom", EPOCH + 11 * S, np.zeros((3, 2)))


def test_format_stamp_is_exact() -> None:
    assert format_stamp(EPOCH + 1) == "1700000000.000000001"
    assert format_stamp(0) == "0.000000000"
    assert format_stamp(-1_500_000_000) == "-1.500000000"


def test_concurrent_appends_and_lookups() -> None:
    buffer = TfBuffer(cache_time_ns=50)
    buffer.add_transform("map", "odom", 0, [0, 0, 0], IDENTITY_Q)
    buffer.add_transform("odom", "base", 0, [1, 0, 0], IDENTITY_Q, static=True)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        for stamp in range(1, 3000):
            buffer.add_transform(
                "map", "odom", stamp, [stamp, 0, 0], quat_axis_angle([0, 0, 1], stamp * 1e-3)
            )
        done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                t = buffer.lookup_transform("map", "base", 0)
                assert np.all(np.isfinite(t.translation))
                assert abs(np.linalg.norm(t.rotation) - 1.0) < 1e-12
        except BaseException as exc:  # collected: an assert in a thread would be lost
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert buffer.time_range("map", "odom") == (2949, 2999)


# ---- the quaternion helpers ---------------------------------------------------------------------------

unit = st.floats(-1.0, 1.0, allow_nan=False)
axes = st.tuples(unit, unit, unit).filter(lambda v: math.hypot(*v) > 0.1)
angles = st.floats(-math.pi, math.pi, allow_nan=False)


@PROPERTY
@given(axes, angles, axes, angles, st.tuples(unit, unit, unit))
def test_quaternion_helpers_agree_with_matrices(
    axis_a: tuple[float, float, float],
    angle_a: float,
    axis_b: tuple[float, float, float],
    angle_b: float,
    vector: tuple[float, float, float],
) -> None:
    qa, qb = quat_axis_angle(axis_a, angle_a), quat_axis_angle(axis_b, angle_b)
    ra, rb = rodrigues(axis_a, angle_a), rodrigues(axis_b, angle_b)
    np.testing.assert_allclose(quat.to_matrix(qa), ra, atol=1e-12)
    np.testing.assert_allclose(matrix_of(quat.multiply(qa, qb)), ra @ rb, atol=1e-12)
    np.testing.assert_allclose(quat.rotate(qa, vector), ra @ np.array(vector), atol=1e-12)
    np.testing.assert_allclose(quat.rotate_one(tuple(qa), vector), ra @ np.array(vector), atol=1e-12)
    np.testing.assert_allclose(quat.multiply_one(tuple(qa), tuple(qb)), quat.multiply(qa, qb), atol=1e-15)
    np.testing.assert_allclose(matrix_of(quat.inverse(qa)), ra.T, atol=1e-12)
    np.testing.assert_allclose(matrix_of(quat.from_matrix(ra)), ra, atol=1e-12)
    assert quat.from_matrix(ra)[3] >= 0.0
    assert float(quat.angle_between(qa, qb)) == pytest.approx(rotation_angle(ra, rb), abs=1e-9)


def test_quaternion_helpers_on_stacks() -> None:
    rng = np.random.default_rng(1)
    q = quat.normalize(rng.normal(size=(20, 4)))
    v = rng.normal(size=(20, 3))
    stacked = quat.rotate(q, v)
    for i in range(20):
        np.testing.assert_allclose(stacked[i], matrix_of(q[i]) @ v[i], atol=1e-12)
    np.testing.assert_allclose(quat.from_matrix(quat.to_matrix(q)), q * np.sign(q[:, 3:4]), atol=1e-12)
    np.testing.assert_allclose(quat.slerp(q, q, 0.3), q, atol=1e-15)
    np.testing.assert_array_equal(quat.identity((2,)), [IDENTITY_Q, IDENTITY_Q])
    with pytest.raises(ValueError, match="shape"):
        quat.normalize(np.ones(3))


# ---- properties over random trees ---------------------------------------------------------------------


@dataclass
class Edge:
    parent: str
    child: str
    static: bool
    translations: FloatArray  # (len(stamps), 3), or (1, 3) when static
    rotations: FloatArray  # likewise, (.., 4)


@dataclass
class Tree:
    stamps: list[int]  # shared by every dynamic edge, so every time in [first, last] is valid
    edges: dict[str, Edge]  # by child


def vectors(count: int) -> st.SearchStrategy[FloatArray]:
    coordinate = st.floats(-10.0, 10.0, allow_nan=False)
    return st.lists(st.tuples(coordinate, coordinate, coordinate), min_size=count, max_size=count).map(
        lambda rows: np.array(rows, dtype=np.float64)
    )


@st.composite
def rotation_tracks(draw: st.DrawFn, count: int) -> FloatArray:
    """Quaternions whose consecutive rotations differ by less than 160 deg (slerp's arc is unambiguous)."""
    current = quat_axis_angle(draw(axes), draw(angles))
    out = [current]
    for _ in range(count - 1):
        step = quat_axis_angle(draw(axes), draw(st.floats(0.0, 2.8)))
        current = quat.normalize(quat.multiply(current, step))
        if draw(st.booleans()):
            current = -current  # the same rotation with the other sign: interpolation must not care
        out.append(current)
    return np.array(out)


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    frames = draw(st.integers(2, 6))
    count = draw(st.integers(2, 4))
    offsets = sorted(draw(st.lists(st.integers(0, 10 * S), min_size=count, max_size=count, unique=True)))
    edges = {}
    for i in range(1, frames):
        static = draw(st.booleans())
        rows = 1 if static else count
        child = f"f{i}"
        edges[child] = Edge(
            f"f{draw(st.integers(0, i - 1))}", child, static, draw(vectors(rows)), draw(rotation_tracks(rows))
        )
    return Tree([EPOCH + o for o in offsets], edges)


def fill(tree: Tree) -> TfBuffer:
    buffer = TfBuffer()
    for edge in tree.edges.values():
        stamps = tree.stamps[:1] if edge.static else tree.stamps
        buffer.add_transforms(edge.parent, edge.child, stamps, edge.translations, edge.rotations, edge.static)
    return buffer


def expected_edge(tree: Tree, edge: Edge, time: int) -> FloatArray:
    """The edge's matrix at ``time``, interpolated on SO(3) here rather than by quaternion slerp."""
    if edge.static:
        return homogeneous(matrix_of(edge.rotations[0]), edge.translations[0])
    i = next(k for k in range(1, len(tree.stamps)) if tree.stamps[k] >= time)
    t0, t1 = tree.stamps[i - 1], tree.stamps[i]
    ratio = (time - t0) / (t1 - t0)
    r = geodesic(matrix_of(edge.rotations[i - 1]), matrix_of(edge.rotations[i]), ratio)
    return homogeneous(
        r, edge.translations[i - 1] + ratio * (edge.translations[i] - edge.translations[i - 1])
    )


def expected_from_root(tree: Tree, frame: str, time: int) -> FloatArray:
    m = np.eye(4)
    while frame in tree.edges:
        edge = tree.edges[frame]
        m = expected_edge(tree, edge, time) @ m
        frame = edge.parent
    return m


@PROPERTY
@given(trees(), st.data())
def test_chained_lookups_match_independent_matrix_products(tree: Tree, data: st.DataObject) -> None:
    buffer = fill(tree)
    names = buffer.frames()
    target = data.draw(st.sampled_from(names))
    source = data.draw(st.sampled_from(names))
    time = data.draw(st.one_of(st.sampled_from(tree.stamps), st.integers(tree.stamps[0], tree.stamps[-1])))
    got = buffer.lookup_transform(target, source, time)
    expected = np.linalg.inv(expected_from_root(tree, target, time)) @ expected_from_root(tree, source, time)
    np.testing.assert_allclose(matrix_of_transform(got), expected, atol=1e-8)
    assert np.linalg.norm(got.rotation) == pytest.approx(1.0, abs=1e-12)
    # The reverse lookup undoes it.
    back = buffer.lookup_transform(source, target, time)
    assert_identity(matrix_of_transform(got) @ matrix_of_transform(back), atol=1e-8)
    # Time 0 is the last shared stamp: every dynamic edge ends there.
    np.testing.assert_allclose(
        matrix_of_transform(buffer.lookup_transform(target, source, 0)),
        matrix_of_transform(buffer.lookup_transform(target, source, tree.stamps[-1])),
        atol=1e-12,
    )


@PROPERTY
@given(rotation_tracks(2), vectors(2), st.integers(1, 10**6 - 1))
def test_interpolation_stays_on_the_arc_and_the_segment(
    rotations: FloatArray, translations: FloatArray, offset: int
) -> None:
    t0, t1 = EPOCH, EPOCH + 10**6
    buffer = TfBuffer()
    buffer.add_transforms("a", "b", [t1, t0], translations[::-1], rotations[::-1])
    got = buffer.lookup_transform("a", "b", t0 + offset)
    ratio = offset / 10**6
    # Rotation: unit norm, on the shortest arc between the endpoints, at the right fraction of it.
    assert np.linalg.norm(got.rotation) == pytest.approx(1.0, abs=1e-12)
    r0, r1, r = matrix_of(rotations[0]), matrix_of(rotations[1]), matrix_of(got.rotation)
    total = rotation_angle(r0, r1)
    assert rotation_angle(r0, r) + rotation_angle(r, r1) == pytest.approx(total, abs=1e-9)
    assert rotation_angle(r0, r) == pytest.approx(ratio * total, abs=1e-9)
    # Translation: on the segment, at the same fraction.
    a, b, p = translations[0], translations[1], got.translation
    length = float(np.linalg.norm(b - a))
    assert float(np.linalg.norm(p - a) + np.linalg.norm(b - p)) == pytest.approx(length, abs=1e-9)
    np.testing.assert_allclose(p, a + ratio * (b - a), atol=1e-12)
    # The vectorised slerp agrees with the one used by lookups.
    np.testing.assert_allclose(matrix_of(quat.slerp(rotations[0], rotations[1], ratio)), r, atol=1e-12)
