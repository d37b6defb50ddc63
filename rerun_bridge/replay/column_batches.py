"""Bag replay of small high-rate topics a batch at a time, column by column.

A 200 Hz IMU or a 100 Hz TF topic is tens of thousands of tiny messages, where decoding, converting and
batching each one on its own costs far more than its numbers. For topics whose type has a column
converter, the replay gathers the raw messages and, every :data:`BATCH_MESSAGES`, splits them by byte
layout (:mod:`rerun_bridge.cdr.layout`) and converts each group at once. Whatever does not fit (a
message of another layout, one the full decoder rejects, a batch the converter declines) goes through the
message-by-message path unchanged, so errors are counted and warned about exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from rosbags.typesys.store import Typestore

from rerun_bridge.cdr.decoding import Decoder
from rerun_bridge.cdr.layout import MessageLayout, describe, split_by_layout
from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.pipeline import Pipeline

#: Messages gathered per topic before a batch is converted: a few thousand rows, about one of Rerun's
#: chunks (it keeps sorted chunks up to 4096 rows); fewer, bigger chunks cost less to write.
BATCH_MESSAGES: Final = 2048
#: ... or before that many bytes, whichever comes first (scans of thousands of beams).
BATCH_BYTES: Final = 4 << 20
#: Bigger messages go one by one: their own conversion dwarfs the per-message overhead.
MAX_MESSAGE_BYTES: Final = 64 << 10

#: Types whose conversion reads what batches of other types teach the pipeline: their pending batches
#: convert first. A joint state leaves to TF the joints whose child link TF carries (docs/robot-model.md);
#: robot_state_publisher sends each /tf just after its joint state, so the joint-state batch, oldest
#: first, converted before any TF was known and wrote every joint twice.
CONVERTED_AFTER: Final = {"sensor_msgs/msg/JointState": frozenset({"tf2_msgs/msg/TFMessage"})}

#: (bag index, topic, payload, log time ns): the message-by-message path.
OneByOne = Callable[[int, str, bytes | memoryview, int], None]


@dataclass(slots=True)
class _Gathered:
    #: The topic's name in the pipeline (see :func:`rerun_bridge.replay.conversion._pipeline_name`).
    name: str
    type_name: str
    store: Typestore
    decoder: Decoder
    payloads: list[bytes] = field(default_factory=list)
    log_times: list[int] = field(default_factory=list)
    nbytes: int = 0


class ColumnReplay:
    """Gathers the messages of column-convertible topics and converts them a batch at a time."""

    def __init__(
        self, pipeline: Pipeline, one_by_one: OneByOne, batch_messages: int = BATCH_MESSAGES
    ) -> None:
        self.pipeline = pipeline
        self.one_by_one = one_by_one
        self.batch_messages = batch_messages
        self._topics: dict[tuple[int, str], _Gathered] = {}

    def add_topic(
        self,
        bag_index: int,
        topic: str,
        type_name: str,
        decoder: Decoder | None,
        store: Typestore | None,
        name: str | None = None,
    ) -> None:
        """Gather this topic of this bag when its type converts column-wise and it decodes at all;
        ``name`` is the topic's name in the pipeline when it is not the topic itself."""
        name = name or topic
        if decoder is not None and store is not None and self.pipeline.accepts_columns(name):
            self._topics[(bag_index, topic)] = _Gathered(name, normalize_type_name(type_name), store, decoder)

    def offer(self, bag_index: int, topic: str, payload: bytes | memoryview, log_time_ns: int) -> bool:
        """Take the message into its topic's batch; False leaves it to the caller."""
        gathered = self._topics.get((bag_index, topic))
        if gathered is None or len(payload) > MAX_MESSAGE_BYTES:
            return False
        # A copy: a view would keep the whole decompressed chunk it points into alive.
        gathered.payloads.append(bytes(payload))
        gathered.log_times.append(log_time_ns)
        gathered.nbytes += len(payload)
        if len(gathered.payloads) >= self.batch_messages or gathered.nbytes >= BATCH_BYTES:
            self._convert(bag_index, topic, gathered)
        return True

    def flush(self) -> None:
        """Convert every message still gathered, the topic with the oldest message first (so that TF
        seen before a joint state is known when that joint state converts: see docs/robot-model.md)."""
        pending = [(key, gathered) for key, gathered in self._topics.items() if gathered.log_times]
        pending.sort(key=lambda item: item[1].log_times[0])
        for (bag_index, topic), gathered in pending:
            self._convert(bag_index, topic, gathered)

    def _convert(self, bag_index: int, topic: str, gathered: _Gathered) -> None:
        first = CONVERTED_AFTER.get(gathered.type_name, frozenset())
        for (other_bag, other_topic), other in list(self._topics.items()):
            if other.type_name in first and other.payloads:
                self._convert(other_bag, other_topic, other)
        payloads, log_times = gathered.payloads, np.asarray(gathered.log_times, dtype=np.int64)
        gathered.payloads, gathered.log_times, gathered.nbytes = [], [], 0
        if not payloads:
            return

        def layout_of(payload: bytes | memoryview) -> MessageLayout | None:
            try:
                decoded = gathered.decoder(payload)
            except Exception:  # a malformed message: the one-by-one path counts and reports it
                return None
            return describe(gathered.store, gathered.type_name, payload, decoded)

        groups, leftover = split_by_layout(payloads, layout_of)
        for columns, indices in groups:
            if not self.pipeline.process_columns(gathered.name, MessageColumns(columns, log_times[indices])):
                leftover.extend(int(index) for index in indices)
        for index in sorted(leftover):
            self.one_by_one(bag_index, topic, payloads[index], int(log_times[index]))
