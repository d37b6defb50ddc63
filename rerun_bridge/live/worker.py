"""The conversion worker: the one thread that decodes, converts and writes live messages to the row sinks.

Only this thread touches the row sinks (.rrd, stream), so they need no locks; DDS callbacks just enqueue.
The raw MCAP recording has a thread of its own (:mod:`rerun_bridge.live.mcap_recorder`). Every sink is
flushed every ``flush_seconds`` so that a hard kill loses at most about that much data; the flush is started,
not waited for, so conversion does not stall on the disk. Rerun's file writer queues without bound, though:
once its backlog bound is handed to it, the .rrd sink waits for it (:class:`~rerun_bridge.sinks.rrd.RrdSink`).
With a disk slower than the data, the wait makes the bounded topic queues drop their oldest messages
(counted), rather than memory growing until the robot runs out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from rerun_bridge.cdr.decoding import Decoder
from rerun_bridge.live.queues import TopicQueues
from rerun_bridge.live.stats import LiveStats
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import LOG_TIME
from rerun_bridge.pipeline import Outcome, Pipeline

log = logging.getLogger(__name__)


class LiveMessage(NamedTuple):
    """One received message, as queued by a DDS callback."""

    data: bytes
    #: The bridge clock's time at reception (sim time under use_sim_time): the ``log_time`` timeline.
    log_time_ns: int
    #: Monotonic reception time, for the receive -> stored latency.
    received_monotonic_ns: int
    publish_time_ns: int


@dataclass(slots=True)
class LiveTopic:
    type_name: str
    decoder: Decoder | None


@dataclass(slots=True)
class ConversionWorker:
    queues: TopicQueues[LiveMessage]
    pipeline: Pipeline
    stats: LiveStats
    flush_seconds: float = 1.0
    clock: Callable[[], int] = time.monotonic_ns
    #: The clock messages' log_time comes from (None: held rows such as marker lifetimes wait for their
    #: topic's next message or shutdown).
    log_clock: Callable[[], int] | None = None
    topics: dict[str, LiveTopic] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _topics_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Called whenever the worker has converted everything queued (the network sinks send what waits).
    on_idle: Callable[[], None] | None = None
    _last_flush_ns: int = 0
    _extra_rows: list[tuple[list[Row], int]] = field(default_factory=list)

    def add_topic(self, topic: str, live: LiveTopic) -> None:
        with self._topics_lock:
            self.topics[topic] = live

    def submit_rows(self, rows: list[Row], log_time_ns: int) -> None:
        """Rows made on another thread (diagnostics): written by this thread, like everything else."""
        with self._topics_lock:
            self._extra_rows.append((rows, log_time_ns))

    def _write_submitted(self) -> None:
        with self._topics_lock:
            pending, self._extra_rows = self._extra_rows, []
        for rows, log_time_ns in pending:
            for sink in self.pipeline.sinks:
                sink.write(rows, {LOG_TIME: log_time_ns})

    def start(self) -> None:
        self._last_flush_ns = time.monotonic_ns()
        self._thread = threading.Thread(target=self._run, name="rerun_bridge-convert", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self.queues.get(timeout=0.05)
            if item is not None:
                started = time.monotonic_ns()
                self.handle(*item)
                self.queues.charge(item[0], time.monotonic_ns() - started)
            self._write_submitted()
            self.flush_if_due()
            if self.on_idle is not None and self.queues.pending() == 0:
                self.on_idle()

    def flush_if_due(self) -> None:
        """Flush when ``flush_seconds`` have passed, without waiting for the disk (the .rrd sink itself
        waits for its writer once its backlog bound is reached)."""
        now = time.monotonic_ns()
        if now - self._last_flush_ns >= self.flush_seconds * 1e9:
            self._last_flush_ns = now
            if self.log_clock is not None:  # marker lifetimes that ran out while their topic was quiet
                self.pipeline.expire(self.log_clock())
            self.flush(wait=False)

    def flush(self, wait: bool = True) -> None:
        for sink in self.pipeline.sinks:
            sink.flush(wait=wait)

    def handle(self, topic: str, message: LiveMessage) -> None:
        with self._topics_lock:
            live = self.topics.get(topic)
        if live is None:
            return
        outcome = self.pipeline.process_raw(topic, message.data, message.log_time_ns, live.decoder)
        if outcome is Outcome.FAILED:
            self.stats.record_error(topic)
        elif outcome is Outcome.CONVERTED:
            self.stats.record_stored(topic, time.monotonic_ns() - message.received_monotonic_ns)

    def wait(self, timeout: float) -> bool:
        """Wait for the thread to end (after :meth:`stop` returned False); whether it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def stop(self, drain: bool = True, deadline: float | None = None) -> bool:
        """Stop the thread; with ``drain`` convert what is still queued first (clean shutdown), until the
        monotonic ``deadline``: what is left then is dropped and counted (``dropped_shutdown``). False
        when the thread itself did not end by the deadline (stuck on a disk): the sinks are left to it."""
        self._stop.set()
        self.queues.close()
        if self._thread is not None:
            # The thread ends after its current message or flush (a flush waiting on a slow disk can take
            # seconds); draining beside a live thread would write the sinks from two threads.
            self._thread.join(None if deadline is None else max(deadline - time.monotonic(), 0.0))
            if self._thread.is_alive():
                self.queues.discard()
                return False
        while drain and (deadline is None or time.monotonic() < deadline):
            item = self.queues.take_nowait()
            if item is None:
                break
            self.handle(*item)
        self.queues.discard()
        self._write_submitted()
        self.pipeline.finish()
        self.flush(wait=False)  # closing the files waits for the disk
        return True
