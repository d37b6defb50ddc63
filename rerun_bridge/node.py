"""The live ROS 2 node: subscribes to topics and TF, feeds the shared pipeline, writes .rrd and .mcap.

rclpy is imported here and nowhere else (besides the launch files). DDS callbacks only enqueue the
serialized bytes (``raw=True`` subscriptions); a worker thread decodes, converts and writes. With the
viewer on, the worker also appends to an in-process chunk store that the viewer window (Qt, on the main
thread) reads while rclpy spins on a background thread.
``rerun-bridge run`` and the launch files start :func:`main`.
"""

from __future__ import annotations

import argparse
import difflib
import faulthandler
import gc
import importlib
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rclpy
from rclpy.experimental.events_executor import EventsExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions

from rerun_bridge.cdr.decoding import Decoder, TypeResolver
from rerun_bridge.config import (
    BridgeConfig,
    Durability,
    History,
    Profile,
    Reliability,
    UploadSinkConfig,
    apply_overrides,
    load_config,
)
from rerun_bridge.custom_types import custom_type_problems, type_support
from rerun_bridge.errors import BridgeError
from rerun_bridge.fleet.uploads import UPLOAD_LEDGER, PartUploader
from rerun_bridge.live.diagnostics import diagnostics_rows, format_summary
from rerun_bridge.live.mcap_recorder import McapRecorder
from rerun_bridge.live.queues import TopicQueues
from rerun_bridge.live.stats import LiveStats, TopicReport
from rerun_bridge.live.worker import ConversionWorker, LiveMessage, LiveTopic
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.model.rows import Row
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.parameters import PARAMETERS, ParameterValue, typed_value
from rerun_bridge.pipeline import Pipeline, RowSink, TypeSupport
from rerun_bridge.robot.settings import robot_model_setup
from rerun_bridge.sinks.disk_space import DiskSpaceGuard
from rerun_bridge.sinks.rerun_viewer import RerunViewerSink, ViewerSinkSettings
from rerun_bridge.sinks.rotation import (
    OutputState,
    RotatingMcapSink,
    RotatingRrdSink,
    RotationPolicy,
    part_path,
)
from rerun_bridge.sinks.rrd import ClosingBlueprint, stalled_writers
from rerun_bridge.sinks.store import LIVE_BATCH_ROWS, StoreSink, live_store
from rerun_bridge.sinks.stream import IDLE_FLUSH_S, HistoryBounds, StreamSecurity, StreamSink
from rerun_bridge.sinks.summary import SummarySink
from rerun_bridge.sources.ros_qos import OfferedQos, RequestedQos, adapt_qos, override_qos, stream_depth
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.display import viewer_unavailable_reason

NODE_NAME = "rerun_bridge"
#: Data handed to Rerun's writer before the .rrd sink waits for it (about 3 s of the reference load).
RRD_BACKLOG_BYTES = 512 << 20
TF_TOPICS = frozenset({"/tf", "/tf_static"})
#: The share of shutdown_timeout_s spent converting what is still queued; the rest closes the files.
DRAIN_SHARE = 0.5
#: How long a stop waits for the spin thread to leave its loop.
SPIN_STOP_S = 1.0
#: Beyond shutdown_timeout_s, the time a stop may take before the process is ended regardless.
SHUTDOWN_GRACE_S = 5.0


def _message_class(type_name: str) -> Any:
    """The rclpy message class of ``pkg/msg/Type`` (raw subscriptions still need its type support)."""
    package, _, name = normalize_type_name(type_name).partition("/msg/")
    module = importlib.import_module(f"{package}.msg")
    return getattr(module, name)


def _to_profile(qos: RequestedQos) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_ALL if qos.keep_all else HistoryPolicy.KEEP_LAST,
        depth=qos.depth,
        reliability=ReliabilityPolicy.RELIABLE if qos.reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if qos.transient_local else DurabilityPolicy.VOLATILE,
    )


