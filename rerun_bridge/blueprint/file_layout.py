"""The layout an .rrd carries, written when the file closes: a scenario (the live node's
``sinks.viewer.blueprint``), else the bridge's default layout of what the file holds (``convert``, ``batch``,
the live node, a Rerun viewer given no scenario).

Without one, Rerun's viewer lays the recording out itself and shows an error on views whose entities lie on
frames it cannot place (images of a camera without camera_info).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rerun_bridge.blueprint.export import DEFAULT_TF_ENTITIES, tf_entities_of, to_rerun
from rerun_bridge.blueprint.heuristic import EntityCatalog, default_blueprint_of
from rerun_bridge.blueprint.model import Blueprint


def closing_layout(scenario: Blueprint | None) -> Callable[[EntityCatalog], Any]:
    """What an .rrd sink calls as it closes (``RrdSink(closing_blueprint=...)``): ``scenario`` as a Rerun
    blueprint, or the default one of the catalog's data; None for a file that holds no entity."""

    def layout(catalog: EntityCatalog) -> Any:
        if not catalog.entities():
            return None
        chosen = scenario if scenario is not None else default_blueprint_of(catalog)
        return to_rerun(chosen, tf_entities_of(catalog) or DEFAULT_TF_ENTITIES)

    return layout
