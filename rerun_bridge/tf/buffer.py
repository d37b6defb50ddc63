"""A TF buffer with tf2's lookup semantics, in numpy (tf2_ros cannot be installed everywhere we run).

Each child frame has one edge to its parent holding that edge's samples: int64 nanosecond stamps, (N, 3)
translations and (N, 4) unit quaternions (x, y, z, w), kept sorted by stamp. A sample of edge
``parent -> child`` is tf2's ``TransformStamped`` with ``header.frame_id = parent``: it maps points in
``child`` into ``parent``.

Semantics follow tf2's ``BufferCore``:

* ``lookup_transform(target, source, t)`` maps points in ``source`` into ``target``.
* ``t == 0`` is "the latest common time": the newest time at which every dynamic edge between the two
  frames and their common ancestor has data. Static edges do not constrain it.
* Between two samples, translation is interpolated linearly and rotation by slerp; exactly on a sample,
  that sample is returned. Outside an edge's data, or off the single stamp of a one-sample edge, a lookup
  raises :class:`ExtrapolationError` (no extrapolation, ever). Static edges are valid at every time.
* A frame looked up in itself is the identity, even for a frame never seen (tf2 short-circuits too).
* At equal stamps, the sample inserted last wins.
* Frame ids lose their leading slashes, on insert (as tf2) and on lookup (where tf2 would reject them),
  matching the bridge's converters.

One deliberate simplification: tf2 stores the parent per sample, so a frame may have different parents
at different times. Here a child has one parent at a time, and a re-parenting insert wins only when it is
not older than the newest sample of the current edge; it then replaces the whole edge (the old parent's
samples are dropped, as interpolating across parents would be meaningless). An older re-parenting insert
is ignored (logged, and reported by the return value), like tf2's ignored out-of-cache data. A static
insert always replaces the child's edge (static data is latched: the last one wins), and static and
dynamic inserts replace each other's edge for the same child, as current tf2 does.

The buffer is thread-safe: one lock guards every method, so the live node can append while the viewer
looks up.
"""

from __future__ import annotations

import logging
import operator
import threading
from collections.abc import Callable, Collection, Iterable
from typing import Final, NamedTuple, SupportsIndex

import numpy as np
import numpy.typing as npt

from rerun_bridge.errors import ConnectivityError, ExtrapolationError, FrameLookupError, TransformError
from rerun_bridge.tf import quaternion as quat

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NANOS_PER_SECOND = 1_000_000_000


#: Roots a fixed frame is taken from first (REP 105).
PREFERRED_ROOTS: Final = ("map", "world", "odom")


#: The robot's body frame (REP 105), where a header-less velocity, acceleration or wrench (``/cmd_vel``)
#: is drawn: REP 103 gives them in the robot's base frame.
BODY_FRAMES: Final = ("base_link", "base_footprint")
#: The archetype of such body quantities: arrows at the frame's origin, and nothing placed in the world.
BODY_QUANTITY_ARCHETYPE: Final = "Arrows3D"
_PLACED_ARCHETYPES: Final = frozenset(
    {
        "Points3D",
        "Boxes3D",
        "Ellipsoids3D",
        "LineStrips3D",
        "Mesh3D",
        "Capsules3D",
        "Cylinders3D",
        "InstancePoses3D",
    }
)


def body_frame(frames: Collection[str]) -> str | None:
    """The robot's body frame among ``frames`` (``base_link``, else ``base_footprint``); None without."""
    return next((name for name in BODY_FRAMES if name in frames), None)


def is_body_quantity(columns: Iterable[str]) -> bool:
    """Whether an entity's component columns (``Arrows3D:vectors``) are arrows from the frame's origin
    alone: a header-less twist, accel, wrench, vector or quaternion, drawn at the body frame rather than
    at the fixed frame's origin (found by an audit: the Neato's ``/cmd_vel`` arrows stood at ``odom``'s
    origin, metres from the robot). A pose's arrow has origins: it is placed in the world."""
    names = set(columns)
    archetypes = {column.partition(":")[0] for column in names}
    return (
        BODY_QUANTITY_ARCHETYPE in archetypes
        and f"{BODY_QUANTITY_ARCHETYPE}:origins" not in names
        and not archetypes & _PLACED_ARCHETYPES
    )


