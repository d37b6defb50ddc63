"""The time slider's scale: linear over the data, long empty stretches drawn compressed (as Rerun's).

A recording whose data comes in bursts months apart (header stamps of two clocks, two recording
sessions in one file) would put every burst in a sliver of a linear slider. :class:`TimeAxis` maps slider
positions in [0, 1] to times piecewise linearly: the spans where data exists (the store's coverage) and
short gaps keep their length; a gap longer than :func:`collapse_threshold` (5 % of the timeline, at least
2 s on time timelines) is drawn as a fixed :data:`GAP_SHARE` of the slider, and the panel marks it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

#: Share of the whole slider one collapsed gap takes (all of them together at most :data:`MAX_GAPS_SHARE`).
GAP_SHARE: Final = 0.02
MAX_GAPS_SHARE: Final = 0.3
#: A gap collapses when it is longer than this share of the timeline ...
GAP_FRACTION: Final = 0.05
#: ... and at least this long (ns on time timelines; sequence timelines use :data:`MIN_GAP_STEPS`).
MIN_GAP_NS: Final = 2_000_000_000
MIN_GAP_STEPS: Final = 10


def collapse_threshold(start: int, end: int, is_time: bool) -> int:
    """The shortest gap that collapses on a timeline from ``start`` to ``end``."""
    floor = MIN_GAP_NS if is_time else MIN_GAP_STEPS
    return max(floor, round((end - start) * GAP_FRACTION))


class TimeAxis:
    """Slider position <-> time, over ``start`` .. ``end`` with the gaps between ``spans`` collapsed."""

    def __init__(
        self, start: int, end: int, spans: Sequence[tuple[int, int]] = (), threshold: int = 0
    ) -> None:
        self.start, self.end = start, end
        inside = [(max(low, start), min(high, end)) for low, high in spans if high >= start and low <= end]
        self.gaps: list[tuple[int, int]] = [
            (inside[i][1], inside[i + 1][0])
            for i in range(len(inside) - 1)
            if threshold > 0 and inside[i + 1][0] - inside[i][1] > threshold
        ]
        times = [start]
        for low, high in self.gaps:
            times += [low, high]
        times.append(end)
        self._times = times  # exact ints: float64 cannot hold nanoseconds since 1970
        lengths = np.diff(np.array([time - start for time in times], dtype=np.float64))
        kept = float(lengths[0::2].sum())  # the stretches between gaps
        share = min(GAP_SHARE, MAX_GAPS_SHARE / len(self.gaps)) if self.gaps else 0.0
        gap_length = kept * share / (1.0 - share * len(self.gaps)) if kept > 0 else 1.0
        lengths[1::2] = gap_length
        self._positions: npt.NDArray[np.float64] = np.concatenate(([0.0], np.cumsum(lengths)))
        total = self._positions[-1]
        if total > 0:
            self._positions /= total

    def position_of(self, time: int) -> float:
        """Where ``time`` sits on the slider, 0 at the start and 1 at the end."""
        if self.end <= self.start:
            return 0.0
        time = min(max(time, self.start), self.end)
        segment = min(max(bisect.bisect_right(self._times, time) - 1, 0), len(self._times) - 2)
        low, high = self._times[segment], self._times[segment + 1]
        share = (time - low) / (high - low) if high > low else 0.0
        first, last = self._positions[segment], self._positions[segment + 1]
        return float(first + share * (last - first))

    def time_at(self, position: float) -> int:
        """The time at a slider position; inside a collapsed gap, the time spreads over the gap."""
        if self.end <= self.start:
            return self.start
        position = min(max(position, 0.0), 1.0)
        segment = int(np.searchsorted(self._positions, position, side="right")) - 1
        segment = min(max(segment, 0), len(self._times) - 2)
        first, last = float(self._positions[segment]), float(self._positions[segment + 1])
        share = (position - first) / (last - first) if last > first else 0.0
        low, high = self._times[segment], self._times[segment + 1]
        return low + round(share * (high - low))

    def out_of_gap(self, time: int, forward: bool) -> int:
        """``time``, or the end (``forward``) or start of the collapsed gap it falls in."""
        for low, high in self.gaps:
            if low < time < high:
                return high if forward else low
        return time

    def skip_gap(self, time: int) -> int:
        """``time``, or the end of the collapsed gap it falls in (playback jumps over empty stretches)."""
        for low, high in self.gaps:
            if low < time < high:
                return high
        return time
