"""The time slider's scale: long empty stretches compressed and marked, playback jumping over them."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.time_axis import GAP_SHARE, TimeAxis, collapse_threshold
from rerun_bridge.viewer.time_panel import TimePanel
from test.conftest import GPS_BAG
from test.viewer.conftest import qimage_rgb

NS = 1_000_000_000
START = 1_700_000_000 * NS
DAY = 86_400 * NS


def two_bursts() -> ChunkStore:
    """10 s of data, a day of nothing, 10 s more."""
    store = ChunkStore()
    for offset in (*range(11), *range(DAY // NS + 10, DAY // NS + 21)):
        store.append_row("/value", {"log_time": START + offset * NS}, {"Scalars:scalars": [float(offset)]})
    store.flush()  # rows still being appended count as one span
    return store


def test_a_long_gap_takes_a_sliver_and_the_data_the_rest() -> None:
    store = two_bursts()
    low, high = store.time_range("log_time") or (0, 0)
    threshold = collapse_threshold(low, high, is_time=True)
    spans = store.coverage("log_time", threshold)
    assert spans == [(START, START + 10 * NS), (START + DAY + 10 * NS, START + DAY + 20 * NS)]
    axis = TimeAxis(low, high, spans, threshold)
    assert axis.gaps == [(START + 10 * NS, START + DAY + 10 * NS)]
    first_end, second_start = axis.position_of(START + 10 * NS), axis.position_of(START + DAY + 10 * NS)
    assert second_start - first_end == pytest.approx(GAP_SHARE)
    assert first_end == pytest.approx((1 - GAP_SHARE) / 2)  # each burst half of the rest
    for position in np.linspace(0.0, 1.0, 41):  # positions and times map both ways
        assert axis.position_of(axis.time_at(float(position))) == pytest.approx(float(position), abs=1e-9)
    assert axis.time_at(0.0) == low
    assert axis.time_at(1.0) == high
    assert axis.skip_gap(START + DAY // 2) == START + DAY + 10 * NS
    assert axis.skip_gap(START + 5 * NS) == START + 5 * NS


def test_short_gaps_and_sequences_stay_linear() -> None:
    axis = TimeAxis(
        START, START + 100 * NS, [(START, START + 40 * NS), (START + 42 * NS, START + 100 * NS)], 5 * NS
    )
    assert not axis.gaps
    assert axis.position_of(START + 25 * NS) == pytest.approx(0.25)
    assert collapse_threshold(0, 1000, is_time=False) == 50
    assert collapse_threshold(0, 10, is_time=False) == 10


@pytest.mark.gui
def test_the_gps_bag_on_ros_time_collapses_its_two_months(qtbot: QtBot) -> None:
    """Its header stamps lie two months before the receive times at which /vehicle_pose (stamped 0) sits:
    on a linear slider each would be a sliver at either end; collapsed, both get room, and the strip over
    the slider shows data at both ends with a gap marker between."""
    from rerun_bridge.viewer.sources import load_files

    store = load_files([GPS_BAG], warn=lambda _: None).store
    panel = TimePanel(store)
    qtbot.addWidget(panel)
    panel.resize(1000, 40)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_timeline("ros_time")
    assert len(panel.axis.gaps) == 1
    low, high = panel.axis.gaps[0]
    assert high - low > 50 * DAY
    panel.slider.setValue(panel.slider.maximum() // 4)  # a quarter in: inside the first burst of data
    stamped = store.time_range("ros_time", "/odometry")
    assert stamped is not None
    assert stamped[0] < panel.current_time < stamped[1]
    strip = qimage_rgb(panel.coverage_strip.grab().toImage())
    blue = (strip[..., 2] > 200) & (strip[..., 0] < 120)
    orange = (strip[..., 0] > 200) & (strip[..., 1] > 100) & (strip[..., 2] < 100)
    columns = np.nonzero(blue.any(axis=0))[0]
    width = strip.shape[1]
    assert columns.min() < width * 0.1
    assert columns.max() > width * 0.9
    gap_columns = np.nonzero(orange.any(axis=0))[0]
    assert len(gap_columns) > 0
    assert width * 0.3 < gap_columns.mean() < width * 0.7
