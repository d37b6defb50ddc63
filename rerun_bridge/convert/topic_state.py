"""What converters remember between messages, per topic: a map's last grid, an odometry trail, the last
covariance's ellipsoid.

One :class:`TopicStates` per pipeline, through the context's shared state, so a converter may also read
another topic's: ``map_msgs/OccupancyGridUpdate`` on ``/map_updates`` patches the grid kept for ``/map``.
Keys inside a topic's dictionary belong to the converter that writes them.
"""

from __future__ import annotations

from typing import Any

from rerun_bridge.convert.registry import ConvertContext


class TopicStates:
    """A dictionary per topic, made on first use."""

    __slots__ = ("_by_topic",)

    def __init__(self) -> None:
        self._by_topic: dict[str, dict[str, Any]] = {}

    def of(self, topic: str) -> dict[str, Any]:
        return self._by_topic.setdefault(topic, {})

    def forget(self, topic: str) -> None:
        """A :class:`~rerun_bridge.convert.registry.TopicMemory`: the lazy bag viewer converts a topic a
        chunk at a time, each load afresh. A map kept from an unloaded chunk made a reload of it send
        nothing (the same grid again): the first local costmap of a bag was missing (found by an audit)."""
        self._by_topic.pop(topic, None)


def topic_state(ctx: ConvertContext, topic: str | None = None) -> dict[str, Any]:
    """The state of the context's topic (or of ``topic``, another topic of the same pipeline)."""
    return ctx.shared.get(TopicStates).of(topic if topic is not None else ctx.topic)
