"""The shared pipeline: decoded message -> converter -> rows -> sinks, with per-topic accounting.

Both the bag replay and the live node feed it. A message that fails to convert is counted against its
topic and warned about once (later failures are only counted); everything else keeps flowing. The bag
replay also hands it whole batches of small messages (:meth:`Pipeline.process_columns`) for the types
that have a column converter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import numpy as np

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.raw import convert_raw
from rerun_bridge.convert.registry import (
    ColumnConverterFunc,
    ConvertContext,
    ConverterFunc,
    lookup,
    lookup_columns,
    normalize_type_name,
)
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME, header_stamp_ns

log = logging.getLogger(__name__)

STATIC_TOPICS = frozenset({"/tf_static"})


class TopicKind(Enum):
    CONVERTED = "converted"
    RAW = "raw"
    SKIPPED = "skipped"


class RowSink(Protocol):
    def write(self, rows: list[Row], default_times: Mapping[str, int]) -> None: ...


@dataclass(slots=True)
class TopicStats:
    """What happened to one topic; printed in the closing summary."""

    topic: str
    type_name: str
    kind: TopicKind
    entity_path: str
    archetypes: tuple[str, ...] = ()
    messages: int = 0
    rows: int = 0
    errors: int = 0
    skipped: int = 0
    first_error: str = ""
    reason: str = ""
    #: The archetypes its rows actually had (a converter may produce several kinds, e.g. Image or DepthImage).
    produced: set[str] = field(default_factory=set)
    #: Messages whose header stamp is zero (never set by the publisher): at 1970 on ``ros_time``.
    zero_stamps: int = 0


@dataclass(slots=True)
class _Topic:
    stats: TopicStats
    func: ConverterFunc | None
    context: ConvertContext
    column_func: ColumnConverterFunc | None = None


@dataclass(slots=True)
class Pipeline:
    sinks: list[RowSink]
    warn: Callable[[str], None] = log.warning
    #: Rows it rejects are dropped before the sinks (the live node's TF frame allow / deny lists).
    row_filter: Callable[[Row], bool] | None = None
    _topics: dict[str, _Topic] = field(default_factory=dict)

    def add_topic(
        self,
        topic: str,
        type_name: str,
        entity_path: str | None = None,
        options: Mapping[str, Any] | None = None,
        skip_reason: str = "",
        raw_type: Any = None,
    ) -> TopicStats:
        """Decide once per topic how it converts; ``skip_reason`` marks it undecodable."""
        path = entity_path or str(EntityPath.from_topic(topic))
        context = ConvertContext(
            topic=topic,
            type_name=normalize_type_name(type_name),
            entity_path=path,
            options=options or {},
            static=topic in STATIC_TOPICS,
            raw_type=raw_type,
        )
        converter = lookup(type_name)
        func: ConverterFunc | None
        archetypes: tuple[str, ...]
        if skip_reason:
            kind, func, archetypes = TopicKind.SKIPPED, None, ()
            self.warn(f"topic {topic} ({type_name}) skipped: {skip_reason}")
        elif converter is None:
            kind, func, archetypes = TopicKind.RAW, convert_raw, ()
            self.warn(f"topic {topic}: no converter for {type_name}; its fields are kept as raw columns")
        else:
            kind, func, archetypes = TopicKind.CONVERTED, converter.func, converter.archetypes
        stats = TopicStats(topic, context.type_name, kind, path, archetypes, reason=skip_reason)
        column_func = lookup_columns(type_name) if kind is TopicKind.CONVERTED else None
        self._topics[topic] = _Topic(stats, func, context, column_func)
        return stats

    def topic_stats(self) -> list[TopicStats]:
        return [entry.stats for entry in self._topics.values()]

    def stats_of(self, topic: str) -> TopicStats | None:
        entry = self._topics.get(topic)
        return entry.stats if entry else None

    def count_skipped(self, topic: str) -> None:
        entry = self._topics[topic]
        entry.stats.messages += 1
        entry.stats.skipped += 1

    def record_error(self, topic: str, error: str, message: bool = False) -> None:
        """Count a failure; warn for the first one of each topic. ``message``: it also ends that message
        (a decode failure, where :meth:`process` is never reached)."""
        stats = self._topics[topic].stats
        stats.errors += 1
        stats.messages += int(message)
        if not stats.first_error:
            stats.first_error = error
            self.warn(
                f"topic {topic} ({stats.type_name}): {error} (further errors on this topic are counted)"
            )

    def _count_zero_stamps(self, stats: TopicStats, count: int) -> None:
        if count and not stats.zero_stamps:
            self.warn(
                f"topic {stats.topic}: header stamps of zero (never set by the publisher); on ros_time "
                "these messages sit at 1970, so scrub this topic on log_time"
            )
        stats.zero_stamps += count

    def accepts_columns(self, topic: str) -> bool:
        """Whether :meth:`process_columns` may be offered this topic's messages."""
        entry = self._topics.get(topic)
        return entry is not None and entry.column_func is not None and self.row_filter is None

    def process_columns(self, topic: str, msgs: MessageColumns) -> bool:
        """Convert a batch of same-layout messages column-wise and hand the rows to every sink; False when
        the converter declines the batch (the caller then processes those messages one by one)."""
        entry = self._topics[topic]
        if entry.column_func is None:
            return False
        try:
            batches = entry.column_func(msgs, entry.context)
        except Exception as err:  # one by one, each message then fails or converts on its own
            log.debug("topic %s: column conversion failed (%s); converting one by one", topic, err)
            return False
        if batches is None:
            return False
        stats = entry.stats
        stats.messages += len(msgs)
        stamps = msgs.default_times().get(ROS_TIME)
        if stamps is not None:
            self._count_zero_stamps(stats, int(np.count_nonzero(stamps == 0)))
        for batch in batches:
            stats.rows += len(batch)
            stats.produced.add(batch.archetype)
        for sink in self.sinks:
            write_columns = getattr(sink, "write_columns", None)
            if write_columns is not None:
                for batch in batches:
                    write_columns(batch)
            else:
                sink.write([row for batch in batches for row in batch.to_rows()], {})
        return True

    def process(self, topic: str, msg: Any, log_time_ns: int) -> list[Row]:
        """Convert one decoded message and hand its rows to every sink."""
        entry = self._topics[topic]
        entry.stats.messages += 1
        if entry.func is None:
            entry.stats.skipped += 1
            return []
        try:
            rows = entry.func(msg, entry.context)
        except Exception as err:  # any converter failure is data's fault, never the bridge's end
            self.record_error(topic, f"{type(err).__name__}: {err}")
            return []
        if self.row_filter is not None:
            rows = [row for row in rows if self.row_filter(row)]
        times = {LOG_TIME: log_time_ns}
        stamp = header_stamp_ns(msg)
        if stamp is not None:
            times[ROS_TIME] = stamp
            if stamp == 0:
                self._count_zero_stamps(entry.stats, 1)
        for sink in self.sinks:
            sink.write(rows, times)
        stats = entry.stats
        stats.rows += len(rows)
        produced = stats.produced
        for row in rows:  # a loop, not a generator: this runs once per message
            if row.archetype not in produced:
                produced.add(row.archetype)
        return rows
