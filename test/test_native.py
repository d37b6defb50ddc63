"""The C extensions are used only when built for the API the Python expects (rerun_bridge/native.py)."""

from __future__ import annotations

import logging
from types import ModuleType

import pytest

from rerun_bridge.cdr import _marker_walk
from rerun_bridge.cdr.marker_scan import MARKER_WALK_API
from rerun_bridge.convert import _cloud_native
from rerun_bridge.convert.pointcloud import CLOUD_NATIVE_API
from rerun_bridge.native import speaks


@pytest.mark.parametrize(
    ("extension", "api_version"),
    [(_cloud_native, CLOUD_NATIVE_API), (_marker_walk, MARKER_WALK_API)],
    ids=["cloud", "marker walk"],
)
def test_the_built_extensions_speak_the_api_their_callers_need(
    extension: ModuleType, api_version: int
) -> None:
    assert speaks(extension, api_version)


def test_an_extension_from_other_sources_is_refused_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """An old ``.so`` left beside newer sources (an editable install not set up again)."""
    old = ModuleType("rerun_bridge.convert._cloud_native")  # a build from before API_VERSION existed
    newer = ModuleType("rerun_bridge.cdr._marker_walk")
    newer.API_VERSION = 2  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="rerun_bridge.native"):
        assert not speaks(old, api_version=1)
        assert not speaks(newer, api_version=1)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "rerun_bridge.convert._cloud_native was built from other sources (API None" in messages[0]
    assert "(API 2, this package needs 1): re-run scripts/setup.sh" in messages[1]
