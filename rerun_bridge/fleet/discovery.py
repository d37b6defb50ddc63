"""From command-line inputs to recordings: bag folders, single .mcap / .db3 files, folders and globs
holding many, ``s3://`` prefixes; and each recording's content hash.

A folder is one recording when it holds a ``metadata.yaml`` (a rosbag2 bag, split or not); any other
folder is searched, and each bag folder and each .mcap / .db3 file outside one is a recording of its own.
"""

from __future__ import annotations

import dataclasses
import glob
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rerun_bridge.fleet.storage import Location, StorageError, is_s3, location_of, storage_reason
from rerun_bridge.sources.bag import METADATA_FILE
from rerun_bridge.sources.storage import SUFFIX_TO_STORAGE

#: Bytes hashed per read when a recording's content hash is computed.
HASH_BLOCK_BYTES = 8 << 20
_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Recording:
    """One recording to convert or register: ``location`` is its folder or file; ``files`` its files
    (relative to a folder, or the file's own name) with their sizes."""

    location: Location
    name: str
    files: tuple[tuple[str, int], ...]
    is_folder: bool

    @property
    def uri(self) -> str:
        return self.location.uri

    @property
    def bytes(self) -> int:
        return sum(size for _name, size in self.files)

    def file_location(self, relative: str) -> Location:
        return self.location.join(relative) if self.is_folder else self.location


