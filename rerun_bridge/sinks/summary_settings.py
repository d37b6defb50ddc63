"""Split mode's summary settings: the config's ``sinks.summary`` section as the summary sink takes it
(:mod:`rerun_bridge.sinks.summary`). Apart from that module so the config reads it without importing
Rerun and the image codecs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SummarySettings:
    """What network sinks with ``profile: summary`` get, under which budget (docs/laptop-viewing.md)."""

    budget_mbit_s: float = 5.0
    image_max_width: int = 320
    jpeg_quality: int = 70
    image_rate_hz: float = 2.0
    cloud_voxel_m: float = 0.25
    cloud_rate_hz: float = 1.0
    #: Per-entity rate caps in Hz (an entity path is its topic's name unless the config maps it elsewhere).
    rate_hz: Mapping[str, float] = field(default_factory=dict)
