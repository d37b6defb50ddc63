"""``sinks.upload`` in the live node: its rotation parts land in a real S3 server (SeaweedFS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from rerun_bridge.fleet.storage import location_of, s3_filesystem
from test.conftest import verify_rrd
from test.fleet.seaweed import S3Server, start_weed
from test.live.conftest import LiveEnv, stop, wait_all

pytestmark = pytest.mark.xdist_group("live")


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_weed(tmp_path_factory.mktemp("weed_live"))
    try:
        yield server
    finally:
        server.stop()


def test_rotation_parts_are_uploaded(
    live: LiveEnv, upload_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in upload_server.environment().items():
        monkeypatch.setenv(key, value)  # this process reads the bucket with the same settings
    live.env.update(upload_server.environment())
    s3_filesystem().create_dir("robots")
    config = live.tmp / "upload.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sinks": {
                    "rrd": {"path": str(live.tmp / "run.rrd"), "rotate_seconds": 1.5},
                    "mcap": {"path": str(live.tmp / "run.mcap"), "rotate_seconds": 1.5},
                    "upload": {"prefix": "s3://robots/r1", "retry_seconds": 0.5},
                }
            }
        )
    )
    bridge = live.bridge("--config", str(config))
    wait_all([live.publish("imu", 150, 50)])
    stop(bridge)
    rrd_parts = sorted(live.tmp.glob("run_*.rrd"))
    parts = [*rrd_parts, *sorted(live.tmp.glob("run_*.mcap"))]
    assert len(rrd_parts) >= 2
    assert len(parts) >= 4
    for part in parts:
        remote = location_of(f"s3://robots/r1/{part.name}")
        with remote.filesystem.open_input_stream(remote.path) as stream:
            assert stream.read() == part.read_bytes(), part.name
    for part in rrd_parts:
        verify_rrd(part)  # each uploaded part is a whole .rrd (the same bytes)
    assert (live.tmp / ".rerun_bridge_uploads_pending").read_text() == ""  # nothing left to upload

    # Started again with the same outputs (a restart after a crash): the first run's parts stay as they
    # are, the new run's are numbered after them, and those are uploaded too.
    first_run = {part.name: part.read_bytes() for part in parts}
    again = live.bridge("--config", str(config))
    wait_all([live.publish("imu", 60, 50)])
    stop(again)
    assert {part.name: part.read_bytes() for part in parts} == first_run
    new_parts = sorted(set(live.tmp.glob("run_*.rrd")) - set(rrd_parts))
    assert new_parts
    assert min(int(p.stem.rsplit("_", 1)[1]) for p in new_parts) == len(rrd_parts)
    for part in new_parts:
        remote = location_of(f"s3://robots/r1/{part.name}")
        with remote.filesystem.open_input_stream(remote.path) as stream:
            assert stream.read() == part.read_bytes(), part.name