def _is_storage_file(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in SUFFIX_TO_STORAGE


def _recording_name(path: str, is_folder: bool) -> str:
    pure = PurePosixPath(path)
    return pure.name if is_folder else pure.stem


def _recordings_under(location: Location) -> list[Recording]:
    """Every recording at or below a location (see the module's rule)."""
    from pyarrow import fs

    info = location.info()
    if info.type == fs.FileType.NotFound:
        raise StorageError(f"{location.uri}: no such file, folder or prefix")
    if info.type == fs.FileType.File:
        if PurePosixPath(location.path).name == METADATA_FILE:
            parent = location.path.rsplit("/", 1)[0]
            return _recordings_under(_sibling(location, parent))
        if not _is_storage_file(location.path):
            raise StorageError(f"{location.uri}: not a recording (.mcap, .db3 or a bag folder)")
        return [
            Recording(location, _recording_name(location.path, False), ((location.name, info.size),), False)
        ]
    try:
        listing = location.filesystem.get_file_info(fs.FileSelector(location.path, recursive=True))
    except OSError as err:
        raise StorageError(f"{location.uri}: cannot list: {storage_reason(err)}") from err
    files = {entry.path: int(entry.size or 0) for entry in listing if entry.type == fs.FileType.File}
    bag_folders = sorted({path.rsplit("/", 1)[0] for path in files if path.endswith(f"/{METADATA_FILE}")})
    recordings = []
    for folder in bag_folders:
        inside = {p[len(folder) + 1 :]: size for p, size in files.items() if p.startswith(f"{folder}/")}
        # A bag's files sit in its folder; anything in subfolders is not part of it.
        own = tuple(sorted((name, size) for name, size in inside.items() if "/" not in name))
        recordings.append(Recording(_sibling(location, folder), _recording_name(folder, True), own, True))
    for path, size in sorted(files.items()):
        if _is_storage_file(path) and not any(path.startswith(f"{folder}/") for folder in bag_folders):
            file_location = _sibling(location, path)
            recordings.append(
                Recording(file_location, _recording_name(path, False), ((file_location.name, size),), False)
            )
    return recordings


def _write_ahead_log(recording: Recording) -> list[tuple[str, int, Location]]:
    """A lone .db3's ``-wal`` file beside it (its name, size and place), which SQLite reads with it: a
    .db3 converted before its log arrived was skipped as already converted once it had."""
    from pyarrow import fs

    if recording.is_folder or not recording.location.path.lower().endswith(".db3"):
        return []
    wal = _sibling(recording.location, recording.location.path + "-wal")
    info = wal.info()
    return [(wal.name, int(info.size or 0), wal)] if info.type == fs.FileType.File else []


def _lone_suffix(name: str) -> str:
    """``run.db3`` -> ``.db3``, ``run.db3-wal`` -> ``.db3-wal``: what of a lone file's name its content
    hash keeps."""
    lowered = name.lower()
    return next((suffix for suffix in (".db3-wal", *SUFFIX_TO_STORAGE) if lowered.endswith(suffix)), "")


def _sibling(location: Location, path: str) -> Location:
    """Another path on the same filesystem as ``location``."""
    prefix = location.uri[: len(location.uri) - len(location.path)]
    return Location(location.filesystem, path, f"{prefix}{path}")


def find_recordings(inputs: Sequence[str], unique: bool = True) -> tuple[list[Recording], list[str]]:
    """The recordings the inputs name, each once, in input order, with unique names (``unique`` False:
    their own, for :func:`unique_names` once some are left out); and a problem per input that names
    none."""
    found: dict[str, Recording] = {}
    problems: list[str] = []
    for text in inputs:
        try:
            for recording in _recordings_of(text):
                found.setdefault(recording.uri, recording)
        except (StorageError, OSError) as err:
            problems.append(str(err))
    return unique_names(found.values()) if unique else list(found.values()), problems


def _recordings_of(text: str) -> list[Recording]:
    if is_s3(text) or not _GLOB_CHARACTERS & set(text):
        recordings = _recordings_under(location_of(text))
    else:
        matches = sorted(glob.glob(text, recursive=True))
        if not matches:
            raise StorageError(f"{text}: matches nothing")
        # A pattern's other files (a bag's metadata.yaml beside it, a .db3's -wal and -shm) are not
        # recordings: they are passed over, where a file named on its own that is none is an error.
        recordings = [
            r
            for match in matches
            if Path(match).is_dir() or _is_storage_file(match) or Path(match).name == METADATA_FILE
            for r in _recordings_under(location_of(match))
        ]
    if not recordings:
        raise StorageError(f"{text}: holds no recording (.mcap, .db3 or a bag folder)")
    return recordings


def unique_names(recordings: Iterable[Recording]) -> list[Recording]:
    """Names that can share an output folder: a repeated name gets its parent folder's name in front (and
    a file its storage suffix: ``bags_run_db3``), then a number if it still repeats."""
    listed = list(recordings)
    counts: dict[str, int] = {}
    for recording in listed:
        counts[recording.name] = counts.get(recording.name, 0) + 1
    used: set[str] = set()
    out = []
    for recording in listed:
        name = recording.name
        if counts[name] > 1:
            pure = PurePosixPath(recording.location.path)
            own = pure.name if recording.is_folder else pure.name.replace(".", "_")
            name = f"{pure.parent.name}_{own}"
        candidate, number = name, 2
        while candidate in used:
            candidate, number = f"{name}_{number}", number + 1
        used.add(candidate)
        out.append(dataclasses.replace(recording, name=candidate))
    return out


def content_hash(recording: Recording) -> str:
    """xxh3-128 over the recording's files (name, size and every byte, in name order): the same content
    under another name or path hashes the same; any changed byte changes it. A folder's files are named
    (its metadata.yaml lists them by name); a lone file only by its suffix, the name being the only thing
    a rename changes (a renamed .mcap was converted again: found by an audit)."""
    import xxhash

    digest = xxhash.xxh3_128()
    files = [
        (PurePosixPath(name).name, size, recording.file_location(name)) for name, size in recording.files
    ]
    files += _write_ahead_log(recording)
    for name, size, location in files:
        hashed = name if recording.is_folder else _lone_suffix(name)
        digest.update(f"{hashed}\0{size}\0".encode())
        try:
            with location.filesystem.open_input_stream(location.path) as stream:
                while block := stream.read(HASH_BLOCK_BYTES):
                    digest.update(block)
        except OSError as err:
            raise StorageError(f"{location.uri}: cannot read: {storage_reason(err)}") from err
    return str(digest.hexdigest())
