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

from rerun_bridge.blueprint.export import DEFAULT_TF_ENTITIES, tf_entities_of, to_rerun
from rerun_bridge.blueprint.heuristic import default_blueprint_of
from rerun_bridge.blueprint.model import Blueprint
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
        return to_rerun(chosen, tf_entities_of(catalog) or DEFAULT_TF_ENTITIES)

    return layout
