"""``sinks.upload``: closed rotation parts uploaded to a real S3 server (SeaweedFS), verified before a
local part is deleted, and resumed after the server was stopped and started again."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from rerun_bridge.fleet.storage import s3_filesystem
from rerun_bridge.fleet.uploads import PartUploader
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.sinks.rotation import RotatingMcapSink, RotationPolicy
from rerun_bridge.sources.bag import open_bag
from test.fleet.seaweed import S3Server

pytestmark = pytest.mark.xdist_group("fleet")

STRING = MessageDefinition("ros2msg", "string data")
#: Seconds a test waits for the uploader to get past a server restart (a few on an idle machine).
RESUME_TIMEOUT_S = 120


def _bucket() -> str:
    name = f"parts-{uuid.uuid4().hex[:10]}"
    s3_filesystem().create_dir(name)
    return name


def _record_parts(sink: RotatingMcapSink, messages: int) -> None:
    """Incompressible chatter, flushed (and so rotated) every 20 messages, then closed."""
    chatter = sink.add_topic("/chatter", "std_msgs/msg/String", STRING)
    for index in range(messages):
        sink.write(chatter, 10 + index, 10 + index, b"\x00\x01\x00\x00" + os.urandom(200))
        if index % 20 == 19:
            sink.flush()
    sink.close()


def _object(bucket: str, key: str) -> bytes:
    with s3_filesystem().open_input_stream(f"{bucket}/{key}") as stream:
        return bytes(stream.read())


def test_closed_parts_are_uploaded_then_deleted(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = _bucket()
    warnings: list[str] = []
    uploader = PartUploader(f"s3://{bucket}/robot1", True, 0.2, warnings.append)
    sink = RotatingMcapSink(str(tmp_path / "run.mcap"), RotationPolicy(max_bytes=2_000), compression="none")
    sink.on_part_closed = uploader.submit
    originals: dict[str, bytes] = {}
    _record_parts(sink, 100)
    uploader.close()
    assert warnings == []
    assert len(sink.paths) >= 3
    assert uploader.uploaded == [f"s3://{bucket}/robot1/{path.name}" for path in sink.paths]
    for path in sink.paths:
        assert not path.exists()  # deleted: its upload was verified
        originals[path.name] = _object(bucket, f"robot1/{path.name}")
    # Every uploaded part is a whole MCAP file that opens on its own.
    total = 0
    for name, data in originals.items():
        copy = tmp_path / "fetched" / name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(data)
        with open_bag(copy) as bag:
            total += sum(1 for _ in bag.messages())
    assert total == 100


def test_upload_resumes_after_the_server_comes_back(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = _bucket()
    warnings: list[str] = []
    uploader = PartUploader(f"s3://{bucket}/robot2", False, 0.2, warnings.append)
    part = tmp_path / "run_0000.mcap"
    sink = RotatingMcapSink(str(tmp_path / "run.mcap"), RotationPolicy(max_bytes=1), compression="none")
    s3_server.stop()
    try:
        sink.on_part_closed = uploader.submit
        _record_parts(sink, 20)
        deadline = time.monotonic() + RESUME_TIMEOUT_S
        while not any("failed" in w for w in warnings):
            assert time.monotonic() < deadline, "no failure reported while the server was down"
            time.sleep(0.05)
    finally:
        s3_server.start()
    deadline = time.monotonic() + RESUME_TIMEOUT_S
    while len(uploader.uploaded) < len(sink.paths):
        assert time.monotonic() < deadline, warnings
        time.sleep(0.1)
    uploader.close()
    assert part.exists()  # delete_local is off: the part stays
    assert _object(bucket, f"robot2/{part.name}") == part.read_bytes()
    assert any(w.endswith("uploaded after retrying") for w in warnings)
    assert uploader.left_behind == []


def test_parts_left_behind_at_shutdown_are_named(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    part = tmp_path / "run.mcap"
    part.write_bytes(b"closed part")
    # The storage unreachable: an endpoint where nothing listens.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    uploader = PartUploader("s3://parts/robot3", True, 30.0, warnings.append)
    uploader.submit(part)
    uploader.close()
    assert uploader.left_behind == [part]
    assert part.exists()  # never deleted without a verified upload
    assert f"kept on disk: {part}" in warnings[-1]


def test_a_node_started_again_uploads_what_its_predecessor_left(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts closed while the storage was unreachable and still there at shutdown are listed in the
    ledger; the next uploader with that ledger uploads them first, then its own, and empties the list."""
    bucket = _bucket()
    ledger = tmp_path / ".rerun_bridge_uploads_pending"
    warnings: list[str] = []
    reachable = os.environ["AWS_ENDPOINT_URL"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    first = PartUploader(f"s3://{bucket}/robot4", True, 30.0, warnings.append, ledger=ledger)
    sink = RotatingMcapSink(str(tmp_path / "run.mcap"), RotationPolicy(max_bytes=1), compression="none")
    sink.on_part_closed = first.submit
    _record_parts(sink, 40)
    first.close()
    left = list(sink.paths)
    assert len(left) >= 2
    assert first.left_behind == left
    assert ledger.read_text().splitlines() == [str(path) for path in left]

    monkeypatch.setenv("AWS_ENDPOINT_URL", reachable)
    ledger.write_text(ledger.read_text() + f"{tmp_path / 'deleted_meanwhile.mcap'}\n")
    contents = {path.name: path.read_bytes() for path in left}
    second = PartUploader(f"s3://{bucket}/robot4", True, 30.0, warnings.append, ledger=ledger)
    own = tmp_path / "next_0000.mcap"
    own.write_bytes(b"the new run's part")
    second.submit(own)
    second.close()
    assert second.resumed == left  # the part deleted meanwhile is dropped from the list
    assert second.uploaded == [f"s3://{bucket}/robot4/{path.name}" for path in [*left, own]]
    assert second.left_behind == []
    assert ledger.read_text() == ""
    for name, data in contents.items():
        assert _object(bucket, f"robot4/{name}") == data
    assert not any(path.exists() for path in [*left, own])  # deleted after verified uploads
    assert any("uploading first what an earlier run left" in w for w in warnings)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
