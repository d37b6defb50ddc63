"""What a column converter reads: a batch of messages of one topic, field by field, as numpy columns.

The fields come from any reader that knows where each field of the batch lies (the CDR layout reader,
:mod:`rerun_bridge.cdr.layout`); converters name fields by dotted path as the message definition
spells them (``header.stamp.sec``, ``transforms[2].child_frame_id``, ``position``).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from rerun_bridge.model.timeline import LOG_TIME, NANOS_PER_SECOND, ROS_TIME

_STAMP = "header.stamp"


class FieldColumns(Protocol):
    """Numeric fields as columns (one row per message); strings and sequence lengths shared by all."""

    def __len__(self) -> int: ...

    def column(self, path: str) -> npt.NDArray[Any]: ...

    def has(self, path: str) -> bool: ...

    def string(self, path: str) -> str: ...

    def length(self, path: str) -> int: ...


class MessageColumns:
    """A batch of messages that share strings and sequence lengths, with their log times."""

    def __init__(self, fields: FieldColumns, log_times: npt.NDArray[np.int64]) -> None:
        self.fields = fields
        self.log_times = log_times
        self._default_times: dict[str, npt.NDArray[np.int64]] | None = None
        self.zero_stamps = 0  # header stamps of zero, placed at their log time by default_times()

    def __len__(self) -> int:
        return len(self.fields)

    def column(self, path: str) -> npt.NDArray[Any]:
        return self.fields.column(path)

    def string(self, path: str) -> str:
        return self.fields.string(path)

    def length(self, path: str) -> int:
        return self.fields.length(path)

    def floats(self, *paths: str) -> npt.NDArray[np.float64]:
        """Single-value fields side by side as float64: shape (messages, len(paths))."""
        return np.column_stack([self.fields.column(path) for path in paths]).astype(np.float64, copy=False)

    def stamps(self, prefix: str) -> npt.NDArray[np.int64]:
        """A ``builtin_interfaces/Time`` field (``<prefix>.sec`` / ``.nanosec``) of every message, in ns."""
        seconds = self.fields.column(f"{prefix}.sec").astype(np.int64)
        return seconds * NANOS_PER_SECOND + self.fields.column(f"{prefix}.nanosec").astype(np.int64)

    def frame(self, prefix: str = "header") -> str:
        """``<prefix>.frame_id`` with the leading slash tf2 ignores stripped."""
        return self.fields.string(f"{prefix}.frame_id").lstrip("/")

    def default_times(self) -> dict[str, npt.NDArray[np.int64]]:
        """``log_time``, and ``ros_time`` from the header stamp when the type has a header: the times the
        pipeline gives each message's rows. A stamp of zero (never set) is replaced by the log time, as
        :meth:`rerun_bridge.pipeline.Pipeline.process` does. Read once: the converter and the pipeline
        both ask."""
        if self._default_times is None:
            times = {LOG_TIME: self.log_times}
            if self.fields.has(f"{_STAMP}.sec") and self.fields.has(f"{_STAMP}.nanosec"):
                stamps = self.stamps(_STAMP)
                unset = stamps == 0
                self.zero_stamps = int(np.count_nonzero(unset))
                times[ROS_TIME] = np.where(unset, self.log_times, stamps) if self.zero_stamps else stamps
            self._default_times = times
        return self._default_times
