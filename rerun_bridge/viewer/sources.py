"""What the viewer shows: .rrd files and rosbag2 recordings, loaded into one :class:`ChunkStore`.

* ``.rrd`` files are read with rerun-sdk's own reader (``rerun.chunk.RrdReader``); each chunk's record
  batch goes into the store as it is (the store and Rerun share one layout). Given a memory budget, a
  file with an index (Rerun's footer) is opened lazily instead (:class:`rerun_bridge.store.lazy_rrd.LazyRrd`):
  its chunks load on demand for the time shown; :func:`show_time` asks for them. A file without an
  index is read whole, once, with a note.
* Bags (MCAP files, sqlite3 ``.db3`` files, rosbag2 folders) go through the bridge's own pipeline
  (:func:`rerun_bridge.replay.convert_bags`) with the store as the only sink: the viewer shows exactly what
  a conversion would write. Several bags are merged by log time, as one conversion would merge them.
  Given a memory budget, an MCAP bag with a chunk index whose messages exceed it is opened lazily instead
  (:class:`rerun_bridge.replay.lazy_bag.LazyBag`): its chunks are converted on demand for the time shown.

Several files of either kind land in one store, so a bag and the .rrd of another run can be compared on
one time line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.errors import BagError, BridgeError
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.columns import StoreError
from rerun_bridge.store.lazy_rrd import DEFAULT_MEMORY_BUDGET_BYTES, LazyRrd, LoadCounts
from rerun_bridge.store.rrd_file import RrdIndex, decode_chunk, read_chunk_bytes, read_rrd_index, scan_chunks

if TYPE_CHECKING:
    from rerun_bridge.pipeline import TypeSupport

__all__ = [
    "LazySource",
    "LoadedFiles",
    "SourceError",
    "SourceOptions",
    "StoreSink",
    "is_rrd",
    "load_bags",
    "load_files",
    "load_rrd",
    "open_bag_lazily",
    "open_rrd_lazily",
    "show_time",
]

RRD_SUFFIX = ".rrd"


class SourceError(BridgeError):
    """A file given to the viewer cannot be read; the message names it."""


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How the viewer loads its files: the bags' robot model, and the memory budget of each .rrd file that
    has an index (bigger ones load their chunks on demand for the time shown)."""

    robot_model: RobotModelConfig | None = None
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES
    #: The custom types and converter options of ``--config`` / ``--msg-path`` (None: the built-in ones).
    types: TypeSupport | None = None


class LazySource(Protocol):
    """A file opened through its index (a .rrd's :class:`LazyRrd`, an MCAP bag's ``LazyBag``)."""

    counts: LoadCounts
    warnings: list[str]
    #: whether the whole file was loaded at open (it fits the budget)
    fits_whole: bool

    @property
    def loaded_chunks(self) -> int: ...

    @property
    def loaded_bytes(self) -> int: ...

    def show(self, timeline: str, time: int) -> bool: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class LoadedFiles:
    """The store every file was loaded into, and what went wrong without stopping the load."""

    store: ChunkStore
    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the files opened through their index (.rrd files, MCAP bags), loading chunks on demand
    lazy: list[LazySource] = field(default_factory=list)
    #: the timeline to open on when none is chosen: ``log_time`` for a lazily opened bag (the clock
    #: of its chunk index; ``ros_time`` is only known where chunks are loaded)
    default_timeline: str | None = None
    #: per lazily opened file, how many of its warnings :meth:`new_warnings` gave already
    _reported: dict[int, int] = field(default_factory=dict)

    def new_warnings(self) -> list[str]:
        """The lazily opened files' warnings not given before: a chunk that does not decode is found as
        it loads, long after the file opened (a damaged .rrd's chunk went without a word: audit)."""
        fresh: list[str] = []
        for number, lazy in enumerate(self.lazy):
            seen = self._reported.get(number, 0)
            fresh += lazy.warnings[seen:]
            self._reported[number] = len(lazy.warnings)
        return fresh


def show_time(loaded: LoadedFiles, timeline: str, time: int) -> bool:
    """Load what the lazily opened files need at ``time``; whether the store changed."""
    changed = False
    for lazy in loaded.lazy:
        changed |= lazy.show(timeline, time)
    return changed


