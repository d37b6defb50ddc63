"""The diagnostics written into the recording each period: a plot per topic, its series named once."""

from __future__ import annotations

from pathlib import Path

from rerun_bridge.live.diagnostics import SERIES, diagnostics_rows
from rerun_bridge.live.stats import TopicReport
from rerun_bridge.sinks.rrd import RrdSink
from test.conftest import rrd_row_count, verify_rrd


def report(topic: str, rate: float) -> TopicReport:
    return TopicReport(topic, "sensor_msgs/msg/Imu", 10, 10, rate, 100.0, 0, 0, 1.0, 2.0)


def test_each_period_writes_the_values_and_the_series_names_only_once(tmp_path: Path) -> None:
    """Names written each period doubled the chunks of an idle node's recording (about 1 MB a minute
    for nine topics): they are static, once per topic, also for a topic that appears later."""
    named: set[str] = set()
    periods = [
        diagnostics_rows([report("/imu", 1.0)], named),
        diagnostics_rows([report("/imu", 2.0), report("/scan", 3.0)], named),
        diagnostics_rows([report("/imu", 4.0), report("/scan", 5.0)], named),
    ]
    names = [
        (row.entity_path, row.static) for rows in periods for row in rows if row.archetype == "SeriesLines"
    ]
    assert names == [("/rerun_bridge/diagnostics/imu", True), ("/rerun_bridge/diagnostics/scan", True)]
    values = [row for rows in periods for row in rows if row.archetype == "Scalars"]
    assert [float(row.components["scalars"][0]) for row in values] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(not row.static for row in values)
    rrd = tmp_path / "diag.rrd"
    with RrdSink(rrd) as sink:
        for second, rows in enumerate(periods):
            sink.write(rows, {"log_time": second * 1_000_000_000})
    verify_rrd(rrd)
    assert rrd_row_count(rrd, "/rerun_bridge/diagnostics/imu", "Scalars:scalars") == 3
    assert list(
        next(row for rows in periods for row in rows if row.archetype == "SeriesLines").components["names"]
    ) == list(SERIES)
