"""Rows: what a converter returns and every sink consumes.

A row is one archetype on one entity at one point in time. Each component value is a *batch*: a numpy
array whose first axis counts instances (``(N, 3)`` positions, ``(6,)`` scalars) or a list with one entry
per instance (``["INFO"]``, ``[jpeg_bytes]``). Components use the Python field names of Rerun 0.41's
archetypes (``positions``, ``buffer``, ``child_frame``); their stored column names are
``Archetype:field`` (:func:`column_name`).

``extra`` holds columns outside the archetype's own fields (a point cloud's ``ring`` or ``t``); they are
stored under the same archetype name, as Rerun's own MCAP importer does (``Points3D:intensity``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa

Batch: TypeAlias = "npt.NDArray[Any] | pa.Array | Sequence[Any]"


def column_name(archetype: str, field_name: str) -> str:
    """The stored column name of a component, as Rerun writes it (``Points3D:positions``)."""
    return f"{archetype}:{field_name}"


def batch_length(batch: Batch) -> int:
    """Number of instances in a batch; a 0-d array counts as one; Arrow arrays count their elements."""
    if isinstance(batch, np.ndarray):
        return 1 if batch.ndim == 0 else int(batch.shape[0])
    return len(batch)


@dataclass(slots=True)
class Row:
    """One archetype's components on one entity.

    ``times`` overrides or adds timeline values for this row only (each TF edge carries its own stamp);
    the pipeline fills in the message's own ``log_time`` / ``ros_time`` for the rest, ``delay_ns`` after
    them (a marker's lifetime ends that long after its message: :func:`row_times`). Static rows have no
    time at all: they hold at every time (``/tf_static``, a robot description).
    """

    entity_path: str
    archetype: str
    components: Mapping[str, Batch]
    extra: Mapping[str, Batch] = field(default_factory=dict)
    times: Mapping[str, int] = field(default_factory=dict)
    static: bool = False
    delay_ns: int = 0

    def column_names(self) -> list[str]:
        return [column_name(self.archetype, name) for name in (*self.components, *self.extra)]

    def num_instances(self) -> int:
        """The largest batch length: what a viewer would draw for this row."""
        lengths = [batch_length(b) for b in (*self.components.values(), *self.extra.values())]
        return max(lengths, default=0)


def row_times(row: Row, default_times: Mapping[str, int]) -> Mapping[str, int]:
    """The times a sink writes ``row`` at: the message's own (``delay_ns`` later), then the row's own."""
    if row.static:
        return {}
    if row.delay_ns:
        default_times = {name: value + row.delay_ns for name, value in default_times.items()}
    return {**default_times, **row.times} if row.times else default_times


@dataclass(frozen=True, slots=True)
class Cycled:
    """A column whose row ``i`` holds ``batches[i % len(batches)]``: the same names or frame in every
    row (one batch), or the frames of each transform of a TF message, message after message."""

    batches: Sequence[Batch]
    rows: int

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, index: int) -> Batch:
        return self.batches[index % len(self.batches)]


#: A component of many rows at once: an array whose first axis counts rows and second the instances of
#: each row (``(rows, 6)`` scalars, ``(rows, 1, 3)`` translations), one batch per row, or batches that
#: repeat (:class:`Cycled`).
ColumnBatch: TypeAlias = "npt.NDArray[Any] | Sequence[Batch] | Cycled"


@dataclass(slots=True)
class ColumnRows:
    """Many rows of one archetype on one entity, column by column: what a column converter returns for a
    batch of messages. ``times`` holds one value per row for each timeline (none for static rows)."""

    entity_path: str
    archetype: str
    times: Mapping[str, npt.NDArray[np.int64]]
    components: Mapping[str, ColumnBatch]
    extra: Mapping[str, ColumnBatch] = field(default_factory=dict)
    static: bool = False

    def __len__(self) -> int:
        first = next(iter(self.components.values()), None)
        return 0 if first is None else len(first)

    def to_rows(self) -> list[Row]:
        """The same data as one :class:`Row` per row, each carrying its own times."""
        rows = []
        for index in range(len(self)):
            rows.append(
                Row(
                    self.entity_path,
                    self.archetype,
                    {name: column[index] for name, column in self.components.items()},
                    extra={name: column[index] for name, column in self.extra.items()},
                    times={} if self.static else {name: int(t[index]) for name, t in self.times.items()},
                    static=self.static,
                )
            )
        return rows