def is_body_entity(entity_path: str, components: Callable[[str], Iterable[str]]) -> bool:
    """:func:`is_body_quantity`, or a velocity's covariance beside one (``<topic>/covariance`` next to
    ``<topic>/arrow``): drawn where its arrow is."""
    if is_body_quantity(components(entity_path)):
        return True
    parent, _, leaf = entity_path.rpartition("/")
    return leaf == "covariance" and is_body_quantity(components(f"{parent}/arrow"))


def preferred_root(roots: Iterable[str]) -> str | None:
    """The root a fixed frame defaults to: ``map`` / ``world`` / ``odom`` first, else the first in name
    order; None without any."""
    ordered = sorted(roots)
    return next((name for name in PREFERRED_ROOTS if name in ordered), ordered[0] if ordered else None)


class Transform(NamedTuple):
    """A rigid transform: ``p_target = rotate(rotation, p_source) + translation``."""

    translation: FloatArray  # (3,)
    rotation: FloatArray  # (4,), unit quaternion x, y, z, w

    @staticmethod
    def identity() -> Transform:
        """The transform that changes nothing."""
        return Transform(np.zeros(3), quat.identity())

    def inverse(self) -> Transform:
        """The transform mapping back: ``inverse().compose(self)`` is the identity."""
        inv_rotation = quat.conjugate(self.rotation)
        return Transform(-quat.rotate(inv_rotation, self.translation), inv_rotation)

    def compose(self, other: Transform) -> Transform:
        """``self * other``: ``other`` applied first."""
        return Transform(
            quat.rotate(self.rotation, other.translation) + self.translation,
            quat.multiply(self.rotation, other.rotation),
        )

    def as_matrix(self) -> FloatArray:
        """The homogeneous 4x4 matrix."""
        out = np.eye(4)
        out[:3, :3] = quat.to_matrix(self.rotation)
        out[:3, 3] = self.translation
        return out

    def apply(self, points: npt.ArrayLike) -> FloatArray:
        """Points (``(..., 3)``) mapped by this transform."""
        pts = np.asarray(points, dtype=np.float64)
        out: FloatArray = pts @ quat.to_matrix(self.rotation).T + self.translation
        return out


def format_stamp(stamp_ns: int) -> str:
    """Seconds with all nine decimals, exactly, as tf2's ``displayTimePoint``."""
    sign = "-" if stamp_ns < 0 else ""
    seconds, nanos = divmod(abs(stamp_ns), NANOS_PER_SECOND)
    return f"{sign}{seconds}.{nanos:09d}"


def _clean_frame(frame: str) -> str:
    return frame.lstrip("/")


class _OutOfRangeError(Exception):
    """An edge has no data at the requested time; the message is tf2's cache message."""


