"""The layout an .rrd carries, written when the file closes: a scenario (the live node's
``sinks.viewer.blueprint``), else the bridge's default layout of what the file holds (``convert``, ``batch``,
the live node, a Rerun viewer given no scenario).

Without one, Rerun's viewer lays the recording out itself and shows an error on views whose entities lie on
frames it cannot place (images of a camera without camera_info).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rerun_bridge.blueprint.export import (
    DEFAULT_TF_ENTITIES,
    depth_meters_of,
    series_names_of,
    tf_entities_of,
    to_rerun,
)
from rerun_bridge.blueprint.fixed_frames import with_default_fixed_frame, with_fixed_frames_in
from rerun_bridge.blueprint.heuristic import default_blueprint_of
from rerun_bridge.blueprint.model import Blueprint, Node
from rerun_bridge.viewer.timeline_choice import blueprint_timeline, choose_timeline

if TYPE_CHECKING:
    from rerun_bridge.sinks.sent_catalog import SentCatalog


def closing_layout(scenario: Blueprint | None) -> Callable[[SentCatalog], Any]:
    """What an .rrd sink calls as it closes (``RrdSink(closing_blueprint=...)``): ``scenario`` as a Rerun
    blueprint, or the default one of the catalog's data; None for a file that holds no entity. Either
    opens on the timeline the embedded viewer would choose from the same time bounds (a scenario's
    ``ros_time`` yields to ``log_time`` where the stamps do not span the data)."""

    def layout(catalog: SentCatalog) -> Any:
        if not catalog.entities():
            return None
        if scenario is None:
            chosen = default_blueprint_of(catalog)
            timeline = choose_timeline(catalog.times).timeline
        else:
            chosen = scenario
            timeline = (
                blueprint_timeline(scenario.timeline, catalog.times).timeline if scenario.timeline else None
            )
        if timeline:
            chosen = dataclasses.replace(chosen, timeline=timeline)
        chosen = dataclasses.replace(chosen, root=_fixed_frames(chosen.root, catalog))
        tf_entities = tf_entities_of(catalog) or DEFAULT_TF_ENTITIES
        return to_rerun(chosen, tf_entities, series_names_of(catalog), depth_meters_of(catalog))

    return layout


def guarded(
    layout: Callable[[SentCatalog], Any], warn: Callable[[str], object]
) -> Callable[[SentCatalog], Any]:
    """``layout`` whose failure is a warning and no layout: a recording must close whatever its layout
    does (its data is complete either way)."""

    def made(catalog: SentCatalog) -> Any:
        try:
            return layout(catalog)
        except Exception as err:  # the recording must close whatever the layout does
            warn(f"the .rrd is written without its layout: {err}")
            return None

    return made


def _fixed_frames(root: Node, catalog: SentCatalog) -> Node:
    """3D views drawn in the frame the embedded viewer draws them in: a fixed frame the file's TF lacks
    becomes its root, as ``convert --blueprint`` does; a view without one gets the root too (without TF:
    the one frame the 3D data lies on). Left to itself, Rerun's viewer draws nothing of a view as soon as
    one entity lies on a frame it cannot reach from the target frame it picks."""
    fixed = catalog.fixed_frame()
    if fixed is None:  # several frames and no TF relating them: nothing to choose (docs/blueprints.md)
        return root
    root, _notes = with_fixed_frames_in(root, catalog.tf_frames() | {fixed}, fixed)
    return with_default_fixed_frame(root, fixed)
