"""Following a bridge's stream across a network cut: the server (a real stream sink in its own process)
keeps publishing while a proxy between it and the follower is cut; once the link is back the follower has
caught up, every row exactly once."""

from __future__ import annotations

import signal

import pyarrow as pa

from rerun_bridge.sources.stream_client import ChunkHandler, ClientSettings, Connection, StreamFollower
from test.network import CuttableProxy, free_port, start_stream_server, wait_for, wait_for_line


def speeds_into(values: list[float]) -> ChunkHandler:
    def on_chunk(entity_path: str, _static: bool, batch: pa.RecordBatch) -> None:
        if entity_path == "/speed":
            values.extend(row[0] for row in batch.column("Scalars:scalars").to_pylist())

    return on_chunk


def test_after_a_cut_the_follower_catches_up() -> None:
    port = free_port()
    server = start_stream_server(port, 150, 50)
    proxy = CuttableProxy(port)
    values: list[float] = []
    follower = StreamFollower(ClientSettings(f"127.0.0.1:{proxy.port}"), speeds_into(values), history_s=30)
    try:
        follower.start()
        assert wait_for(lambda: len(values) >= 10)
        proxy.cut()  # the Wi-Fi drops while the robot keeps publishing
        assert wait_for(lambda: follower.state().connection is Connection.RECONNECTING)
        assert wait_for_line(server, "published 100")
        assert len(values) < 100
        proxy.restore()
        assert wait_for_line(server, "published 149")
        assert wait_for(lambda: len(values) >= 150)
        assert values == [float(i) for i in range(150)]
        state = follower.state()
        assert state.connection is Connection.CONNECTED
        assert state.cuts == 1
    finally:
        follower.stop()
        proxy.cut()
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)


def test_a_new_client_gets_recent_history_and_static_data() -> None:
    port = free_port()
    server = start_stream_server(port, 20, 100, "--history", "60")
    try:
        assert wait_for_line(server, "published 19")
        with_history: list[float] = []
        entities: list[str] = []
        follower = StreamFollower(
            ClientSettings(f"127.0.0.1:{port}"), speeds_into(with_history), history_s=60
        )
        follower.start()
        assert wait_for(lambda: len(with_history) >= 20)
        follower.stop()
        assert with_history == [float(i) for i in range(20)]

        def record(entity_path: str, static: bool, _batch: pa.RecordBatch) -> None:
            entities.append(entity_path)

        live_only = StreamFollower(ClientSettings(f"127.0.0.1:{port}"), record, history_s=0).start()
        assert wait_for(lambda: live_only.state().chunks >= 1)
        live_only.stop()
        assert entities == ["/tf_static/camera"]  # static data only: nothing live came since
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)


def test_a_link_gone_silent_is_noticed_and_the_follower_catches_up() -> None:
    """No reset, no error: the heartbeats stop arriving, the follower gives the call up and reconnects."""
    port = free_port()
    server = start_stream_server(port, 200, 25)
    proxy = CuttableProxy(port)
    values: list[float] = []
    follower = StreamFollower(ClientSettings(f"127.0.0.1:{proxy.port}"), speeds_into(values), history_s=30)
    try:
        follower.start()
        assert wait_for(lambda: len(values) >= 10)
        proxy.freeze()
        assert wait_for(lambda: follower.state().cuts == 1, timeout=30)
        assert wait_for_line(server, "published 199")
        assert wait_for(lambda: len(values) >= 200)
        assert values == [float(i) for i in range(200)]
    finally:
        follower.stop()
        proxy.cut()
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
