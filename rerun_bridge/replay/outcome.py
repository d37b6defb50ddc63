"""What ``convert`` did with each topic, as static rows of the .rrd itself (it outlives stderr).

``/rerun_bridge/convert`` holds a ``TextDocument``: the summary table ``convert`` prints, then the
warnings. ``/rerun_bridge/convert/<topic>`` holds one instance of :data:`OUTCOME_ARCHETYPE`'s components
per topic (result, counts, reason): what a viewer's selection panel shows and a program reads back.
Nothing in them depends on timing or output paths, so two conversions of the same input write the same
rows (the column path is held to the message-by-message path's file).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np

from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.rows import Batch, Row
from rerun_bridge.pipeline import TopicKind, TopicStats

OUTCOME_ROOT: Final = EntityPath.parse("/rerun_bridge/convert")
#: Components of our own (not a Rerun archetype), stored as ``rerun_bridge.ConvertOutcome:<field>``.
OUTCOME_ARCHETYPE: Final = "rerun_bridge.ConvertOutcome"
SUMMARY_HEADERS: Final = ("topic", "type", "result", "messages", "rows", "skipped", "errors", "written as")
#: Warnings listed in the document at most (a badly damaged bag can have thousands); the rest are counted.
MAX_LISTED_WARNINGS: Final = 200


def written_as(stats: TopicStats) -> str:
    """The archetypes a topic's rows had, or ``-``."""
    return ", ".join(sorted(stats.produced)) or "-"


def result_of(stats: TopicStats) -> str:
    """The topic's result: its kind, ``failed`` for a converted or raw topic whose every message failed
    (a bad converter option fails them all: "converted" beside 0 rows read as success; a custom type
    that decodes nowhere read "raw"), or ``no messages``."""
    if stats.kind in (TopicKind.CONVERTED, TopicKind.RAW) and stats.errors and not stats.rows:
        return "failed"
    if not stats.messages:  # none in the --start / --end window: "converted" read as if some were
        return "no messages"
    return stats.kind.value


def summary_table(topics: Sequence[TopicStats]) -> list[list[str]]:
    """One row of :data:`SUMMARY_HEADERS` per topic, sorted by topic: what ``convert`` prints."""
    return [
        [
            t.topic,
            t.type_name,
            result_of(t),
            str(t.messages),
            str(t.rows),
            str(t.skipped),
            str(t.errors),
            written_as(t),
        ]
        for t in sorted(topics, key=lambda t: t.topic)
    ]


def reason_of(stats: TopicStats) -> str:
    """Why a topic was skipped, else its first conversion error, else ``""``."""
    return stats.reason or stats.first_error


def outcome_path(stats: TopicStats) -> str:
    """``/rerun_bridge/convert`` + the topic's own entity path (a topic kept apart by type has its own)."""
    return str(OUTCOME_ROOT.join(*EntityPath.parse(stats.entity_path).parts))


def outcome_rows(
    topics: Sequence[TopicStats], inputs: Sequence[str | Path], warnings: Sequence[str]
) -> list[Row]:
    """The static rows of a conversion's outcome: the document, then one row per topic."""
    rows = [_document_row(topics, inputs, warnings)]
    for stats in sorted(topics, key=lambda t: t.topic):
        counts = (stats.messages, stats.rows, stats.skipped, stats.errors, stats.zero_stamps)
        fields: dict[str, Batch] = {
            "topic": [stats.topic],
            "type": [stats.type_name],
            "result": [result_of(stats)],
            "entity": [stats.entity_path],
            "written_as": [written_as(stats)],
            "reason": [reason_of(stats)],
        }
        for name, value in zip(("messages", "rows", "skipped", "errors", "zero_stamps"), counts, strict=True):
            fields[name] = np.array([value], dtype=np.uint64)
        rows.append(Row(outcome_path(stats), OUTCOME_ARCHETYPE, {}, extra=fields, static=True))
    return rows


def _cell(text: str) -> str:
    # A "|" in a reason would end the Markdown cell early.
    return text.replace("|", "\\|").replace("\n", " ")


def _document_row(topics: Sequence[TopicStats], inputs: Sequence[str | Path], warnings: Sequence[str]) -> Row:
    table = summary_table(topics)
    by_kind = {kind: sum(1 for t in topics if t.kind is kind) for kind in TopicKind}
    lines = [
        "# rerun-bridge convert",
        "",
        "Inputs: " + ", ".join(f"`{Path(p).name}`" for p in inputs),
        "",
        f"{len(topics)} topics: "
        + ", ".join(f"{by_kind[kind]} {kind.value}" for kind in TopicKind)
        + f"; {sum(t.messages for t in topics)} messages, {sum(t.rows for t in topics)} rows, "
        f"{sum(t.errors for t in topics)} errors, {sum(t.zero_stamps for t in topics)} zero stamps.",
        "",
        "| " + " | ".join((*SUMMARY_HEADERS, "zero stamps", "reason")) + " |",
        "|" + "---|" * (len(SUMMARY_HEADERS) + 2),
    ]
    stats_by_topic = sorted(topics, key=lambda t: t.topic)
    for cells, stats in zip(table, stats_by_topic, strict=True):
        row = [*cells, str(stats.zero_stamps), reason_of(stats) or "-"]
        lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    lines += ["", f"## Warnings ({len(warnings)})", ""]
    lines += [f"- {w}".replace("\n", " ") for w in warnings[:MAX_LISTED_WARNINGS]] or ["none"]
    if len(warnings) > MAX_LISTED_WARNINGS:
        lines.append(f"- … and {len(warnings) - MAX_LISTED_WARNINGS} more")
    text = "\n".join(lines) + "\n"
    return Row(
        str(OUTCOME_ROOT), "TextDocument", {"text": [text], "media_type": ["text/markdown"]}, static=True
    )
