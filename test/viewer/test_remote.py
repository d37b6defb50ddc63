"""``rerun-bridge view --connect``: the viewer on a bridge's stream, the bridge's stream sink serving known
rows from a process of its own on loopback. The screenshot waits for the data and shows it; a wrong or
missing token is refused; the window says it is connected, follows the live data and says when the
link is gone."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt6 import QtGui
from pytestqt.qtbot import QtBot

from rerun_bridge.sinks.store import live_store
from rerun_bridge.sources.stream_client import ClientSettings, Connection
from rerun_bridge.viewer.remote import ConnectionStatus, follow_into
from rerun_bridge.viewer.window import ViewerWindow
from test.network import free_port, start_stream_server, wait_for_line
from test.stream_server import START_NS, STEP_NS
from test.viewer.conftest import qimage_rgb, red_pixels

pytestmark = pytest.mark.gui

RERUN_BRIDGE = str(Path(sys.executable).parent / "rerun-bridge")


def view(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RERUN_BRIDGE, "view", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_screenshot_of_a_stream_shows_its_data_and_bad_tokens_are_refused(tmp_path: Path) -> None:
    port = free_port()
    server = start_stream_server(port, 30, 100, "--token", "t0k")
    try:
        assert wait_for_line(server, "published 29")
        address = f"grpc://127.0.0.1:{port}"
        for token in (("--token", "wrong"), ()):
            refused = view("--connect", address, *token, "--screenshot", str(tmp_path / "no.png"))
            assert refused.returncode == 2
            assert "authentication failed" in refused.stderr
            assert not (tmp_path / "no.png").exists()
        shot = tmp_path / "live.png"
        # The server published its rows before the refused tries, which take seconds each on a loaded
        # machine: a history longer than the test keeps them within reach (10 s did not, under load).
        history = ("--history", "3600")
        shown = view("--connect", address, "--token", "t0k", *history, "--screenshot", str(shot))
        assert shown.returncode == 0, shown.stderr
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    picture = qimage_rgb(QtGui.QImage(str(shot)))
    assert red_pixels(picture).sum() > 20_000  # the red camera image, drawn (history on connecting)


@pytest.mark.parametrize("address", ["http://127.0.0.1:9877", "127.0.0.1:notaport"])
def test_a_malformed_address_is_a_wrong_argument(tmp_path: Path, address: str) -> None:
    """It killed the follower's thread with a pyarrow traceback, and the window (or --screenshot, for 30 s)
    waited on a connection that could never be made."""
    result = view("--connect", address, "--screenshot", str(tmp_path / "shot.png"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {address}: not a bridge stream address"), result.stderr
    assert "Traceback" not in result.stderr


def test_window_shows_the_connection_follows_live_data_and_notices_a_cut(qtbot: QtBot) -> None:
    port = free_port()
    server = start_stream_server(port, 40, 50)
    store = live_store()
    follower = follow_into(store, ClientSettings(f"127.0.0.1:{port}"), history_s=10)
    try:
        window = ViewerWindow(store)
        qtbot.addWidget(window)
        status = ConnectionStatus(window, follower)
        window.show()
        window.enable_live(interval_ms=50)
        assert wait_for_line(server, "published 39")
        last = START_NS + 39 * STEP_NS
        qtbot.waitUntil(lambda: window.time_panel.current_time == last, timeout=20_000)
        assert window.time_panel.following
        qtbot.waitUntil(lambda: "lag" in status.label.text(), timeout=5_000)
        assert status.label.text().startswith(f"connected · 127.0.0.1:{port}")
        server.send_signal(signal.SIGKILL)  # the robot's link goes away
        server.wait(timeout=30)
        qtbot.waitUntil(lambda: follower.state().connection is Connection.RECONNECTING, timeout=20_000)
        qtbot.waitUntil(lambda: status.label.text().startswith("reconnecting"), timeout=5_000)
        assert "1 reconnection" in status.label.text()
        assert window.time_panel.current_time == last  # what arrived stays on screen
    finally:
        follower.stop()
        if server.poll() is None:
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)


def test_watching_an_address_where_no_bridge_serves_says_why(
    qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`view --connect` to a port nobody serves said only "no data ... (reconnecting)", where receive
    says the connection was refused (audit): the last connection error is said."""
    from rerun_bridge.viewer.remote import RemoteOptions, run_remote_viewer

    port = free_port()
    options = RemoteOptions(screenshot=tmp_path / "none.png", wait_s=3.0)
    assert run_remote_viewer(ClientSettings(f"127.0.0.1:{port}"), options) == 1
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: no data")]
    assert line.startswith(f"error: no data from 127.0.0.1:{port} within 3 s (reconnecting: ")
    assert "no bridge stream there: connection refused; is the bridge running with --serve" in line
    assert "gRPC" not in line  # gRPC's debug context (the message twice, "Client context: ...") left out
    assert not (tmp_path / "none.png").exists()