class _Edge:
    """The samples of one ``parent -> child`` edge.

    Samples live in ``[lo, hi)`` of growing arrays. Appends in stamp order stay sorted; others only mark
    the edge unsorted, and the next read sorts once (bags deliver TF mostly in order, so this is rare).
    Pruning advances ``lo``; the arrays are compacted or doubled when full, so appends are amortised O(1).
    """

    __slots__ = (
        "_hi",
        "_lo",
        "_rotations",
        "_sorted",
        "_stamps",
        "_translations",
        "cache_time_ns",
        "newest",
        "parent",
        "static",
    )

    def __init__(self, parent: str, *, static: bool, cache_time_ns: int | None, capacity: int = 16) -> None:
        self.parent = parent
        self.static = static
        self.cache_time_ns = None if static else cache_time_ns
        self.newest = 0  # newest stamp ever appended (pruning keeps it); set by the first append
        self._stamps: IntArray = np.empty(capacity, dtype=np.int64)
        self._translations: FloatArray = np.empty((capacity, 3), dtype=np.float64)
        self._rotations: FloatArray = np.empty((capacity, 4), dtype=np.float64)
        self._lo = 0
        self._hi = 0
        self._sorted = True

    def append(self, stamps: IntArray, translations: FloatArray, rotations: FloatArray) -> None:
        """Add validated samples (stamps int64, rotations unit quaternions)."""
        n = len(stamps)
        if self.static:
            # A static edge has one value: the last one given.
            self._stamps[0], self._translations[0], self._rotations[0] = (
                stamps[-1],
                translations[-1],
                rotations[-1],
            )
            self._lo, self._hi, self.newest = 0, 1, int(stamps[-1])
            return
        empty = self._hi == self._lo
        batch_newest = int(stamps.max())
        self.newest = batch_newest if empty else max(self.newest, batch_newest)
        if n == 1 and self._sorted and not empty and int(stamps[0]) == int(self._stamps[self._hi - 1]):
            # Repeated stamp at the end (a republished transform): the newer insert replaces it in place.
            self._translations[self._hi - 1] = translations[0]
            self._rotations[self._hi - 1] = rotations[0]
            return
        self._reserve(n)  # before the order check: it may sort, which moves the last sample
        hi = self._hi
        in_order = empty or int(stamps[0]) > int(self._stamps[hi - 1])
        if n > 1:
            in_order = in_order and bool(np.all(stamps[1:] > stamps[:-1]))
        self._stamps[hi : hi + n] = stamps
        self._translations[hi : hi + n] = translations
        self._rotations[hi : hi + n] = rotations
        self._hi = hi + n
        self._sorted = self._sorted and in_order

    def _reserve(self, n: int) -> None:
        capacity = len(self._stamps)
        if self._hi + n <= capacity:
            return
        if self.cache_time_ns is not None:
            self._settle()  # prune first: with a cache limit, a full buffer is often mostly stale
        lo, hi = self._lo, self._hi
        needed = hi - lo + n
        # When compacting alone leaves at least half free, keep the size; else double it.
        new_capacity = capacity if needed <= capacity // 2 else max(2 * capacity, needed)
        stamps = np.empty(new_capacity, dtype=np.int64)
        translations = np.empty((new_capacity, 3), dtype=np.float64)
        rotations = np.empty((new_capacity, 4), dtype=np.float64)
        stamps[: hi - lo] = self._stamps[lo:hi]
        translations[: hi - lo] = self._translations[lo:hi]
        rotations[: hi - lo] = self._rotations[lo:hi]
        self._stamps, self._translations, self._rotations = stamps, translations, rotations
        self._lo, self._hi = 0, hi - lo

    def _settle(self) -> None:
        """Sort pending out-of-order samples, keep the last insert per stamp, drop samples past the cache."""
        lo, hi = self._lo, self._hi
        if not self._sorted:
            # Stable, so equal stamps stay in insertion order and keeping the last of a run keeps the newest.
            order = np.argsort(self._stamps[lo:hi], kind="stable")
            stamps = self._stamps[lo:hi][order]
            keep = np.ones(len(stamps), dtype=bool)
            keep[:-1] = stamps[1:] != stamps[:-1]
            order = order[keep]
            count = len(order)
            self._stamps[lo : lo + count] = stamps[keep]
            self._translations[lo : lo + count] = self._translations[lo:hi][order]
            self._rotations[lo : lo + count] = self._rotations[lo:hi][order]
            hi = self._hi = lo + count
            self._sorted = True
        if self.cache_time_ns is not None and hi > lo:
            # tf2's pruneList: keep samples no older than newest - cache time.
            cutoff = self.newest - self.cache_time_ns
            self._lo = lo + int(np.searchsorted(self._stamps[lo:hi], cutoff, side="left"))

    def time_range(self) -> tuple[int, int]:
        self._settle()
        return int(self._stamps[self._lo]), int(self._stamps[self._hi - 1])

    def samples(self) -> tuple[IntArray, FloatArray, FloatArray]:
        """Copies of the sorted samples (stamps, translations, rotations)."""
        self._settle()
        lo, hi = self._lo, self._hi
        return self._stamps[lo:hi].copy(), self._translations[lo:hi].copy(), self._rotations[lo:hi].copy()

    def _row(self, i: int) -> tuple[quat.Vec3, quat.Quat]:
        tx, ty, tz = self._translations[i].tolist()
        qx, qy, qz, qw = self._rotations[i].tolist()
        return (tx, ty, tz), (qx, qy, qz, qw)

    def sample(self, time_ns: int) -> tuple[quat.Vec3, quat.Quat]:
        """(translation, rotation) at ``time_ns``, tf2's ``TimeCache::getData``; raises _OutOfRangeError."""
        self._settle()
        lo, hi = self._lo, self._hi
        if self.static or time_ns == 0:
            return self._row(hi - 1)
        stamps = self._stamps[lo:hi]
        if hi - lo == 1:
            only = int(stamps[0])
            if only == time_ns:
                return self._row(lo)
            raise _OutOfRangeError(
                f"Lookup would require extrapolation at time {format_stamp(time_ns)}, "
                f"but only time {format_stamp(only)} is in the buffer"
            )
        i = int(np.searchsorted(stamps, time_ns, side="left"))
        if i < len(stamps) and int(stamps[i]) == time_ns:
            return self._row(lo + i)
        if i == len(stamps):
            raise _OutOfRangeError(
                "Lookup would require extrapolation into the future.  "
                f"Requested time {format_stamp(time_ns)} "
                f"but the latest data is at time {format_stamp(int(stamps[-1]))}"
            )
        if i == 0:
            raise _OutOfRangeError(
                "Lookup would require extrapolation into the past.  "
                f"Requested time {format_stamp(time_ns)} "
                f"but the earliest data is at time {format_stamp(int(stamps[0]))}"
            )
        t0, t1 = int(stamps[i - 1]), int(stamps[i])
        ratio = (time_ns - t0) / (t1 - t0)  # exact int differences, one rounding
        (ax, ay, az), q0 = self._row(lo + i - 1)
        (bx, by, bz), q1 = self._row(lo + i)
        keep = 1.0 - ratio
        translation = (keep * ax + ratio * bx, keep * ay + ratio * by, keep * az + ratio * bz)
        return translation, quat.slerp_one(q0, q1, ratio)


