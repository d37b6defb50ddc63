"""Opening a recording wherever it is: local ones as they are; an MCAP file in S3 streamed by ranged reads
(its summary, then only the chunks the conversion asks for); anything else in S3 (sqlite3 files, bag
folders) fetched to a temporary folder first, since SQLite needs a local file.

The readers name a recording by what they were given (a fetched copy's temporary path, a streamed
object's bucket and key); :meth:`StagedRecording.named` puts its ``s3://`` URI back in their messages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rerun_bridge.fleet.discovery import Recording
from rerun_bridge.fleet.storage import fetch, location_of, open_ranged
from rerun_bridge.scratch import FETCH_PREFIX, scratch_folder
from rerun_bridge.sources.bag import Bag, open_bag
from rerun_bridge.sources.storage import McapStorage

Opener = Callable[[str | Path], Bag]


@dataclass(frozen=True, slots=True)
class StagedRecording:
    """What ``convert_bags`` is given for a recording: a path or URI and the function that opens it;
    ``aliases``: the names its readers know it by (local path, bucket and key) and the URIs they stand
    for."""

    path: str
    open: Opener
    aliases: tuple[tuple[str, str], ...] = ()

    def named(self, text: str) -> str:
        """``text`` (an error, a warning) with the recording named by its URIs instead of its aliases."""
        if not self.aliases:
            return text
        uris = dict(self.aliases)
        # Longest first: a file's own path before its folder's. Not after a '/': the bucket and key
        # inside an s3:// URI already there stay as they are.
        names = sorted(uris, key=len, reverse=True)
        pattern = re.compile("(?<!/)(?:" + "|".join(re.escape(name) for name in names) + ")")
        return pattern.sub(lambda match: uris[match.group(0)], text)


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
        aliases = ((recording.location.path, recording.uri),)
        yield StagedRecording(recording.uri, open_streamed_mcap, aliases)
        return
    with scratch_folder(FETCH_PREFIX) as scratch:
        root = scratch / recording.name
        root.mkdir()
        copies = []
        for name, _size in recording.files:
            copy = root / PurePosixPath(name).name
            fetch(recording.file_location(name), copy)
            copies.append((str(copy), recording.file_location(name).uri))
        if recording.is_folder:
            yield StagedRecording(str(root), open_bag, (*copies, (str(root), recording.uri)))
        else:
            yield StagedRecording(str(root / recording.files[0][0]), open_bag, tuple(copies))
