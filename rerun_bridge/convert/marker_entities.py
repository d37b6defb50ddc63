"""Where markers live: entity paths by namespace and id, and the Clear rows that delete them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from rerun_bridge.convert.common import sub_path
from rerun_bridge.model.rows import Row

#: The namespace part of an entity path for markers with an empty ``ns``.
EMPTY_NS: Final = "_"
_NO_TIMES: Final[Mapping[str, int]] = {}


def clear_row(
    entity_path: str, recursive: bool, delay_ns: int = 0, times: Mapping[str, int] = _NO_TIMES
) -> Row:
    """Rerun's ``Clear``: hides what the entity (recursive: and everything below it) showed before."""
    return Row(entity_path, "Clear", {"is_recursive": np.array([recursive])}, times=times, delay_ns=delay_ns)


def namespace_path(topic_path: str, ns: str) -> str:
    return sub_path(topic_path, ns or EMPTY_NS)


def marker_path(topic_path: str, ns: str, marker_id: int) -> str:
    return sub_path(topic_path, ns or EMPTY_NS, str(int(marker_id)))


def duration_ns(duration: Any) -> int:
    """``builtin_interfaces/Duration`` in nanoseconds."""
    return int(duration.sec) * 1_000_000_000 + int(duration.nanosec)
