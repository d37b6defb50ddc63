"""map_msgs: ``OccupancyGridUpdate``, a patch of a map topic's last full grid (see docs/maps.md)."""

from __future__ import annotations

from typing import Any, Final

from rerun_bridge.convert.occupancy import MAP_STATE_KEY, MapState, apply_update
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.convert.topic_state import topic_state
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row

#: RViz's rule: the updates of map topic ``/map`` come on ``/map_updates``.
UPDATES_SUFFIX: Final = "_updates"


def map_topic_of(ctx: ConvertContext) -> str:
    """The map topic an update topic patches: the ``map_topic`` option, else the name without
    ``_updates``."""
    configured = ctx.options.get("map_topic")
    if configured:
        return str(configured)
    return ctx.topic.removesuffix(UPDATES_SUFFIX)


def convert_occupancy_grid_update(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The patched map's image and the tiles under the patch, on the map topic's entities (as RViz, an
    update before the first full map is dropped: here it is counted as an error and warned about)."""
    map_topic = map_topic_of(ctx)
    state = topic_state(ctx, map_topic).get(MAP_STATE_KEY)
    if not isinstance(state, MapState):
        raise ConversionError(f"no full map on {map_topic} yet; the update cannot be placed")
    return apply_update(msg, state)


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter(
        "map_msgs/msg/OccupancyGridUpdate",
        convert_occupancy_grid_update,
        ("Image", "Mesh3D", "CoordinateFrame"),
    ),
)
