"""A rosbag2 recording: a folder with metadata.yaml, or a single .mcap / .db3 file.

Split bags are read as one stream, merged in log-time order (ties keep file order). rosbag2's file and
message compression (zstd) are undone here, so the rest of the pipeline sees plain CDR bytes.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rerun_bridge.errors import BagError
from rerun_bridge.model.records import RawMessage, TopicInfo
from rerun_bridge.sources.metadata import BagMetadata, read_metadata
from rerun_bridge.sources.storage import (
    SUFFIX_TO_STORAGE,
    StorageReader,
    open_storage,
    storage_by_magic,
    storage_id_for,
)

METADATA_FILE = "metadata.yaml"


@dataclass(slots=True)
class Bag:
    """An open recording. Use as a context manager, or call :meth:`close`."""

    path: Path
    storages: list[StorageReader]
    metadata: BagMetadata | None = None
    message_compression: str = ""
    _tempdir: tempfile.TemporaryDirectory[str] | None = None
    _topics: list[TopicInfo] | None = field(default=None)
    #: Problems of the bag as a whole (a missing metadata.yaml or split file), before its files' own.
    bag_problems: list[str] = field(default_factory=list)
    #: Files metadata.yaml lists that do not exist (said already: their messages are lost).
    missing_files: int = 0

    @property
    def problems(self) -> list[str]:
        return self.bag_problems + [problem for storage in self.storages for problem in storage.problems]

    @property
    def ros_distro(self) -> str:
        return self.metadata.ros_distro if self.metadata else ""

    def topics(self) -> list[TopicInfo]:
        """Topics of all files, keyed on (name, type); counts summed; definitions from any file."""
        if self._topics is None:
            merged: dict[tuple[str, str], TopicInfo] = {}
            for storage in self.storages:
                for info in storage.topics():
                    key = (info.name, info.type_name)
                    if key in merged:
                        old = merged[key]
                        merged[key] = old._replace(
                            message_count=old.message_count + info.message_count,
                            definition=old.definition or info.definition,
                            qos_profiles=old.qos_profiles or info.qos_profiles,
                        )
                    else:
                        merged[key] = info
            self._topics = sorted(merged.values(), key=lambda t: t.name)
            self._note_lost_messages(sum(topic.message_count for topic in self._topics))
        return self._topics

    def _note_lost_messages(self, held: int) -> None:
        """A problem when the files hold fewer messages than metadata.yaml lists: a .db3 copied without its
        -wal file reads as a shorter recording, and was converted so without a word."""
        listed = self.metadata.message_count if self.metadata is not None else 0
        if listed > held and not self.missing_files:  # the missing files' loss is said already
            lost = listed - held
            self.bag_problems.append(
                f"{self.path / METADATA_FILE}: lists {listed} messages, its files hold {held}: {lost} lost "
                "(a file cut short, or a .db3 copied without its -wal file?)"
            )

    def messages(
        self,
        topics: Collection[str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> Iterator[RawMessage]:
        """Messages of the chosen topics in log-time order, ``start_ns <= t <= end_ns``."""
        streams = [storage.messages(topics, start_ns, end_ns) for storage in self.storages]
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=lambda m: m.log_time_ns)
        if not self.message_compression:
            yield from merged
            return
        decompress = _decompressor(self.message_compression, self.path)
        for message in merged:
            yield message._replace(data=decompress(bytes(message.data)))

    def topic_spans(self) -> dict[str, tuple[int, int]]:
        """Per topic, its first and last log time over all files, where their indexes give them."""
        spans: dict[str, tuple[int, int]] = {}
        for storage in self.storages:
            for topic, (first, last) in storage.topic_spans().items():
                known = spans.get(topic, (first, last))
                spans[topic] = (min(known[0], first), max(known[1], last))
        return spans

    def time_bounds(self) -> tuple[int, int] | None:
        """First and last log time over all files (metadata.yaml's own figures are not always right)."""
        bounds = [b for b in (storage.time_bounds() for storage in self.storages) if b is not None]
        if not bounds:
            return None
        return min(b[0] for b in bounds), max(b[1] for b in bounds)

    def close(self) -> None:
        for storage in self.storages:
            storage.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> Bag:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _decompressor(fmt: str, path: Path) -> Callable[[bytes], bytes]:
    if fmt != "zstd":
        raise BagError(f"{path}: compression format '{fmt}' is not supported (zstd is)")
    import zstandard

    dctx = zstandard.ZstdDecompressor()

    def decompress(data: bytes) -> bytes:
        return bytes(dctx.decompressobj().decompress(data))

    return decompress


def _decompress_file(source: Path, target_dir: Path) -> Path:
    import zstandard

    target = target_dir / source.name.removesuffix(".zstd")
    with source.open("rb") as src, target.open("wb") as dst:
        zstandard.ZstdDecompressor().copy_stream(src, dst)
    return target


def _present_files(
    files: list[Path], listed: list[Path], in_folder: list[Path], metadata_path: Path, problems: list[str]
) -> tuple[list[Path], int]:
    """The files of a folder to read, and how many that metadata.yaml lists do not exist (said in
    ``problems``): where none of the listed ones exist, the folder's own (renamed files: a copy, an upload
    tool)."""
    missing = [path for path in files if not path.exists()]
    if not missing:
        return files, 0
    absent = f"{metadata_path}: lists files that do not exist: " + ", ".join(path.name for path in missing)
    present = [path for path in files if path.exists()]
    unlisted = [path for path in in_folder if path not in listed]
    names = ", ".join(path.name for path in unlisted)
    if not present and unlisted:
        problems.append(f"{absent}; reading the folder's {names} instead")
        return unlisted, len(missing)
    # A renamed part beside them is named: "lost" alone read as if nothing could be done (audit).
    beside = f"; the folder also holds {names}, which it does not list" if unlisted else ""
    problems.append(f"{absent} (their messages are lost{beside})")
    return present, len(missing)


def open_bag(path: str | Path) -> Bag:
    """Open a bag folder (with or without metadata.yaml) or a single storage file. What is missing or
    damaged is reported in the bag's ``problems`` while the rest is read; BagError only when nothing
    can be."""
    root = Path(path)
    if not root.exists():
        raise BagError(f"{root}: no such file or folder")
    if root.is_file() and root.name == METADATA_FILE:
        root = root.parent
    if root.is_file():
        return Bag(root, [open_storage(root)])
    metadata_path = root / METADATA_FILE
    problems: list[str] = []
    metadata = None
    if metadata_path.exists():
        try:
            metadata = read_metadata(metadata_path)
        except BagError as err:
            problems.append(f"{err}; reading the folder's .mcap and .db3 files without it")
    else:
        problems.append(f"{root}: no {METADATA_FILE}; reading the folder's .mcap and .db3 files")
    in_folder = sorted(p for p in root.iterdir() if p.suffix.lower() in SUFFIX_TO_STORAGE)
    listed = _files_inside(root, metadata, metadata_path, problems) if metadata is not None else []
    files, missing = _present_files(listed or in_folder, listed, in_folder, metadata_path, problems)
    if not files and metadata is None and not in_folder:
        # "no readable file (no metadata.yaml; reading the folder's files)" contradicted itself (audit).
        raise BagError(f"{root}: holds no {METADATA_FILE} and no .mcap or .db3 file: not a rosbag2 recording")
    if not files:
        raise BagError(f"{root}: no readable .mcap or .db3 file" + (f" ({problems[-1]})" if problems else ""))
    storages, tempdir = _open_listed(files, metadata, problems)
    if not storages:
        raise BagError("; ".join(problems))
    bag = Bag(root, storages, metadata, _tempdir=tempdir, bag_problems=problems, missing_files=missing)
    if metadata is not None and metadata.compression_mode.upper() == "MESSAGE":
        bag.message_compression = metadata.compression_format
    return bag


def _files_inside(root: Path, metadata: BagMetadata, metadata_path: Path, problems: list[str]) -> list[Path]:
    """The storage files metadata.yaml lists, only those inside the bag folder once symlinks are resolved:
    a recording from elsewhere must not make the bridge read files outside it."""
    base = root.resolve()
    inside: list[Path] = []
    refused, twice = [], []
    for relative in metadata.relative_file_paths:
        candidate = root / relative
        if ".." in Path(relative).parts or not candidate.resolve().is_relative_to(base):
            refused.append(relative)
        elif any(candidate.resolve() == earlier.resolve() for earlier in inside):
            twice.append(relative)  # read once: twice, every message was converted twice (audit)
        else:
            inside.append(candidate)
    if twice:
        repeated = ", ".join(map(repr, twice))
        problems.append(f"{metadata_path}: lists a file more than once, read once: {repeated}")
    if refused:
        names = ", ".join(map(repr, refused))
        problems.append(f"{metadata_path}: lists files outside the bag folder, not read: {names}")
    return inside


def _storage_of(file: Path, metadata: BagMetadata | None, problems: list[str]) -> str:
    """The storage plug-in of a file: metadata.yaml's, unless the file's own first bytes say otherwise (an
    MCAP file said "not a readable sqlite3 bag" for metadata.yaml's ``storage_identifier: sqlite3``,
    without naming the disagreement: audit); the file's then, said once."""
    listed = metadata.storage_identifier if metadata is not None else ""
    try:
        found = storage_by_magic(file)
    except OSError:
        found = None  # opening it says why, with the file's name
    if listed and found and listed != found:
        problems.append(
            f"{file}: metadata.yaml says storage {listed!r}, the file is {found}: read as {found}"
        )
        return found
    return listed or storage_id_for(file)


def _open_listed(
    files: list[Path], metadata: BagMetadata | None, problems: list[str]
) -> tuple[list[StorageReader], tempfile.TemporaryDirectory[str] | None]:
    """Open the storage files of a bag; whole-file compressed ones are decompressed into a temporary
    folder first (returned, to be cleaned up with the bag). A file that cannot be opened at all is
    left out, said in ``problems``, when others can."""
    tempdir: tempfile.TemporaryDirectory[str] | None = None
    storages: list[StorageReader] = []
    whole_files_compressed = metadata is not None and metadata.compression_mode.upper() == "FILE"
    try:
        for listed in files:
            file = listed
            if (
                metadata is not None
                and whole_files_compressed
                and listed.suffix == f".{metadata.compression_format}"
            ):
                if tempdir is None:
                    tempdir = tempfile.TemporaryDirectory(prefix="rerun_bridge_bag_")
                file = _decompress_file(listed, Path(tempdir.name))
            storage_id = _storage_of(file, metadata, problems)
            try:
                storages.append(open_storage(file, storage_id))
            except BagError as err:
                if len(files) == 1:
                    raise
                problems.append(f"{err}: left out, its messages are lost")
    except BaseException:
        for storage in storages:
            storage.close()
        if tempdir is not None:
            tempdir.cleanup()
        raise
    return storages, tempdir
