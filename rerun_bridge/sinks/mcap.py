"""The MCAP sink: a raw, lossless re-recording of the selected topics.

Messages are written as the CDR bytes they arrived in, with their ``ros2msg`` schemas and rosbag2's QoS
metadata, so Foxglove, ``ros2 bag play``, Rerun, the mcap library and rosbags all read the result.

With a :class:`DiskSpaceGuard`, each message takes its bytes from the guard first; at the reserve the sink
stops (:class:`DiskFullError`) and :meth:`close` writes the summary from the reserve. If the disk fills
anyway (an OSError from the file), the sink stops too, and the file ends after its last complete chunk
plus whatever part of the failed write reached the disk (``rerun-bridge repair`` cuts that off).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from rerun_bridge import __version__
from rerun_bridge.errors import RecordingError
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.sinks.disk_space import DiskFullError, DiskSpaceGuard, disk_full_error
from rerun_bridge.sinks.mcap_writer import LeanMcapWriter


class McapSink:
    """Writes serialized messages to one .mcap file. A context manager; :meth:`close` writes the summary."""

    #: Bytes of a message record besides its data (opcode, length, channel, sequence, two times) and its
    #: message index entry: what the guard is asked for on top of the data.
    RECORD_OVERHEAD = 1 + 8 + 2 + 4 + 8 + 8 + 16

    def __init__(
        self,
        path: str | Path,
        compression: str = "zstd",
        chunk_size: int = 4 << 20,
        guard: DiskSpaceGuard | None = None,
    ) -> None:
        self.path = Path(path)
        self._guard = guard
        #: Why the sink stopped writing (reserve reached, or the disk filled); None: writing.
        self.stopped: DiskFullError | None = None
        #: The file failed with an OSError: no summary can follow.
        self.failed = False
        self.dropped = 0
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
        # The open chunk is in memory: taken from the guard, not yet on disk, so counted as pending.
        self._untrack = (
            guard.track_pending(self.path, lambda: self._writer.open_chunk_bytes) if guard else None
        )

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
            # Always there, empty when unknown: the MCAP ros2 profile requires the key.
            metadata={"offered_qos_profiles": qos_profiles},
        )
        self._channels[key] = channel_id
        return channel_id

    def write(
        self, channel_id: int, log_time_ns: int, publish_time_ns: int, data: bytes | memoryview
    ) -> None:
        """Add one message; :class:`DiskFullError` when the disk reached the reserve (or filled)."""
        if self.stopped is not None:
            self.dropped += 1
            return
        if self._guard is not None and not self._guard.take(self.path, len(data) + self.RECORD_OVERHEAD):
            self.dropped += 1
            raise self._stop(disk_full_error(self.path, self._guard.reserve_bytes))
        sequence = self._sequence.get(channel_id, 0)
        self._sequence[channel_id] = sequence + 1
        with self._failing_io():
            self._writer.add_message(
                channel_id=channel_id,
                log_time=log_time_ns,
                data=bytes(data),
                publish_time=publish_time_ns,
                sequence=sequence,
            )
        self.messages_written += 1

    def _stop(self, error: DiskFullError) -> DiskFullError:
        if self.stopped is None:
            self.stopped = error
        return self.stopped

    def _fail(self, err: OSError) -> DiskFullError:
        """The file failed: no summary can follow. This supersedes a stop at the reserve, whose file was
        to be closed complete (its summary did not fit after all: a reserve of 0)."""
        if not self.failed:
            self.failed = True
            self.stopped = DiskFullError(
                f"{self.path}: write failed ({err.strerror or err}); the file is readable up to its last "
                "complete chunk (`rerun-bridge repair` rewrites it with a summary)",
                complete=False,
            )
        assert self.stopped is not None
        return self.stopped

    @contextmanager
    def _failing_io(self) -> Iterator[None]:
        """An OSError from the file (ENOSPC, EIO) stops the sink with one error naming the file."""
        try:
            yield
        except OSError as err:
            self.dropped += 1
            raise self._fail(err) from err

    def flush(self) -> None:
        """Close the open chunk and push it to the OS: after a hard kill the file is readable up to here
        (by our reader's no-summary path and the mcap library's non-seeking reader)."""
        if self._closed or self.failed:
            return
        with self._failing_io():
            self._writer.flush()

    def close(self) -> None:
        """Write the summary (from the reserve, after a stop) and close; a failed file is only closed.
        A summary that does not reach the disk is a :class:`DiskFullError` saying so (never a file said
        to be complete that is not)."""
        if self._closed:
            return
        self._closed = True
        if self._untrack is not None:
            self._untrack()
        failed_before = self.failed
        try:
            if not self.failed:
                with self._failing_io():
                    self._writer.finish()
        finally:
            try:
                self._file.close()  # flushes what is buffered: the summary's last bytes
            except OSError as err:
                if not failed_before:  # a failure already reported is not reported again
                    raise self._fail(err) from err

    def __enter__(self) -> McapSink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
