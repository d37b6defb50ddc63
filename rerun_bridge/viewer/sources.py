"""What the viewer shows: .rrd files and rosbag2 recordings, loaded into one :class:`ChunkStore`.

* ``.rrd`` files are read with rerun-sdk's own reader (``rerun.chunk.RrdReader``); each chunk's record
  batch goes into the store as it is (the store and Rerun share one layout). Given a memory budget, a
  file with an index (Rerun's footer) is opened lazily instead (:class:`rerun_bridge.store.lazy_rrd.LazyRrd`):
  its chunks load on demand for the time shown; :func:`show_time` asks for them. A file without an
  index is read whole, once, with a note.
* Bags (MCAP files, sqlite3 ``.db3`` files, rosbag2 folders) go through the bridge's own pipeline
  (:func:`rerun_bridge.replay.convert_bags`) with the store as the only sink: the viewer shows exactly what
  a conversion would write. Several bags are merged by log time, as one conversion would merge them.

Several files of either kind land in one store, so a bag and the .rrd of another run can be compared on
one time line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.errors import BagError, BridgeError
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.lazy_rrd import DEFAULT_MEMORY_BUDGET_BYTES, LazyRrd
from rerun_bridge.store.rrd_file import read_rrd_index, scan_chunks

__all__ = [
    "LoadedFiles",
    "SourceError",
    "SourceOptions",
    "StoreSink",
    "is_rrd",
    "load_bags",
    "load_files",
    "load_rrd",
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


@dataclass(slots=True)
class LoadedFiles:
    """The store every file was loaded into, and what went wrong without stopping the load."""

    store: ChunkStore
    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the .rrd files opened through their index, loading chunks on demand
    lazy: list[LazyRrd] = field(default_factory=list)


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
    import rerun.chunk as rrc

    source = Path(path)
    if not source.is_file():
        raise SourceError(f"{source}: no such .rrd file")
    count = 0
    try:
        if read_rrd_index(source) is not None:  # complete: rerun-sdk's reader
            for chunk in rrc.RrdReader(str(source)).stream():
                entity = str(chunk.entity_path)
                store.append_chunk(entity, chunk.to_record_batch(), static=bool(chunk.is_static))
                count += 1
            return count
        size = max(source.stat().st_size, 1)
        for scanned in scan_chunks(source, warn):
            store.append_chunk(scanned.entity_path, scanned.batch)
            count += 1
            if progress is not None:
                progress(scanned.bytes_read / size)
    except BridgeError as err:
        raise SourceError(f"{source}: {err}") from err
    except (OSError, ValueError, RuntimeError, pa.ArrowException) as err:  # the readers' errors
        raise SourceError(f"{source}: not a readable .rrd file: {err}") from err
    return count


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
) -> list[str]:
    """Convert rosbag2 recordings into ``store`` through the bridge's pipeline; returns its warnings."""
    from rerun_bridge.replay import convert_bags

    if not paths:
        return []
    try:
        summary = convert_bags(
            paths, None, warn=warn, extra_sinks=[StoreSink(store)], robot_model=robot_model
        )
    except BagError as err:
        raise SourceError(str(err)) from err
    return list(summary.warnings)


def load_files(
    paths: Sequence[str | Path],
    store: ChunkStore | None = None,
    warn: Callable[[str], None] | None = None,
    robot_model: RobotModelConfig | None = None,
    memory_budget_bytes: int | None = None,
    progress: Callable[[Path, float], None] | None = None,
) -> LoadedFiles:
    """Load .rrd files and bags (in any mix) into one store, sealed for fast queries.

    ``robot_model``: the URDF file and mesh roots for the bags' robot model. With ``memory_budget_bytes``,
    .rrd files with an index are opened lazily under that budget (each). ``progress`` hears how far the scan
    of a .rrd without an index is: the file and the fraction read.
    """
    loaded = LoadedFiles(store if store is not None else ChunkStore(), [Path(path) for path in paths])
    bags = [path for path in loaded.paths if not is_rrd(path)]
    for path in loaded.paths:
        if not is_rrd(path):
            continue
        if memory_budget_bytes is not None:
            lazy = open_rrd_lazily(path, loaded.store, memory_budget_bytes)
            if lazy is not None:
                loaded.lazy.append(lazy)
                continue
            loaded.warnings.append(f"{path}: no chunk index (an older or cut-off file): read whole")
        scanned = (lambda fraction, path=path: progress(path, fraction)) if progress is not None else None
        load_rrd(path, loaded.store, progress=scanned, warn=loaded.warnings.append)
    loaded.warnings.extend(load_bags(bags, loaded.store, warn, robot_model))
    loaded.store.flush()
    return loaded
