"""What the viewer shows: .rrd files and rosbag2 recordings, loaded into one :class:`ChunkStore`.

* ``.rrd`` files are read with rerun-sdk's own reader (``rerun.chunk.RrdReader``); each chunk's record
  batch goes into the store as it is (the store and Rerun share one layout).
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

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.errors import BagError, BridgeError
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore

__all__ = ["LoadedFiles", "SourceError", "StoreSink", "is_rrd", "load_bags", "load_files", "load_rrd"]

RRD_SUFFIX = ".rrd"


class SourceError(BridgeError):
    """A file given to the viewer cannot be read; the message names it."""


@dataclass(slots=True)
class LoadedFiles:
    """The store every file was loaded into, and what went wrong without stopping the load."""

    store: ChunkStore
    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_rrd(path: str | Path) -> bool:
    """Whether a path names a Rerun recording (by its suffix); anything else is read as a bag."""
    return Path(path).suffix.lower() == RRD_SUFFIX


def load_rrd(path: str | Path, store: ChunkStore) -> int:
    """Append every chunk of one .rrd file to ``store``; returns how many chunks were read."""
    import rerun.chunk as rrc

    source = Path(path)
    if not source.is_file():
        raise SourceError(f"{source}: no such .rrd file")
    count = 0
    try:
        for chunk in rrc.RrdReader(str(source)).stream().to_chunks():
            store.append_chunk(str(chunk.entity_path), chunk.to_record_batch(), static=bool(chunk.is_static))
            count += 1
    except BridgeError as err:
        raise SourceError(f"{source}: {err}") from err
    except (OSError, ValueError, RuntimeError) as err:  # rerun-sdk's reader errors
        raise SourceError(f"{source}: not a readable .rrd file: {err}") from err
    return count


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
) -> LoadedFiles:
    """Load .rrd files and bags (in any mix) into one store, sealed for fast queries; ``robot_model``: the
    URDF file and mesh roots for the bags' robot model."""
    loaded = LoadedFiles(store if store is not None else ChunkStore(), [Path(path) for path in paths])
    bags = [path for path in loaded.paths if not is_rrd(path)]
    for path in loaded.paths:
        if is_rrd(path):
            load_rrd(path, loaded.store)
    loaded.warnings.extend(load_bags(bags, loaded.store, warn, robot_model))
    loaded.store.flush()
    return loaded