class BridgeNode:
    """Owns the rclpy node, the subscriptions, the worker and the sinks."""

    def __init__(self, config: BridgeConfig, node: Node, types: TypeSupport | None = None) -> None:
        self.config = config
        self.node = node
        self.log = node.get_logger()
        self.queues: TopicQueues[LiveMessage] = TopicQueues()
        self.stats = LiveStats()
        self._warned: set[str] = set()
        #: Diagnostics entities whose static series names are written (once per topic).
        self._diagnostics_named: set[str] = set()
        #: Outputs a shutdown could not close in time (the process exits without waiting for them).
        self.unfinished: list[str] = []
        self._subscriptions: dict[str, Any] = {}
        # Declarative mappings and --msg-path definitions, as `rerun-bridge convert --config` uses them.
        # (main checks them before ROS starts, naming the config file in their errors.)
        self.types = types if types is not None else type_support(config.custom_types)
        for problem in self.types.problems:
            self.log.warning(problem)
        self._resolver = TypeResolver(
            [], "kilted", supplied=self.types.definitions, rejected=self.types.rejected
        )
        sinks = config.sinks
        recording_id = str(uuid.uuid4())
        started_at = (
            time.time()
        )  # one time for both files' names: recording_%Y%m%d_%H%M%S.rrd and .mcap match
        # One guard for both files: outputs on one file system share its free space.
        self.disk_guard = DiskSpaceGuard(int(sinks.min_free_mb * 1e6))
        self.rrd: RotatingRrdSink | None = None
        self.mcap: McapRecorder | None = None
        self.stream: StreamSink | None = None
        self._open_outputs(recording_id, started_at)
        self.uploader = self._part_uploader(sinks.upload)
        self.rerun_viewer = self._rerun_viewer_sink(recording_id)
        # Network sinks come first: rows reach the laptop before the .rrd's write or flush can hold the
        # worker up on the disk (their writes never wait; the file's may).
        row_sinks: list[RowSink] = []
        self.summary = self._split(row_sinks)
        if self.rrd is not None:
            row_sinks.append(self.rrd)
        self.viewer_store = self._viewer_store(sinks.viewer.enabled)
        self.store_sink: StoreSink | None = None
        if self.viewer_store is not None:
            self.store_sink = StoreSink(self.viewer_store, batch_rows=LIVE_BATCH_ROWS)
            row_sinks.append(self.store_sink)
        self.pipeline = Pipeline(
            row_sinks,
            warn=self._warn_once,
            row_filter=self._tf_frames_allowed,
            converters=self.types.converters,
            leaf_scalars=self.types.leaf_scalars,
        )
        self.pipeline.use_robot_model(*robot_model_setup(config.robot_model))
        if not row_sinks and self.mcap is None:
            # ros2 launch drops an argument it does not know (rdd_path:=run.rrd) without a word.
            self.log.warning(
                "nothing is written, served or shown: no .rrd, .mcap, stream, viewer or Rerun viewer is "
                "configured (rerun-bridge run: --rrd, --mcap, --serve, --connect, or the config's "
                "sinks.<sink>.path / enabled; ros2 launch: rrd_path, mcap_path, serve, viewer, connect, "
                "where a misspelt argument is ignored without a word)"
            )
        self.worker = ConversionWorker(
            self.queues,
            self.pipeline,
            self.stats,
            flush_seconds=sinks.rrd.flush_seconds,
            log_clock=time.time_ns if not config.use_sim_time else self.now_ns,
            on_idle=self._send_waiting_rows,
        )
        self.worker.start()
        # Topics this node publishes itself: never bridged back (its diagnostics are logged directly).
        self._own_topics: set[str] = set()
        self._discover()
        self._discovery_timer = node.create_timer(config.discovery_period_s, self._discover)
        self._diagnostics_publisher = None
        if config.diagnostics.enabled:
            from diagnostic_msgs.msg import DiagnosticArray

            self._diagnostics_publisher = node.create_publisher(DiagnosticArray, "~/diagnostics", 10)
            self._own_topics.add(self._diagnostics_publisher.topic_name)
            self._diagnostics_timer = node.create_timer(
                config.diagnostics.period_s, self._publish_diagnostics
            )

    def _send_waiting_rows(self) -> None:
        """On the worker, with nothing left to convert: rows batched for the network go now (a laptop
        waits for the robot's queue, not for the sinks' flush timers)."""
        if self.summary is not None:
            self.summary.flush_if_older(IDLE_FLUSH_S)
        if self.store_sink is not None:
            self.store_sink.flush_if_older(IDLE_FLUSH_S)
        for sink in (self.stream, self.rerun_viewer):
            if sink is not None:
                sink.flush_if_older(IDLE_FLUSH_S)

    def _open_outputs(self, recording_id: str, started_at: float) -> None:
        """The .rrd, the .mcap and the network stream the config asks for. When one cannot be opened (a
        folder that cannot be written, a port in use), those already open are closed and their files
        removed before the error goes on: they hold nothing, and were left as empty recordings."""
        sinks = self.config.sinks
        try:
            self.rrd = (
                RotatingRrdSink(
                    sinks.rrd.path,
                    RotationPolicy(int(sinks.rrd.rotate_size_mb * 1e6), sinks.rrd.rotate_seconds),
                    application_id=NODE_NAME,
                    recording_id=recording_id,
                    backlog_bytes=RRD_BACKLOG_BYTES,
                    started_at=started_at,
                    guard=self.disk_guard,
                    report=self._report_output,
                    closing_blueprint=self._rrd_layout(),
                )
                if sinks.rrd.path
                else None
            )
            self.mcap = (
                McapRecorder(
                    RotatingMcapSink(
                        sinks.mcap.path,
                        RotationPolicy(int(sinks.mcap.rotate_size_mb * 1e6), sinks.mcap.rotate_seconds),
                        compression=sinks.mcap.compression.value,
                        started_at=started_at,
                        guard=self.disk_guard,
                        report=self._report_output,
                    ),
                    flush_seconds=sinks.rrd.flush_seconds,
                    report=self._report_output,
                )
                if sinks.mcap.path
                else None
            )
            self.stream = (
                StreamSink(
                    sinks.stream.host,
                    sinks.stream.port,
                    StreamSecurity(sinks.stream.token, sinks.stream.tls_cert, sinks.stream.tls_key),
                    HistoryBounds(sinks.stream.history_s, int(sinks.stream.history_megabytes * 1e6)),
                )
                if sinks.stream.enabled
                else None
            )
            if self.stream is not None:
                self.log.info(f"streaming on {sinks.stream.host}:{self.stream.port} (rerun-bridge receive)")
        except BaseException:
            self._abandon_outputs()
            raise

    def _abandon_outputs(self) -> None:
        paths: list[Path] = []
        if self.mcap is not None:
            self.mcap.close(timeout=5.0)
            paths += self.mcap.sink.paths
        if self.rrd is not None:
            self.rrd.close()
            paths += self.rrd.paths
        for path in paths:
            path.unlink(missing_ok=True)

    def _split(self, row_sinks: list[RowSink]) -> SummarySink | None:
        """Network sinks join ``row_sinks`` whole, or behind one summary (split mode), by their profile."""
        sinks = self.config.sinks
        summarized: list[StreamSink | RerunViewerSink] = []
        network: list[tuple[StreamSink | RerunViewerSink | None, Profile]] = [
            (self.stream, sinks.stream.profile),
            (self.rerun_viewer, sinks.rerun_viewer.profile),
        ]
        for target, profile in network:
            if target is not None and profile is Profile.SUMMARY:
                summarized.append(target)
            elif target is not None:
                row_sinks.append(target)
        if not summarized:
            return None
        summary = sinks.summary
        summary_sink = SummarySink(summarized, summary)
        row_sinks.append(summary_sink)
        self.log.info(f"split mode: network sinks get the summary within {summary.budget_mbit_s:g} Mbit/s")
        return summary_sink

    def _rrd_layout(self) -> ClosingBlueprint:
        """Each .rrd part's layout as it closes: the configured scenario, else the default of its data. A
        scenario that cannot be read stops the node here, named; a layout that fails later is a warning
        and the file goes without one (its data is complete either way)."""
        from rerun_bridge.blueprint.file_layout import closing_layout, guarded
        from rerun_bridge.blueprint.library import resolve

        name = self.config.sinks.viewer.blueprint
        return guarded(closing_layout(resolve(name) if name else None), self.log.warning)

    def _rerun_viewer_sink(self, recording_id: str) -> RerunViewerSink | None:
        """The sink to a running Rerun viewer, with the scenario blueprint (the .rrd's recording id, so the
        viewer merges what it got live with the file opened later)."""
        settings = self.config.sinks.rerun_viewer
        if not settings.enabled:
            return None
        if self.config.sinks.viewer.blueprint:
            from rerun_bridge.blueprint.library import resolve

            resolve(self.config.sinks.viewer.blueprint)  # a blueprint that cannot be read stops here, named
        sink = RerunViewerSink(
            settings.url,
            ViewerSinkSettings(
                application_id=NODE_NAME,
                recording_id=recording_id,
                blueprint=self.config.sinks.viewer.blueprint or None,
                queue_bytes=int(settings.queue_megabytes * 1e6),
            ),
        )
        self.log.info(f"sending to the Rerun viewer at {settings.url} (whenever it listens)")
        return sink

    def _viewer_store(self, enabled: bool) -> ChunkStore | None:
        """The store the embedded viewer reads (the worker appends to it); None without a viewer."""
        if not enabled:
            return None
        reason = viewer_unavailable_reason()
        if reason is not None:
            self.log.warning(f"the embedded viewer cannot open: {reason}; recording without it")
            return None
        return live_store()

    def _tf_frames_allowed(self, row: Row) -> bool:
        """TF edges whose parent or child frame the config denies are left out."""
        if row.archetype != "Transform3D":
            return True
        frames = [*row.components.get("parent_frame", []), *row.components.get("child_frame", [])]
        return all(self.config.tf.frame_allowed(str(frame)) for frame in frames)

    def _report_output(self, level: int, message: str) -> None:
        """An output paused, failed, resumed or took another name: the log says it once, the diagnostics
        while it lasts."""
        if level >= logging.ERROR:
            self.log.error(message)
        elif level >= logging.WARNING:
            self.log.warning(message)
        else:
            self.log.info(message)

    def output_states(self) -> list[OutputState]:
        sinks = (self.rrd, self.mcap.sink if self.mcap else None)
        return [sink.state() for sink in sinks if sink is not None]

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.log.warning(message)

    def now_ns(self) -> int:
        return int(self.node.get_clock().now().nanoseconds)

    def _discover(self) -> None:
        for topic, types in self.node.get_topic_names_and_types():
            listed = self.config.topics.get(topic)
            declared = listed.type_name if listed is not None else None
            # The graph's types of the topic are its publishers' and subscribers' (ours included): only
            # another type than the declared one needs the publishers asked (this runs every second).
            if declared is not None and {normalize_type_name(name) for name in types} != {declared}:
                self._check_declared_type(topic, declared)
            if topic in self._subscriptions or topic in self._own_topics or not types:
                continue
            type_name = declared or normalize_type_name(types[0])
            convertible = self.types.converters.lookup(type_name) is not None
            if not self.config.topic_selected(topic, convertible):
                if not convertible and self.config.topic_selected(topic, True):  # skipped for its type alone
                    self._warn_once(
                        f"topic {topic}: no converter for {type_name}; not bridged "
                        "(raw_unknown_types: true records it as raw columns)"
                    )
                continue
            if topic in TF_TOPICS and not self.config.tf.enabled and topic not in self.config.topics:
                continue
            publishers = self.node.get_publishers_info_by_topic(topic)
            if not publishers:
                continue  # only subscribers so far: subscribe once someone publishes, to adapt the QoS
            self._subscribe(topic, type_name, publishers)
        # A topic the config lists with its type is subscribed before any publisher appears (best effort and
        # volatile unless its qos says otherwise), so that a publisher's first messages are not missed.
        for topic, topic_config in self.config.topics.items():
            if topic_config.type_name is None or topic in self._subscriptions or topic in self._own_topics:
                continue
            self._subscribe(topic, topic_config.type_name, [])

    def _check_declared_type(self, topic: str, declared: str) -> None:
        """Warn once when a topic's publishers publish another type than its config entry declares: DDS
        matches no publisher of another type, so nothing would arrive, silently."""
        published = {
            normalize_type_name(p.topic_type) for p in self.node.get_publishers_info_by_topic(topic)
        } - {declared}
        if published:
            self._warn_once(
                f"topic {topic}: the bridge config declares type {declared} (topics.{topic}.type), its "
                f"publishers publish {', '.join(sorted(published))}; nothing is received until the two agree"
            )

    def _subscribe(self, topic: str, type_name: str, publishers: Sequence[Any]) -> None:
        topic_config = self.config.topic_config(topic)
        try:
            message_class = _message_class(type_name)
        except (ImportError, AttributeError) as err:
            self._subscriptions[topic] = None
            self._warn_once(f"topic {topic}: type {type_name} is not installed here ({err}); not bridged")
            return
        offered = [
            OfferedQos(
                reliable=p.qos_profile.reliability == ReliabilityPolicy.RELIABLE,
                transient_local=p.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL,
                depth=int(p.qos_profile.depth),
            )
            for p in publishers
        ]
        qos = topic_config.qos
        protected = self.config.topic_protected(topic, type_name)
        requested = override_qos(
            adapt_qos(topic, offered, stream_depth(type_name, protected)),
            reliable=None if qos.reliability is None else qos.reliability is Reliability.RELIABLE,
            transient_local=None if qos.durability is None else qos.durability is Durability.TRANSIENT_LOCAL,
            depth=qos.depth,
            keep_all=None if qos.history is None else qos.history is History.KEEP_ALL,
        )
        decoder = self._decoder_for(type_name, message_class)
        _warm_up(decoder, message_class)
        entity_path = self.config.entity_path_for(topic, type_name)
        self.pipeline.add_topic(topic, type_name, entity_path, topic_config.options)
        if self.stream is not None and requested.transient_local:
            self.stream.latch(entity_path)
        channel = None
        if self.mcap is not None:
            definition = self._definition_for(type_name)
            if definition is None:
                self._warn_once(f"topic {topic}: no message definition for {type_name}; left out of the MCAP")
            else:
                channel = self.mcap.add_topic(
                    topic, type_name, definition, _qos_yaml(publishers), latched=requested.transient_local
                )
        self.worker.add_topic(topic, LiveTopic(type_name, decoder))
        self.stats.add_topic(topic, type_name)
        self.queues.add_topic(
            topic,
            depth=topic_config.queue_depth or self.config.queue_depth,
            priority=topic_config.priority,
            rate_limit_hz=topic_config.rate_limit_hz,
            max_bytes=int(self.config.queue_megabytes * 1e6),
            protected=protected,
        )
        self._subscriptions[topic] = self.node.create_subscription(
            message_class,
            topic,
            self._callback_for(topic, channel, protected),
            _to_profile(requested),
            raw=True,
            event_callbacks=self._events_for(topic, requested),
        )
        self.log.info(f"bridging {topic} ({type_name}) -> {entity_path} [{requested.describe()}]")
        # What exists now (modules, typestores, converters) lives as long as the node: moved out of the
        # collector's reach, full collections scan only what the streams allocate (40-70 ms pauses of the
        # worker otherwise, which showed up as latency spikes on every topic).
        gc.freeze()

    def _callback_for(self, topic: str, mcap_channel: int | None, protected: bool) -> Any:
        queues = self.queues
        clock = self.node.get_clock()
        recorder = self.mcap if mcap_channel is not None else None

        def ros_clock_ns() -> int:
            return int(clock.now().nanoseconds)

        # Without sim time the ROS clock is the system clock: reading it directly costs 0.2 us, not 5 us.
        clock_ns = ros_clock_ns if self.config.use_sim_time else time.time_ns

        def on_message(data: bytes, info: Any = None) -> None:
            # Only enqueue: DDS callbacks must never wait on conversion or disk.
            received = time.monotonic_ns()
            log_time = clock_ns()
            publish_time = int(info["source_timestamp"]) if isinstance(info, dict) else log_time
            accepted = queues.put(topic, LiveMessage(data, log_time, received, publish_time), len(data))
            if accepted and recorder is not None and mcap_channel is not None:
                recorder.put(mcap_channel, log_time, publish_time, data, protected)

        return on_message

    def _events_for(self, topic: str, requested: RequestedQos) -> Any:
        from rclpy.event_handler import SubscriptionEventCallbacks

        def incompatible(_event: Any) -> None:
            fix = (
                f"a publisher of {topic} offers a QoS the bridge's request ({requested.describe()}) cannot "
                f"match; set topics.{topic}.qos in the bridge config (e.g. reliability: best_effort, "
                "durability: volatile)"
            )
            self._warn_once(f"incompatible QoS on {topic}: {fix}")

        def lost(event: Any) -> None:
            # DDS knows of samples that never reached us (best effort gaps, fragments lost): count them.
            self.stats.record_lost(topic, int(event.total_count_change))

        if requested.reliable:
            # Not on reliable readers: there Fast DDS reports a lost sample from its heartbeat handling
            # while it holds the reader's lock and waits for the rmw event's, while rclpy takes the event
            # holding the event's lock, the GIL, and waits for the reader's: a deadlock that froze the
            # whole process (signals included) under overload.
            return SubscriptionEventCallbacks(incompatible_qos=incompatible)
        return SubscriptionEventCallbacks(incompatible_qos=incompatible, message_lost=lost)

    def _decoder_for(self, type_name: str, message_class: Any) -> Decoder:
        choice = self._resolver.choose(type_name)
        if choice.decoder is not None:
            return choice.decoder
        from rclpy.serialization import deserialize_message

        def decode(data: bytes | memoryview) -> Any:
            return deserialize_message(bytes(data), message_class)

        return decode

    def _definition_for(self, type_name: str) -> MessageDefinition | None:
        choice = self._resolver.choose(type_name)
        if choice.typestore is None:
            return None
        text, _digest = choice.typestore.generate_msgdef(normalize_type_name(type_name), ros_version=2)
        return MessageDefinition("ros2msg", text)

    def reports(self) -> list[TopicReport]:
        refused = self.mcap.refused() if self.mcap is not None else {}
        return self.stats.report(self.queues.counters(), time.monotonic_ns(), refused)

    def sink_counts(self) -> dict[str, dict[str, str]]:
        """The network sinks' numbers (what they sent, dropped, their connections), by sink."""
        counts: dict[str, dict[str, str]] = {}
        if self.stream is not None:
            counts["stream"] = self.stream.counts().as_key_values()
        if self.rerun_viewer is not None:
            counts["rerun_viewer"] = self.rerun_viewer.counts().as_key_values()
        if self.summary is not None:
            counts["summary"] = self.summary.counts.as_key_values()
        return counts

    def _publish_diagnostics(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

        reports = self.reports()
        array = DiagnosticArray()
        array.header.stamp = self.node.get_clock().now().to_msg()
        for report in reports:
            status = DiagnosticStatus()
            status.name = f"{NODE_NAME}: {report.topic}"
            status.hardware_id = NODE_NAME
            status.level = DiagnosticStatus.WARN if report.problem else DiagnosticStatus.OK
            status.message = (
                f"{report.rate_hz:.1f} Hz, {report.dropped} dropped, {report.lost_in_dds} lost in DDS, "
                f"{report.errors} errors"
            )
            status.values = [KeyValue(key=k, value=v) for k, v in report.as_key_values().items()]
            array.status.append(status)
        for name, values in self.sink_counts().items():
            status = DiagnosticStatus()
            status.name = f"{NODE_NAME}: sink {name}"
            status.hardware_id = NODE_NAME
            dropped = int(values["dropped_chunks"])
            status.level = DiagnosticStatus.WARN if dropped else DiagnosticStatus.OK
            status.message = f"{dropped} chunks dropped"
            status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
            array.status.append(status)
        for output in self.output_states():
            status = DiagnosticStatus()
            status.name = f"{NODE_NAME}: output {output.kind}"
            status.hardware_id = NODE_NAME
            status.level = DiagnosticStatus.ERROR if output.stopped else DiagnosticStatus.OK
            status.message = output.stopped or f"recording to {output.path}"
            status.values = [
                KeyValue(key="path", value=str(output.path)),
                KeyValue(key="parts", value=str(output.parts)),
                KeyValue(key="dropped_while_stopped", value=str(output.dropped)),
                KeyValue(key="min_free_mb", value=f"{self.disk_guard.reserve_bytes / 1e6:g}"),
            ]
            array.status.append(status)
        if self._diagnostics_publisher is not None:
            self._diagnostics_publisher.publish(array)
        self.worker.submit_rows(diagnostics_rows(reports, self._diagnostics_named), self.now_ns())

    def shutdown(self) -> list[TopicReport]:
        """Stop taking messages, convert what is queued, close both files; the final reports. Bounded by
        ``shutdown_timeout_s``: what could not be converted by then is dropped and counted, and a file
        that could not be closed in time is named in :attr:`unfinished` (the process must then exit
        without waiting for it)."""
        started = time.monotonic()
        deadline = started + self.config.shutdown_timeout_s
        for subscription in self._subscriptions.values():
            if subscription is not None:
                self.node.destroy_subscription(subscription)
        self._subscriptions.clear()
        # Converting what is queued gets part of the time; closing the files (Rerun's writer catching up,
        # the footer, the MCAP summary) the rest.
        drain_deadline = started + DRAIN_SHARE * self.config.shutdown_timeout_s
        worker_done = self.worker.stop(drain=True, deadline=drain_deadline)
        reports = self.reports()
        closers: list[tuple[str, Callable[[], object]]] = []
        if self.rrd is not None:
            rrd = self.rrd
            worker = self.worker

            def close_rrd() -> bool:
                # A worker still busy (a flush on a slow disk) owns the sink until it ends.
                if not (worker_done or worker.wait(_left(deadline))):
                    return False
                rrd.close()
                return True

            closers.append((str(rrd.current.path), close_rrd))
        if self.mcap is not None:
            mcap = self.mcap
            closers.append((str(mcap.sink.current.path), lambda: mcap.close(_left(deadline))))
        if self.stream is not None:
            closers.append(("the stream", self.stream.close))
        if self.rerun_viewer is not None:
            closers.append(("the Rerun viewer sink", self.rerun_viewer.close))
        if self.uploader is not None:
            closers.append(("the uploads", self.uploader.close))  # after the files: their last parts
        for name, close in closers:
            if not _finished_by(close, deadline):
                self.unfinished.append(name)
                self.log.error(
                    f"{name}: not closed within shutdown_timeout_s ({self.config.shutdown_timeout_s:g} s);"
                    " it is readable up to its last flush (`rerun-bridge repair` completes it)"
                )
        return reports

    def _part_uploader(self, upload: UploadSinkConfig) -> PartUploader | None:
        """``sinks.upload``: every closed part of the .rrd and .mcap sinks goes to the prefix."""
        if not upload.enabled:
            return None
        uploader = PartUploader(
            upload.prefix,
            upload.delete_local,
            upload.retry_seconds,
            self.log.warning,
            ledger=self._upload_ledger(),
        )
        if self.rrd is not None:
            self.rrd.on_part_closed = uploader.submit
        if self.mcap is not None:
            self.mcap.sink.on_part_closed = uploader.submit
        return uploader

    def _upload_ledger(self) -> Path | None:
        """Where the parts still to upload are listed: beside the first output, so that a node started
        again with the same outputs finds what its predecessor left."""
        output = self.rrd if self.rrd is not None else self.mcap.sink if self.mcap is not None else None
        if output is None:
            return None
        return part_path(output.template, 0, rotating=False).parent / UPLOAD_LEDGER


def _exit_by(seconds: float) -> None:
    """Whatever hangs (a DDS teardown, a writer on a dead disk), the process ends ``seconds`` from now: a
    watchdog thread outside Python (faulthandler) prints every thread's stack to stderr and exits 1."""
    faulthandler.dump_traceback_later(seconds, exit=True)


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def _finished_by(action: Callable[[], object], deadline: float) -> bool:
    """Run ``action`` on a thread of its own; False when it did not end (or returned False) in time."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception as err:  # reported here: one output's failure must not stop the others closing
            print(f"error: closing an output failed: {err!r}", file=sys.stderr)
            outcome.append(False)

    thread = threading.Thread(target=run, name="rerun_bridge-close", daemon=True)
    thread.start()
    thread.join(_left(deadline))
    return bool(outcome) and outcome[0] is not False


def _warm_up(decoder: Decoder, message_class: Any) -> None:
    """Decode a default message once, so that the first real one does not pay for generating the
    deserializer (tens of milliseconds: a latency spike on every topic's first messages)."""
    from rclpy.serialization import serialize_message

    try:
        decoder(serialize_message(message_class()))
    except Exception:  # a warm-up only; real messages report their own errors
        return


def _qos_yaml(publishers: Sequence[Any]) -> str:
    """rosbag2's ``offered_qos_profiles`` of a topic's publishers (the integer form of bag metadata v8, read
    by ``ros2 bag`` and rosbags): every key rosbag2 writes, the durations included, or rosbags (and
    rosbag2's own QoS decoder) cannot open the file."""
    lines = []
    for publisher in publishers:
        qos = publisher.qos_profile
        lines.append(
            f"- history: 1\n  depth: {int(qos.depth)}\n"
            f"  reliability: {1 if qos.reliability == ReliabilityPolicy.RELIABLE else 2}\n"
            f"  durability: {1 if qos.durability == DurabilityPolicy.TRANSIENT_LOCAL else 2}\n"
            f"{_qos_duration_yaml('deadline', qos.deadline)}"
            f"{_qos_duration_yaml('lifespan', qos.lifespan)}"
            f"  liveliness: {int(qos.liveliness)}\n"
            f"{_qos_duration_yaml('liveliness_lease_duration', qos.liveliness_lease_duration)}"
            f"  avoid_ros_namespace_conventions: {str(bool(qos.avoid_ros_namespace_conventions)).lower()}"
        )
    return "\n".join(lines)


def _qos_duration_yaml(key: str, duration: Any) -> str:
    # rclpy's Duration; rosbag2 writes {sec, nsec} (an infinite one as 9223372036 s 854775807 ns).
    sec, nsec = divmod(int(duration.nanoseconds), 1_000_000_000)
    return f"  {key}:\n    sec: {sec}\n    nsec: {nsec}\n"


def _seconds(text: str) -> float:
    """A number of seconds >= 0, for argparse (a negative --duration ran until stopped, silently)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0:  # also NaN
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rerun-bridge run",
        description="run the live ROS 2 bridge node",
        epilog="ROS arguments go last, after --ros-args: -p NAME:=VALUE sets a parameter "
        f"({', '.join(PARAMETERS)}; docs/ros.md), -r remaps, --params-file reads a parameters file.",
    )
    parser.add_argument("--config", type=Path, help="bridge config YAML")
    parser.add_argument("--rrd", help="write an .rrd here")
    parser.add_argument("--mcap", help="write a raw .mcap re-recording here")
    parser.add_argument(
        "--duration", type=_seconds, default=None, help="stop after this many seconds (0: until stopped)"
    )
    parser.add_argument(
        "--serve",
        metavar="HOST:PORT",
        help="serve the network stream there (loopback unless told otherwise; another host needs --token)",
    )
    parser.add_argument("--token", help="bearer token the stream's clients must give")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="split mode: network sinks get a summary under sinks.summary.budget_mbit_s (files stay full)",
    )
    parser.add_argument(
        "--connect",
        metavar="URL",
        help="also send to a running Rerun viewer: rerun+http://HOST:PORT/proxy (never waits for it)",
    )
    return parser


def _parameter(node: Node, name: str) -> Any:
    return node.get_parameter(name).value


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if "--ros-args" in argv:
        index = argv.index("--ros-args")
        argv, ros_args = argv[:index], argv[index:]
    args = build_parser().parse_args(argv)
    try:
        # A --config file is checked before ROS starts: a bad one joins no DDS domain and writes nothing.
        # (A config_file parameter can only be read from the node, so it is checked just after.)
        # The custom_types checks that need Rerun (archetypes, components, colormaps, msg folders) too,
        # reported with the file's other errors.
        source = str(args.config)
        from_file = (
            load_config(args.config, lambda loaded: custom_type_problems(loaded.custom_types, source))
            if args.config
            else None
        )
        types = type_support(from_file.custom_types, source=source) if from_file else None
    except BridgeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rclpy.init(args=["rerun_bridge", *ros_args], signal_handler_options=SignalHandlerOptions.NO)
    node = Node(NODE_NAME, automatically_declare_parameters_from_overrides=False)
    try:
        values = _declared_parameters(node)
        config = _config_of(args, values, from_file)
        if config.use_sim_time:
            node.set_parameters([Parameter("use_sim_time", Parameter.Type.BOOL, True)])
        duration = args.duration if args.duration is not None else float(values["duration"])
        if types is None:
            source = str(values["config_file"]) or "<config>"
            types = type_support(config.custom_types, source=source)
        bridge = BridgeNode(config, node, types)
        route_library_log(node)
    except BridgeError as err:
        print(f"error: {err}", file=sys.stderr)
        node.destroy_node()
        rclpy.try_shutdown()
        return 2
    print(format_summary(_run(bridge, node, duration)))
    for output in bridge.output_states():
        print(output_line(output))
    for name, counts in bridge.sink_counts().items():
        print(f"sink {name}: " + ", ".join(f"{key} {value}" for key, value in counts.items()))
    # Every file is closed (or named as unfinished): leave now. The interpreter's own exit runs Rerun's
    # atexit flush of every recording stream, which waits forever on a writer a full disk has stalled,
    # and gRPC's threads would wait for a stream client that stopped reading.
    sys.stdout.flush()
    sys.stderr.flush()
    unfinished_parts = any(output.unfinished for output in bridge.output_states())
    os._exit(1 if bridge.unfinished or unfinished_parts or stalled_writers() else 0)


class RosLogHandler(logging.Handler):
    """Python log records through a ROS logger: the node's format on the terminal, and /rosout."""

    def __init__(self, log: Any) -> None:
        super().__init__()
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: Python's own handlers skip it too
            self.handleError(record)
            return
        if record.levelno >= logging.ERROR:
            self._log.error(message)
        elif record.levelno >= logging.WARNING:
            self._log.warning(message)
        elif record.levelno >= logging.INFO:
            self._log.info(message)
        else:
            self._log.debug(message)


def route_library_log(node: Node) -> None:
    """The bridge's modules' own log lines (the stream server naming a client that stopped reading) go
    through the node's ROS logger, as its other lines do: they came out as plain stderr text and never
    reached /rosout (audit)."""
    library = logging.getLogger("rerun_bridge")
    library.addHandler(RosLogHandler(node.get_logger()))
    library.propagate = False  # not printed a second time by the command line's own handler


def output_line(output: OutputState) -> str:
    """A file output after the summary table: "stored" there counts what was handed to the outputs, and
    one paused at the disk reserve dropped part of it (said here, so the table does not overstate it);
    a part the disk filled under is named with what completes it (the table alone read as a success)."""
    parts = f"{output.parts} part" + ("s" if output.parts != 1 else "")
    line = f"output {output.kind}: {output.path} ({parts} written)"
    if output.dropped:
        what = "messages" if output.kind == "mcap" else "rows"
        why = "the disk was full" if output.unfinished else "the disk was at its reserve"
        line += f"; {output.dropped} {what} counted as stored above were not written: {why}"
    for part in output.unfinished:
        line += f"; {part} ends where the disk filled: `rerun-bridge repair {part}` completes it"
    return line


def _declared_parameters(node: Node) -> dict[str, ParameterValue]:
    """Every bridge parameter declared on the node, read and converted to its declared type."""
    from rcl_interfaces.msg import ParameterDescriptor

    # Declared with dynamic typing so that `-p duration:=4` or an XML `<param value="4"/>` (an integer
    # to YAML) reaches typed_value, which converts it or names the parameter, instead of rclpy's
    # InvalidParameterTypeException traceback; the converted values are set back, typed.
    values: dict[str, ParameterValue] = {}
    for name, (default, description) in PARAMETERS.items():
        descriptor = ParameterDescriptor(description=description, dynamic_typing=True)
        node.declare_parameter(name, default, descriptor)
        values[name] = typed_value(name, _parameter(node, name), default)
    node.set_parameters([Parameter(name, value=value) for name, value in values.items()])
    _refuse_unknown_parameters(node)
    return values


def _refuse_unknown_parameters(node: Node) -> None:
    """A parameter given to the node that it does not have (``-p bluprint:=navigation``) is an error naming
    it, as a bad config key is: rclpy drops such overrides without a word (found by an audit)."""
    given = getattr(node, "_parameter_overrides", {})  # rclpy keeps them there; no public accessor
    unknown = sorted(name for name in given if not node.has_parameter(name))
    if unknown:
        known = sorted(PARAMETERS)
        hints = [f"{name!r}{_did_you_mean(name, known)}" for name in unknown]
        raise BridgeError(f"unknown ROS parameter {', '.join(hints)} (the node's: {', '.join(known)})")


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _config_of(
    args: argparse.Namespace, values: dict[str, ParameterValue], from_file: BridgeConfig | None
) -> BridgeConfig:
    """The config file (``from_file``, the command line's, over the parameter's) with the command line's and
    parameters' overrides."""
    parameter_file = Path(str(values["config_file"])) if values["config_file"] else None
    if from_file is not None:
        config = from_file
    else:
        source = str(parameter_file)
        config = (
            load_config(parameter_file, lambda loaded: custom_type_problems(loaded.custom_types, source))
            if parameter_file
            else BridgeConfig.default()
        )
    overrides: dict[str, Any] = {}
    for key, value in (
        ("sinks.rrd.path", args.rrd or values["rrd_path"]),
        ("sinks.mcap.path", args.mcap or values["mcap_path"]),
        ("sinks.viewer.blueprint", values["blueprint"]),
        ("sinks.viewer.enabled", values["viewer"]),
        ("sinks.stream.bind", args.serve or values["serve"]),
        ("sinks.stream.token", args.token or values["token"]),
        ("sinks.rerun_viewer.url", args.connect or values["connect"]),
    ):
        if value:
            overrides[key] = value
    if "sinks.stream.bind" in overrides:
        overrides["sinks.stream.enabled"] = True
    if args.summary or values["summary"]:
        overrides["sinks.stream.profile"] = overrides["sinks.rerun_viewer.profile"] = "summary"
    return apply_overrides(config, overrides, source="command line / parameters")


def _run(bridge: BridgeNode, node: Node, duration: float) -> list[TopicReport]:
    """Spin until the duration ends, a signal comes or the viewer closes; then shut down cleanly."""
    stop = threading.Event()
    last_resort = bridge.config.shutdown_timeout_s + SHUTDOWN_GRACE_S

    def on_signal(*_: object) -> None:
        stop.set()
        _exit_by(last_resort)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    # The events executor takes messages in C++ and calls back without rebuilding a wait set per message:
    # at thousands of messages a second, the default executor spends most of a core just waiting.
    executor = EventsExecutor()
    executor.add_node(node)
    deadline = time.monotonic() + duration if duration and duration > 0 else None

    def spin() -> None:
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                executor.spin_once(timeout_sec=0.05)
        finally:
            stop.set()  # also closes the viewer

    # rclpy spins on a thread of its own, so that the main thread is always free to run the signal
    # handlers (a spin stuck in DDS under overload must not make SIGTERM wait) and, with a viewer, Qt.
    spinner = threading.Thread(target=spin, name="rerun_bridge-spin", daemon=True)
    spinner.start()
    try:
        if bridge.viewer_store is None:
            while not stop.wait(0.1):
                pass
        else:
            # Closing the window stops the bridge.
            from rerun_bridge.viewer.app import run_live_viewer

            run_live_viewer(
                bridge.viewer_store, bridge.config.sinks.viewer.blueprint, stop, tf=bridge.config.tf
            )
            stop.set()
    finally:
        _exit_by(last_resort)
        # The spin loop sees the stop within 50 ms; one stuck in DDS is not waited for (the watchdog is).
        spinner.join(SPIN_STOP_S)
        reports = bridge.shutdown()
        executor.remove_node(node)
        node.destroy_node()
        rclpy.try_shutdown()
    return reports


if __name__ == "__main__":
    sys.exit(main())
