"""Bridge diagnostics as recording rows and as the shutdown summary table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rerun_bridge.live.stats import TopicReport
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.rows import Row

DIAGNOSTICS_ROOT = EntityPath.parse("/rerun_bridge/diagnostics")
SERIES = [
    "rate_hz",
    "bytes_per_s",
    "dropped",
    "conversion_errors",
    "latency_p50_ms",
    "latency_p99_ms",
    "lost_in_dds",
    "mcap_refused",
]


def diagnostics_rows(reports: Sequence[TopicReport], named: set[str] | None = None) -> list[Row]:
    """One plot of :data:`SERIES` per bridged topic under ``/rerun_bridge/diagnostics/<topic>``. Its
    series' names are static, written once per topic (``named``: the entities that have them already):
    a row of them each period doubled the recording's chunks of an idle node."""
    rows: list[Row] = []
    for report in reports:
        path = str(DIAGNOSTICS_ROOT.join(*EntityPath.from_topic(report.topic).parts))
        values = np.array(
            [
                report.rate_hz,
                report.bytes_per_s,
                report.dropped,
                report.errors,
                report.latency_p50_ms,
                report.latency_p99_ms,
                report.lost_in_dds,
                report.mcap_refused,
            ],
            dtype=np.float64,
        )
        rows.append(Row(path, "Scalars", {"scalars": values}))
        if named is None or path not in named:
            rows.append(Row(path, "SeriesLines", {"names": SERIES}, static=True))
            if named is not None:
                named.add(path)
    return rows


def format_summary(reports: Sequence[TopicReport]) -> str:
    headers = [
        "topic",
        "type",
        "received",
        "stored",
        "dropped",
        "errors",
        "dds lost",
        "mcap refused",
        "p50 ms",
        "p99 ms",
    ]
    table = [
        [
            r.topic,
            r.type_name,
            str(r.received),
            str(r.stored),
            str(r.dropped),
            str(r.errors),
            str(r.lost_in_dds),
            str(r.mcap_refused),
            f"{r.latency_p50_ms:.1f}",
            f"{r.latency_p99_ms:.1f}",
        ]
        for r in reports
    ]
    widths = [max([len(h)] + [len(row[i]) for row in table]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    return "\n".join(lines)
