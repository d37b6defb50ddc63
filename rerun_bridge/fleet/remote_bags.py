"""Opening a recording wherever it is: local ones as they are; an MCAP file in S3 streamed by ranged reads
(its summary, then only the chunks the conversion asks for); anything else in S3 (sqlite3 files, bag
folders) fetched to a temporary folder first, since SQLite needs a local file."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rerun_bridge.fleet.discovery import Recording
from rerun_bridge.fleet.storage import fetch, location_of, open_ranged
from rerun_bridge.sources.bag import Bag, open_bag
from rerun_bridge.sources.storage import McapStorage

Opener = Callable[[str | Path], Bag]


@dataclass(frozen=True, slots=True)
class StagedRecording:
    """What ``convert_bags`` is given for a recording: a path or URI and the function that opens it."""

    path: str
    open: Opener


def open_streamed_mcap(uri: str | Path) -> Bag:
    """An MCAP file in object storage, read by ranges; warnings name it by bucket and key."""
    location = location_of(str(uri))
    name = Path(location.path)
    return Bag(name, [McapStorage(name, open_ranged(location))])


@contextmanager
def staged(recording: Recording) -> Iterator[StagedRecording]:
    """The recording ready to open for as long as the context lasts (a fetched copy is removed after)."""
    if not recording.location.remote:
        yield StagedRecording(recording.uri, open_bag)
        return
    if not recording.is_folder and PurePosixPath(recording.location.path).suffix.lower() == ".mcap":
        yield StagedRecording(recording.uri, open_streamed_mcap)
        return
    with tempfile.TemporaryDirectory(prefix="rerun_bridge_fetch_") as scratch:
        root = Path(scratch) / recording.name
        root.mkdir()
        for name, _size in recording.files:
            fetch(recording.file_location(name), root / PurePosixPath(name).name)
        yield StagedRecording(str(root if recording.is_folder else root / recording.files[0][0]), open_bag)