class TfBuffer:
    """Time-indexed TF tree with tf2's lookups; see the module docstring for the semantics."""

    def __init__(self, cache_time_ns: int | None = None) -> None:
        """``cache_time_ns``: per edge, keep samples no older than its newest minus this (tf2 uses 10 s);
        None keeps everything, as bag conversion wants."""
        if cache_time_ns is not None and cache_time_ns < 0:
            raise ValueError(f"cache_time_ns must be None or >= 0, got {cache_time_ns}")
        self._cache_time_ns = cache_time_ns
        self._edges: dict[str, _Edge] = {}  # by child frame
        self._frames: set[str] = set()
        self._lock = threading.Lock()

    @property
    def cache_time_ns(self) -> int | None:
        return self._cache_time_ns

    # ---- inserting -------------------------------------------------------------------------------------

    def add_transform(
        self,
        parent: str,
        child: str,
        stamp_ns: SupportsIndex,
        translation: npt.ArrayLike,
        rotation_xyzw: npt.ArrayLike,
        static: bool = False,
    ) -> bool:
        """Add one sample of edge ``parent -> child`` (maps ``child`` points into ``parent``).

        Returns False when the sample was ignored (older than the cache, or an older re-parenting).
        Raises ValueError for bad frame ids, non-finite values or a zero-norm rotation.
        """
        stamps = np.array([operator.index(stamp_ns)], dtype=np.int64)
        translations = np.asarray(translation, dtype=np.float64).reshape(1, -1)
        rotations = np.asarray(rotation_xyzw, dtype=np.float64).reshape(1, -1)
        return self.add_transforms(parent, child, stamps, translations, rotations, static=static) == 1

    def add_transforms(
        self,
        parent: str,
        child: str,
        stamps_ns: npt.ArrayLike,
        translations: npt.ArrayLike,
        rotations: npt.ArrayLike,
        static: bool = False,
    ) -> int:
        """Add N samples of one edge at once: stamps (N,) integer ns, translations (N, 3), rotations (N, 4).

        Stamps may come in any order. For a static edge the last row wins. Returns how many samples were
        accepted (the others were older than the cache or than the edge they would re-parent).
        """
        parent, child = _clean_frame(parent), _clean_frame(child)
        stamps, trans, rots = _validated(parent, child, stamps_ns, translations, rotations)
        if len(stamps) == 0:
            return 0
        with self._lock:
            edge = self._edges.get(child)
            if static:
                if edge is None or not edge.static or edge.parent != parent:
                    edge = self._edges[child] = _Edge(parent, static=True, cache_time_ns=None, capacity=1)
                edge.append(stamps, trans, rots)
                self._frames.update((parent, child))
                return len(stamps)
            if edge is not None and not edge.static and edge.parent != parent:
                if int(stamps.max()) < edge.newest:
                    log.warning(
                        "ignoring transform %s -> %s: %s has newer data under parent %s",
                        parent,
                        child,
                        child,
                        edge.parent,
                    )
                    return 0
                log.info("frame %s re-parented from %s to %s", child, edge.parent, parent)
                edge = None
            if edge is None or edge.static:
                edge = self._edges[child] = _Edge(parent, static=False, cache_time_ns=self._cache_time_ns)
                newest = int(stamps.max())
            else:
                newest = max(edge.newest, int(stamps.max()))
            if self._cache_time_ns is not None:
                # tf2 ignores data already outside the cache ("TF_OLD_DATA") instead of storing it.
                fresh = stamps >= newest - self._cache_time_ns
                if not fresh.any():
                    return 0
                stamps, trans, rots = stamps[fresh], trans[fresh], rots[fresh]
            edge.append(stamps, trans, rots)
            self._frames.update((parent, child))
            return len(stamps)

    def clear(self) -> None:
        """Forget every frame and sample."""
        with self._lock:
            self._edges.clear()
            self._frames.clear()

    # ---- the tree --------------------------------------------------------------------------------------

    def frames(self) -> list[str]:
        """Every frame seen as parent or child, sorted."""
        with self._lock:
            return sorted(self._frames)

    def parent_of(self, frame: str) -> str | None:
        """The current parent of ``frame``, None for a root; FrameLookupError if unknown."""
        frame = _clean_frame(frame)
        with self._lock:
            self._require(frame, "parent_of argument frame")
            edge = self._edges.get(frame)
            return None if edge is None else edge.parent

    def roots(self) -> list[str]:
        """Frames without a parent, sorted: one per tree."""
        with self._lock:
            return sorted(frame for frame in self._frames if frame not in self._edges)

    def time_range(self, parent: str, child: str) -> tuple[int, int] | None:
        """(earliest, latest) stamp of a dynamic edge, None for a static one (valid at all times).

        FrameLookupError when ``child`` does not currently hang under ``parent``.
        """
        parent, child = _clean_frame(parent), _clean_frame(child)
        with self._lock:
            edge = self._edge(parent, child)
            return None if edge.static else edge.time_range()

    def samples(self, parent: str, child: str) -> tuple[IntArray, FloatArray, FloatArray]:
        """Copies of an edge's stored samples, sorted: stamps (N,), translations (N, 3), rotations (N, 4)."""
        parent, child = _clean_frame(parent), _clean_frame(child)
        with self._lock:
            return self._edge(parent, child).samples()

    # ---- lookups ---------------------------------------------------------------------------------------

    def lookup_transform(self, target_frame: str, source_frame: str, time_ns: SupportsIndex) -> Transform:
        """The transform mapping points in ``source_frame`` into ``target_frame`` at ``time_ns``.

        ``time_ns == 0`` means the latest common time. Raises FrameLookupError, ConnectivityError or
        ExtrapolationError (all TransformError) as tf2's ``lookupTransform`` would.
        """
        target, source, time = _clean_frame(target_frame), _clean_frame(source_frame), operator.index(time_ns)
        with self._lock:
            return self._lookup(target, source, time)

    def can_transform(self, target_frame: str, source_frame: str, time_ns: SupportsIndex) -> bool:
        """Whether :meth:`lookup_transform` would succeed."""
        try:
            self.lookup_transform(target_frame, source_frame, time_ns)
        except TransformError:
            return False
        return True

    def latest_common_time(self, target_frame: str, source_frame: str) -> int:
        """The time a lookup at 0 resolves to: the newest time all dynamic edges between the frames share.

        0 when the chain is all static (or empty), as in tf2's ``getLatestCommonTime``.
        """
        target, source = _clean_frame(target_frame), _clean_frame(source_frame)
        with self._lock:
            if target == source:
                edge = self._edges.get(target)
                return 0 if edge is None or edge.static else edge.newest
            up_source, up_target = self._chains(target, source)
            return _latest_common([self._edges[f] for f in (*up_source, *up_target)])

    def transform_points(
        self, target_frame: str, source_frame: str, time_ns: SupportsIndex, points: npt.ArrayLike
    ) -> FloatArray:
        """Points (N, 3) given in ``source_frame``, expressed in ``target_frame`` at ``time_ns``."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.shape[-1:] != (3,):
            raise ValueError(f"points must have shape (N, 3), got {pts.shape}")
        return self.lookup_transform(target_frame, source_frame, time_ns).apply(pts)

    # ---- internals (callers hold the lock) -------------------------------------------------------------

    def _require(self, frame: str, what: str) -> None:
        if frame not in self._frames:
            raise FrameLookupError(f'"{frame}" passed to {what} does not exist.')

    def _edge(self, parent: str, child: str) -> _Edge:
        edge = self._edges.get(child)
        if edge is None or edge.parent != parent:
            raise FrameLookupError(f"no edge from frame [{parent}] to child frame [{child}]")
        return edge

    def _ancestry(self, frame: str) -> list[str]:
        """``frame`` and its ancestors up to its root."""
        chain = [frame]
        seen = {frame}
        while (edge := self._edges.get(chain[-1])) is not None:
            if edge.parent in seen:
                # tf2 reports a loop as a lookup error too.
                loop = " -> ".join([*chain[chain.index(edge.parent) :], edge.parent])
                raise FrameLookupError(f"The tf tree is invalid because it contains a loop: {loop}")
            chain.append(edge.parent)
            seen.add(edge.parent)
        return chain

    def _chains(self, target: str, source: str) -> tuple[list[str], list[str]]:
        """Child frames of the edges from ``source`` and from ``target`` up to their common ancestor."""
        self._require(target, "lookup_transform argument target_frame")
        self._require(source, "lookup_transform argument source_frame")
        up_source = self._ancestry(source)
        index = {frame: i for i, frame in enumerate(up_source)}
        up_target = self._ancestry(target)
        for j, frame in enumerate(up_target):
            i = index.get(frame)
            if i is not None:
                return up_source[:i], up_target[:j]
        raise ConnectivityError(
            f"Could not find a connection between '{target}' and '{source}' because they are not part "
            "of the same tree. Tf has two or more unconnected trees."
        )

    def _lookup(self, target: str, source: str, time_ns: int) -> Transform:
        if target == source:
            return Transform.identity()  # tf2 short-circuits before validating the frame
        up_source, up_target = self._chains(target, source)
        if time_ns == 0:
            time_ns = _latest_common([self._edges[f] for f in (*up_source, *up_target)])
        source_t, source_q = self._accumulate(up_source, time_ns, target, source)
        target_t, target_q = self._accumulate(up_target, time_ns, target, source)
        # target <- source = inverse(common <- target) * (common <- source), as tf2's FullPath ending.
        inv_q = (-target_q[0], -target_q[1], -target_q[2], target_q[3])
        offset = (source_t[0] - target_t[0], source_t[1] - target_t[1], source_t[2] - target_t[2])
        translation = quat.rotate_one(inv_q, offset)
        rotation = quat.multiply_one(inv_q, source_q)
        return Transform(np.array(translation), np.array(rotation))

    def _accumulate(
        self, children: list[str], time_ns: int, target: str, source: str
    ) -> tuple[quat.Vec3, quat.Quat]:
        """The product of the edges of ``children`` (bottom up): maps the first child into the top."""
        translation: quat.Vec3 = (0.0, 0.0, 0.0)
        rotation: quat.Quat = (0.0, 0.0, 0.0, 1.0)
        for child in children:
            try:
                (ex, ey, ez), edge_rotation = self._edges[child].sample(time_ns)
            except _OutOfRangeError as exc:
                raise ExtrapolationError(
                    f"{exc}, when looking up transform from frame [{source}] to frame [{target}]"
                ) from None
            rx, ry, rz = quat.rotate_one(edge_rotation, translation)
            translation = (rx + ex, ry + ey, rz + ez)
            rotation = quat.multiply_one(edge_rotation, rotation)
        return translation, rotation


def _latest_common(edges: list[_Edge]) -> int:
    newest = [edge.newest for edge in edges if not edge.static]
    return min(newest) if newest else 0


def _validated(
    parent: str,
    child: str,
    stamps_ns: npt.ArrayLike,
    translations: npt.ArrayLike,
    rotations: npt.ArrayLike,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Checked, normalised copies of one edge's input; ValueError naming the edge otherwise."""
    edge = f"edge {parent!r} -> {child!r}"
    if not parent or not child:
        raise ValueError(f"{edge}: frame ids must not be empty")
    if parent == child:
        raise ValueError(f"{edge}: a frame cannot be its own parent")
    stamps = np.asarray(stamps_ns)
    if stamps.ndim != 1:
        raise ValueError(f"{edge}: stamps must have shape (N,), got {stamps.shape}")
    count = len(stamps)
    if count and stamps.dtype.kind not in "iu":
        # Float seconds or ns would silently lose precision or units: insist on integer nanoseconds.
        raise ValueError(f"{edge}: stamps must be integer nanoseconds, got dtype {stamps.dtype}")
    trans = np.asarray(translations, dtype=np.float64)
    if trans.shape != (count, 3):
        raise ValueError(f"{edge}: translations must have shape ({count}, 3), got {trans.shape}")
    if not np.all(np.isfinite(trans)):
        raise ValueError(f"{edge}: translation has non-finite components")
    rots = np.asarray(rotations, dtype=np.float64)
    if rots.shape != (count, 4):
        raise ValueError(f"{edge}: rotations must have shape ({count}, 4), got {rots.shape}")
    return stamps.astype(np.int64), trans.copy(), quat.normalize(rots, what=f"rotation of {edge}")
