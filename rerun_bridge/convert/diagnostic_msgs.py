"""diagnostic_msgs: each status of a ``DiagnosticArray`` as a log line, and its level as a plot."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.common import sub_path
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.model.rows import Row

#: ``diagnostic_msgs/DiagnosticStatus`` levels -> Rerun's TextLogLevel (STALE: nothing heard, a warning).
LEVEL_NAMES: Final = {0: "INFO", 1: "WARN", 2: "ERROR", 3: "WARN"}
STATUS_WORDS: Final = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}
#: The entity of statuses whose hardware_id is empty.
NO_HARDWARE_ID: Final = "_no_hardware_id"


def level_value(status: Any) -> int:
    """A status level as an int: rosbags gives bytes as int, some readers as a one-byte bytes object."""
    level = status.level
    if isinstance(level, bytes | bytearray):
        return level[0] if level else 0
    return int(level)


def status_text(status: Any, level: int) -> str:
    """``[STALE] message (key=value, ...)``: the level word keeps STALE apart from WARN in the log."""
    word = STATUS_WORDS.get(level, f"level {level}")
    pairs = ", ".join(f"{pair.key}={pair.value}" for pair in status.values)
    return f"[{word}] {status.message}" + (f" ({pairs})" if pairs else "")


def convert_diagnostic_status(msg: Any, ctx: ConvertContext) -> list[Row]:
    """One status published on its own: as a ``DiagnosticArray`` of one (:func:`diagnostic_rows`)."""
    return diagnostic_rows([msg], ctx)


def convert_diagnostic_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Every status of the array (:func:`diagnostic_rows`)."""
    return diagnostic_rows(list(msg.status), ctx)


def diagnostic_rows(statuses: list[Any], ctx: ConvertContext) -> list[Row]:
    """For each status: a ``TextLog`` on ``<entity>/<status name>`` (level OK -> INFO, WARN, ERROR, STALE ->
    WARN, the text starting with the level's own word, key values appended); and per hardware id one
    ``Scalars`` row on ``<entity>/level/<hardware_id>`` holding the level (0..3) of each of its statuses,
    with the status names as ``SeriesLines`` names."""
    rows: list[Row] = []
    levels: dict[str, tuple[list[str], list[float]]] = {}
    for status in statuses:
        level = level_value(status)
        name = str(status.name) or str(status.hardware_id) or "status"
        rows.append(
            Row(
                sub_path(ctx.entity_path, name),
                "TextLog",
                {"text": [status_text(status, level)], "level": [LEVEL_NAMES.get(level, "ERROR")]},
                extra={"hardware_id": [str(status.hardware_id)]},
            )
        )
        names, values = levels.setdefault(str(status.hardware_id) or NO_HARDWARE_ID, ([], []))
        names.append(name)
        values.append(float(level))
    for hardware_id, (names, values) in levels.items():
        path = sub_path(ctx.entity_path, "level", hardware_id)
        rows.append(Row(path, "Scalars", {"scalars": np.array(values, dtype=np.float64)}))
        rows.append(Row(path, "SeriesLines", {"names": names}))
    return rows


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter(
        "diagnostic_msgs/msg/DiagnosticStatus",
        convert_diagnostic_status,
        ("TextLog", "Scalars", "SeriesLines"),
    ),
    Converter(
        "diagnostic_msgs/msg/DiagnosticArray", convert_diagnostic_array, ("TextLog", "Scalars", "SeriesLines")
    ),
)