def is_rrd(path: str | Path) -> bool:
    """Whether a path names a Rerun recording (by its suffix); anything else is read as a bag."""
    return Path(path).suffix.lower() == RRD_SUFFIX


def load_rrd(
    path: str | Path,
    store: ChunkStore,
    progress: Callable[[float], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> int:
    """Append every chunk of one .rrd file to ``store``; returns how many chunks were read.

    A complete file (with Rerun's footer) is read with rerun-sdk's reader. A file without one (an older
    SDK's, or one cut short) is scanned front to back by :func:`rerun_bridge.store.rrd_file.scan_chunks`:
    ``progress`` hears the fraction of the file read after each chunk, and ``warn`` where a cut-off file
    ends; what it holds up to there is shown. A file of which nothing can be read raises
    :class:`SourceError`.
    """
    source = Path(path)
    if not source.is_file():
        raise SourceError(f"{source}: no such .rrd file")
    count = 0
    try:
        index = read_rrd_index(source)
        if index is not None:  # complete: rerun-sdk's reader, or chunk by chunk around damage
            for entity, batch, static in _indexed_chunks(source, index, warn):
                store.append_chunk(entity, batch, static=static)
                count += 1
            return count
        size = max(source.stat().st_size, 1)
        for scanned in scan_chunks(source, warn):
            store.append_chunk(scanned.entity_path, scanned.batch)
            count += 1
            if progress is not None:
                progress(scanned.bytes_read / size)
    except BridgeError as err:  # named once ("x.rrd: x.rrd: not a .rrd file": audit)
        message = str(err)
        raise SourceError(message if message.startswith(str(source)) else f"{source}: {message}") from err
    except (OSError, ValueError, RuntimeError, pa.ArrowException) as err:  # the readers' errors
        raise SourceError(f"{source}: not a readable .rrd file: {err}") from err
    return count


def _indexed_chunks(
    source: Path, index: RrdIndex, warn: Callable[[str], None] | None
) -> list[tuple[str, pa.RecordBatch, bool]]:
    """Every chunk of a file with an index: rerun-sdk's reader reads them all, or, where it stops at a
    chunk whose bytes do not decode (a damaged file: one such chunk failed the whole file), each chunk
    the index lists is read alone and the damaged ones are left out, said once."""
    import rerun.chunk as rrc

    try:
        return [
            (str(chunk.entity_path), chunk.to_record_batch(), bool(chunk.is_static))
            for chunk in rrc.RrdReader(str(source)).stream()
        ]
    except RuntimeError:
        pass
    chunks: list[tuple[str, pa.RecordBatch, bool]] = []
    damaged: list[str] = []
    descriptor = os.open(source, os.O_RDONLY)
    try:
        for entry in index.chunks:
            try:
                chunks.append(
                    (entry.entity_path, decode_chunk(read_chunk_bytes(descriptor, entry)), entry.static)
                )
            except (StoreError, pa.ArrowException) as err:
                damaged.append(f"chunk {entry.number} of {entry.entity_path} ({err})")
    finally:
        os.close(descriptor)
    if damaged and warn is not None:
        warn(
            f"{source}: {len(damaged)} of its {len(index.chunks)} chunks do not decode (damaged): left "
            f"out, the first {damaged[0]}; `rerun-bridge repair` rewrites the file from the rest"
        )
    return chunks


def open_rrd_lazily(path: str | Path, store: ChunkStore, budget_bytes: int) -> LazyRrd | None:
    """Open a .rrd file through its index (chunks then load on demand); None when it has none."""
    source = Path(path)
    if not source.is_file():
        raise SourceError(f"{source}: no such .rrd file")
    index = read_rrd_index(source)
    return None if index is None else LazyRrd(index, store, budget_bytes)


def load_bags(
    paths: Sequence[str | Path],
    store: ChunkStore,
    warn: Callable[[str], None] | None = None,
    robot_model: RobotModelConfig | None = None,
    progress: Callable[[float], None] | None = None,
    types: TypeSupport | None = None,
) -> list[str]:
    """Convert rosbag2 recordings into ``store`` through the bridge's pipeline; returns its warnings.
    ``progress`` hears the fraction of the messages converted."""
    if not paths:
        return []
    from rerun_bridge.replay import convert_bags  # here: the pipeline's imports cost a .rrd's first second

    def converted(done: int, total: int) -> None:
        if progress is not None:
            progress(done / max(total, 1))

    try:
        summary = convert_bags(
            paths,
            None,
            warn=warn,
            extra_sinks=[StoreSink(store)],
            robot_model=robot_model,
            progress=converted if progress is not None else None,
            types=types,
        )
    except BagError as err:
        raise SourceError(str(err)) from err
    return list(summary.warnings)


def open_bag_lazily(
    path: str | Path,
    store: ChunkStore,
    budget_bytes: int,
    robot_model: RobotModelConfig | None = None,
    types: TypeSupport | None = None,
) -> LazySource | None:
    """Open an MCAP bag through its chunk index (chunks then convert on demand); None when it has none,
    or its messages fit the budget (it is then converted whole)."""
    from rerun_bridge.replay.lazy_bag import LazyBag, lazy_bag_candidate

    bag = lazy_bag_candidate(path, budget_bytes)
    if bag is None:
        return None
    try:
        return LazyBag(bag, store, budget_bytes, robot_model, types=types)
    except BridgeError as err:
        bag.close()
        raise SourceError(f"{path}: {err}") from err


def load_files(
    paths: Sequence[str | Path],
    store: ChunkStore | None = None,
    warn: Callable[[str], None] | None = None,
    robot_model: RobotModelConfig | None = None,
    memory_budget_bytes: int | None = None,
    progress: Callable[[Path, float], None] | None = None,
    types: TypeSupport | None = None,
) -> LoadedFiles:
    """Load .rrd files and bags (in any mix) into one store, sealed for fast queries.

    ``robot_model``: the URDF file and mesh roots for the bags' robot model. With ``memory_budget_bytes``,
    .rrd files with an index and bigger MCAP bags with a chunk index are opened lazily under that budget
    (each). ``progress`` hears how far the front-to-back reads are: a .rrd without an index (the fraction
    of the file read), the bags converted whole (the fraction of their messages; reported for the first).
    """
    loaded = LoadedFiles(store if store is not None else ChunkStore(), [Path(path) for path in paths])
    bags = [path for path in loaded.paths if not is_rrd(path)]
    if memory_budget_bytes is not None:
        bags = _open_bags_lazily(bags, loaded, memory_budget_bytes, robot_model, types)
    for path in loaded.paths:
        if not is_rrd(path):
            continue
        if memory_budget_bytes is not None:
            lazy = open_rrd_lazily(path, loaded.store, memory_budget_bytes)
            if lazy is not None:
                loaded.lazy.append(lazy)
                loaded.warnings.extend(loaded.new_warnings())
                continue
            loaded.warnings.append(f"{path}: no chunk index (an older or cut-off file): read whole")
        scanned = (lambda fraction, path=path: progress(path, fraction)) if progress is not None else None
        load_rrd(path, loaded.store, progress=scanned, warn=loaded.warnings.append)
    converted = (lambda fraction: progress(bags[0], fraction)) if progress is not None and bags else None
    loaded.warnings.extend(load_bags(bags, loaded.store, warn, robot_model, converted, types))
    loaded.store.flush()
    return loaded


def _open_bags_lazily(
    bags: list[Path],
    loaded: LoadedFiles,
    budget_bytes: int,
    robot_model: RobotModelConfig | None,
    types: TypeSupport | None,
) -> list[Path]:
    """Open the bags that can be read through their chunk index; returns the others (converted whole)."""
    whole = []
    for path in bags:
        lazy = open_bag_lazily(path, loaded.store, budget_bytes, robot_model, types)
        if lazy is None:
            whole.append(path)
            continue
        loaded.lazy.append(lazy)
        loaded.warnings.extend(loaded.new_warnings())
        loaded.default_timeline = "log_time"
    return whole
