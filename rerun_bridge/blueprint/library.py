"""The blueprints shipped in ``config/blueprints/``, one per debugging scenario, found by name.

The directory is looked up where the package is used from: a source checkout (or an editable install),
then ``<prefix>/share/rerun_bridge/config/blueprints`` of a pip install (``sys.prefix``) or of a colcon
workspace (every ``AMENT_PREFIX_PATH`` entry), where ``setup.py`` installs them.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import Final

from rerun_bridge.blueprint.loader import load_blueprint
from rerun_bridge.blueprint.model import Blueprint
from rerun_bridge.errors import ConfigError

PACKAGE: Final = "rerun_bridge"
BLUEPRINT_SUFFIXES: Final = (".yaml", ".yml")
_SHARE_SUBDIR: Final = Path("share") / PACKAGE / "config" / "blueprints"


def candidate_dirs() -> tuple[Path, ...]:
    """Where shipped blueprints may be, in the order they are looked for."""
    source_tree = Path(__file__).resolve().parents[2] / "config" / "blueprints"
    prefixes = [Path(sys.prefix)]
    prefixes += [Path(entry) for entry in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if entry]
    return (source_tree, *(prefix / _SHARE_SUBDIR for prefix in prefixes))


def builtin_dir() -> Path:
    """The first candidate directory that holds blueprint files."""
    for directory in candidate_dirs():
        if directory.is_dir() and any(_blueprint_files(directory)):
            return directory
    searched = ", ".join(str(directory) for directory in candidate_dirs())
    raise ConfigError(f"no shipped blueprints found (looked in {searched}); reinstall rerun_bridge")


def builtin_names() -> tuple[str, ...]:
    """Names of the shipped blueprints, sorted."""
    return tuple(sorted(path.stem for path in _blueprint_files(builtin_dir())))


def builtin_path(name: str) -> Path:
    """The file of a shipped blueprint; raises ConfigError listing the available names."""
    names = builtin_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown blueprint {name!r}: {hint}available: {', '.join(names)}; or give a YAML file path"
        )
    directory = builtin_dir()
    return next(path for path in _blueprint_files(directory) if path.stem == name)


def load_builtin(name: str) -> Blueprint:
    """Load a shipped blueprint by name (``perception``, ``navigation``, ...)."""
    return load_blueprint(builtin_path(name))


def resolve(name_or_path: str | Path) -> Blueprint:
    """A shipped blueprint's name, or the path of a YAML file (anything with a slash or a suffix, or an
    existing file)."""
    text = str(name_or_path)
    path = Path(text)
    looks_like_path = isinstance(name_or_path, Path) or "/" in text or os.sep in text or path.suffix != ""
    if looks_like_path or path.is_file():
        if not path.is_file():
            raise ConfigError(
                f"{text}: no such blueprint file (shipped blueprints: {', '.join(builtin_names())})"
            )
        return load_blueprint(path)
    return load_builtin(text)


def _blueprint_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if path.suffix in BLUEPRINT_SUFFIXES)
