"""The MCAP sink: a raw, lossless re-recording of the selected topics.

Messages are written as the CDR bytes they arrived in, with their ``ros2msg`` schemas and rosbag2's QoS
metadata, so Foxglove, ``ros2 bag play``, Rerun, the mcap library and rosbags all read the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from rerun_bridge import __version__
from rerun_bridge.errors import RecordingError
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.sinks.mcap_writer import LeanMcapWriter


class McapSink:
    """Writes serialized messages to one .mcap file. A context manager; :meth:`close` writes the summary."""

    def __init__(self, path: str | Path, compression: str = "zstd", chunk_size: int = 4 << 20) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: BinaryIO = self.path.open("wb")
        except OSError as err:
            raise RecordingError(f"{self.path}: cannot write: {err}") from err
        if compression not in ("zstd", "lz4", "none"):
            self._file.close()
            raise RecordingError(f"{self.path}: unknown MCAP compression '{compression}' (zstd, lz4, none)")
        chunk_compression = "" if compression == "none" else compression
        self._writer = LeanMcapWriter(self._file, compression=chunk_compression, chunk_size=chunk_size)
        self._writer.start(profile="ros2", library=f"rerun_bridge {__version__}")
        # Keyed by name and text: bags of two ROS distros may define one type differently.
        self._schemas: dict[tuple[str, str], int] = {}
        self._channels: dict[tuple[str, int], int] = {}
        self._sequence: dict[int, int] = {}
        self.messages_written = 0
        self._closed = False

    def add_topic(
        self, topic: str, type_name: str, definition: MessageDefinition, qos_profiles: str = ""
    ) -> int:
        """Register a topic (idempotent) and return its channel id: one channel per topic and schema."""
        schema_key = (type_name, definition.text)
        schema_id = self._schemas.get(schema_key)
        if schema_id is None:
            schema_id = self._writer.register_schema(
                name=type_name, encoding=definition.encoding, data=definition.text.encode()
            )
            self._schemas[schema_key] = schema_id
        key = (topic, schema_id)
        if key in self._channels:
            return self._channels[key]
        channel_id = self._writer.register_channel(
            topic=topic,
            message_encoding="cdr",
            schema_id=schema_id,
            metadata={"offered_qos_profiles": qos_profiles} if qos_profiles else {},
        )
        self._channels[key] = channel_id
        return channel_id

    def write(
        self, channel_id: int, log_time_ns: int, publish_time_ns: int, data: bytes | memoryview
    ) -> None:
        sequence = self._sequence.get(channel_id, 0)
        self._sequence[channel_id] = sequence + 1
        self._writer.add_message(
            channel_id=channel_id,
            log_time=log_time_ns,
            data=bytes(data),
            publish_time=publish_time_ns,
            sequence=sequence,
        )
        self.messages_written += 1

    def flush(self) -> None:
        """Close the open chunk and push it to the OS: after a hard kill the file is readable up to here
        (by our reader's no-summary path and the mcap library's non-seeking reader)."""
        if self._closed:
            return
        self._writer.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.finish()
        self._file.close()

    def __enter__(self) -> McapSink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
