"""Messages of whole topics handed from the part that read them to the part that converts them.

In a split conversion every part reads only its own time range of the bag, so every chunk is read and
decompressed once. The topics that must be converted whole (TF, odometry, markers: state that carries
over) are converted by part 0; the other parts append the raw messages of those topics that they read to
a forward file, which part 0 reads after its own range, part after part, while it is still being written
(it waits for more at the end of the file until the writer's end record). The format is private to one
conversion: per message a header (topic number, log time, publish time, data length) and the data.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Final

from rerun_bridge.model.records import RawMessage

_HEADER: Final = struct.Struct("<IqqQ")
_END: Final = 0xFFFFFFFF
#: Bytes buffered by the writer before they reach the file (and the reader).
_WRITE_BUFFER: Final = 1 << 20
#: How long the reader sleeps when it has caught up with the writer.
_POLL_S: Final = 0.005


class PartEndedError(Exception):
    """The writer of a forward file ended without its end record (it failed; its own error says why)."""

    def __init__(self, number: int) -> None:
        super().__init__(f"part {number} ended before handing over its messages")
        self.number = number


class ForwardWriter:
    """Appends raw messages of ``topics`` to a forward file; :meth:`close` writes the end record."""

    def __init__(self, path: Path, topics: Sequence[str]) -> None:
        self._numbers = {topic: number for number, topic in enumerate(topics)}
        self._file: BinaryIO = path.open("wb", buffering=_WRITE_BUFFER)

    def write(self, raw: RawMessage) -> None:
        data = raw.data
        self._file.write(
            _HEADER.pack(self._numbers[raw.topic], raw.log_time_ns, raw.publish_time_ns, len(data))
        )
        self._file.write(data)

    def close(self) -> None:
        if not self._file.closed:
            self._file.write(_HEADER.pack(_END, 0, 0, 0))
            self._file.close()


class _Tail:
    """Reads a file that is still being written: a short read waits for more while the writer runs."""

    def __init__(self, stream: BinaryIO, running: Callable[[], bool], number: int) -> None:
        self._stream = stream
        self._running = running
        self._number = number

    def read(self, size: int) -> bytes:
        data = self._stream.read(size)
        while len(data) < size:
            if not self._running():
                more = self._stream.read(size - len(data))  # what it wrote before it ended
                if len(data) + len(more) < size:
                    raise PartEndedError(self._number)
                return data + more
            time.sleep(_POLL_S)
            data += self._stream.read(size - len(data))
        return data


def read_forwarded(
    path: Path, topics: Sequence[str], type_names: dict[str, str], running: Callable[[], bool], number: int
) -> Iterator[RawMessage]:
    """The messages of a forward file, in the order written; waits for the writer (``running``: whether
    it still runs) and raises :class:`PartEndedError` when it ended without the end record."""
    while not path.exists():
        if not running() and not path.exists():
            raise PartEndedError(number)
        time.sleep(_POLL_S)
    with path.open("rb", buffering=0) as stream:
        tail = _Tail(stream, running, number)
        while True:
            topic_number, log_time, publish_time, length = _HEADER.unpack(tail.read(_HEADER.size))
            if topic_number == _END:
                return
            topic = topics[topic_number]
            yield RawMessage(topic, type_names[topic], log_time, tail.read(length), publish_time)
