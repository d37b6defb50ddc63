"""Scenarios: the layouts the window's dropdown switches between.

A scenario is the default blueprint of the data
(:func:`rerun_bridge.blueprint.heuristic.default_blueprint_of`, the one heuristic the exports use too),
one of the blueprints shipped in ``config/blueprints/`` (perception, navigation, manipulation,
localization), or a blueprint file the user opened the viewer with. :func:`scenario_blueprint` reads
one; the default is computed at the moment it is chosen, so live data that arrived since is laid out too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, NamedTuple

from rerun_bridge.blueprint.heuristic import DEFAULT_BLUEPRINT_NAME, default_blueprint_of
from rerun_bridge.blueprint.library import builtin_names, load_builtin, resolve
from rerun_bridge.blueprint.model import Blueprint
from rerun_bridge.errors import BridgeError
from rerun_bridge.store.chunk_store import ChunkStore

DEFAULT_SCENARIO: Final = DEFAULT_BLUEPRINT_NAME
_DEFAULT_DESCRIPTION: Final = "A layout from the data: 3D, one view per image, plots per group, the log."


class Scenario(NamedTuple):
    """One entry of the dropdown: ``key`` is ``default``, a shipped name or a blueprint file path."""

    key: str
    label: str
    description: str


def shipped_scenarios() -> list[Scenario]:
    """The default, then every shipped blueprint (one that cannot be read says why in its description)."""
    found = [Scenario(DEFAULT_SCENARIO, "default (from the data)", _DEFAULT_DESCRIPTION)]
    try:
        names = builtin_names()
    except BridgeError:
        return found
    for name in names:
        try:
            description = load_builtin(name).description.strip()
        except BridgeError as err:
            description = f"cannot be read: {err}"
        found.append(Scenario(name, name, description))
    return found


def file_scenario(path: str | Path) -> Scenario:
    """A blueprint file as a dropdown entry (read only when chosen)."""
    return Scenario(str(path), Path(path).stem, f"blueprint file {path}")


def scenario_blueprint(key: str, store: ChunkStore) -> Blueprint:
    """The blueprint of a scenario; raises :class:`~rerun_bridge.errors.BridgeError` naming what is wrong."""
    if key == DEFAULT_SCENARIO:
        return default_blueprint_of(store)
    return resolve(key)
