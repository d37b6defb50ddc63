"""Line strips held as one array of points and each strip's point count (:class:`Strips`).

A row's ``strips`` component is a batch with one (N, D) array per strip (a list, like any batch of
instances). A MarkerArray's LINE_LIST of 10,000 segments would be 10,000 array objects: made, sized by the
batcher, checked and joined again for Arrow, one by one. :class:`Strips` is the same sequence of
strips (indexing and iteration give each strip's points, a view) backed by one contiguous array, so
those steps are numpy over all points at once (:func:`rerun_bridge.sinks.arrow_columns.list_column`,
the viewer's store, the marker state's takes and joins).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def ragged(firsts: I64, sizes: I64) -> I64:
    """Indices of ``sizes[i]`` consecutive elements from each ``firsts[i]``, one run after another."""
    ends = np.cumsum(sizes)
    total = int(ends[-1]) if len(ends) else 0
    index: I64 = np.repeat(firsts - (ends - sizes), sizes) + np.arange(total, dtype=np.int64)
    return index


class Strips(Sequence[F32]):
    """``len(lengths)`` strips: strip ``i`` is the next ``lengths[i]`` rows of ``points`` (float32,
    D wide)."""

    __slots__ = ("_starts", "lengths", "points")

    def __init__(self, points: npt.NDArray[Any], lengths: npt.NDArray[Any]) -> None:
        self.points: F32 = np.ascontiguousarray(points, dtype=np.float32)
        self.lengths: I64 = np.asarray(lengths, dtype=np.int64)
        if self.points.ndim != 2 or int(self.lengths.sum()) != len(self.points):
            raise ValueError(
                f"{len(self.points)} points of shape {self.points.shape} for strips of "
                f"{int(self.lengths.sum())} points"
            )
        self._starts: I64 | None = None

    @property
    def width(self) -> int:
        """Coordinates per point (3 for LineStrips3D)."""
        return int(self.points.shape[1])

    @property
    def nbytes(self) -> int:
        return int(self.points.nbytes + self.lengths.nbytes)

    def starts(self) -> I64:
        """The row of ``points`` each strip starts at."""
        if self._starts is None:
            self._starts = np.cumsum(self.lengths) - self.lengths
        return self._starts

    def __len__(self) -> int:
        return len(self.lengths)

    @overload
    def __getitem__(self, index: int) -> F32: ...

    @overload
    def __getitem__(self, index: slice) -> Strips: ...

    def __getitem__(self, index: int | slice) -> F32 | Strips:
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        position = range(len(self))[index]  # negative indices; IndexError past the end (ends iteration)
        start = int(self.starts()[position])
        return self.points[start : start + int(self.lengths[position])]

    def __iter__(self) -> Iterator[F32]:
        for start, length in zip(self.starts().tolist(), self.lengths.tolist(), strict=True):
            yield self.points[start : start + length]

    def take(self, indices: npt.NDArray[Any]) -> Strips:
        """The strips at ``indices``, in that order."""
        lengths = self.lengths[indices]
        return Strips(self.points[ragged(self.starts()[indices], lengths)], lengths)

    @staticmethod
    def joined(parts: Iterable[Sequence[npt.NDArray[Any]]], width: int = 3) -> Strips:
        """The strips of ``parts`` one after another; a part may be a Strips or any sequence of (N, D)
        arrays (a list of them, as a converter builds strips one by one)."""
        points: list[npt.NDArray[Any]] = []
        lengths: list[npt.NDArray[Any]] = []
        for part in parts:
            if isinstance(part, Strips):
                points.append(part.points)
                lengths.append(part.lengths)
            else:
                arrays = [np.asarray(strip, dtype=np.float32).reshape(-1, width) for strip in part]
                points += arrays
                lengths.append(np.array([len(array) for array in arrays], dtype=np.int64))
        if not points:
            return Strips(np.zeros((0, width), dtype=np.float32), np.zeros(0, dtype=np.int64))
        return Strips(np.concatenate(points), np.concatenate(lengths))

    def to_arrow(self) -> pa.Array:
        """One list of D-vectors per strip (Rerun's ``LineStrip3D`` layout, items not null)."""
        vector = pa.field("item", pa.float32(), nullable=False)
        points = pa.FixedSizeListArray.from_arrays(
            pa.array(self.points.reshape(-1)), type=pa.list_(vector, self.width)
        )
        offsets = np.zeros(len(self.lengths) + 1, dtype=np.int32)
        np.cumsum(self.lengths, out=offsets[1:])
        item = pa.field("item", points.type, nullable=False)
        return pa.ListArray.from_arrays(pa.array(offsets), points, type=pa.list_(item))
