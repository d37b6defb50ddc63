"""The laptop's side of a stream, and a second server on a taken port, against a real stream server in its
own process (test.stream_server): ``receive`` never overwrites an earlier recording, SIGTERM ends a
recording as Ctrl-C does, and a port already served on is one error naming it."""

from __future__ import annotations

import http.server
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rerun_bridge.blueprint.library import resolve
from rerun_bridge.errors import RecordingError
from rerun_bridge.sinks.stream import HistoryBounds, StreamSecurity, StreamSink
from test.blueprint.rbl_reader import rbl_views, read_rbl
from test.conftest import rrd_column, verify_rrd
from test.network import free_port, start_stream_server, wait_for, wait_for_line

RERUN_BRIDGE = str(Path(sys.executable).parent / "rerun-bridge")


@pytest.fixture
def served_port() -> Iterator[int]:
    port = free_port()
    server = start_stream_server(port, 200, 50)
    try:
        yield port
    finally:
        server.kill()
        server.wait(timeout=30)


def _receive(port: int, output: Path, *args: str) -> subprocess.Popen[str]:
    command = [RERUN_BRIDGE, "receive", f"127.0.0.1:{port}", "-o", str(output), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_receive_writes_beside_an_earlier_recording(served_port: int, tmp_path: Path) -> None:
    earlier = tmp_path / "robot.rrd"
    earlier.write_bytes(b"an earlier recording")
    received = _receive(served_port, earlier, "--duration", "1")
    out, err = received.communicate(timeout=120)
    assert received.returncode == 0, err
    assert earlier.read_bytes() == b"an earlier recording"  # untouched
    written = tmp_path / "robot_0001.rrd"
    assert f"{earlier} exists (an earlier recording): writing {written} instead" in err
    assert f"into {written}" in out
    verify_rrd(written)


def test_a_received_recording_carries_a_layout_of_what_arrived(served_port: int, tmp_path: Path) -> None:
    """Opened in Rerun's viewer, a received file showed Rerun's own guess of a layout: it now gets the
    bridge's, made of what arrived as the file closes, as `convert` embeds one; `--blueprint` chooses."""
    default = tmp_path / "default.rrd"
    received = _receive(served_port, default, "--duration", "1")
    _out, err = received.communicate(timeout=120)
    assert received.returncode == 0, err
    verify_rrd(default)
    views = {(view.class_identifier, view.origin) for view in rbl_views(read_rbl(default).root)}
    assert {("2D", "/camera"), ("TimeSeries", "/speed")} <= views, views

    scenario = tmp_path / "perception.rrd"
    received = _receive(served_port, scenario, "--duration", "1", "--blueprint", "perception")
    _out, err = received.communicate(timeout=120)
    assert received.returncode == 0, err
    names = {view.name for view in rbl_views(read_rbl(scenario).root)}
    assert names == {view.name for view in resolve("perception").views()}

    unknown = _receive(served_port, tmp_path / "x.rrd", "--blueprint", "nosuch")
    _out, err = unknown.communicate(timeout=120)
    assert unknown.returncode == 2
    assert "unknown blueprint 'nosuch'" in err
    assert not (tmp_path / "x.rrd").exists()


def test_sigterm_ends_a_recording_whole(served_port: int, tmp_path: Path) -> None:
    output = tmp_path / "term.rrd"
    received = _receive(served_port, output)
    assert received.stderr is not None
    assert "receiving from" in received.stderr.readline()
    time.sleep(1.0)  # a few rows arrive
    received.send_signal(signal.SIGTERM)
    out, _err = received.communicate(timeout=60)
    assert received.returncode == 128 + signal.SIGTERM
    assert "received" in out
    verify_rrd(output)  # footer and all, as after Ctrl-C


def test_a_port_already_served_on_is_one_error_naming_it(served_port: int) -> None:
    with pytest.raises(RecordingError, match=f"cannot serve on 127.0.0.1:{served_port}"):
        StreamSink("127.0.0.1", served_port, StreamSecurity(), HistoryBounds(1.0))


def test_no_bridge_listening_is_exit_1_and_one_line_naming_the_address(tmp_path: Path) -> None:
    """Nothing listening exited 2 (a usage error; the docs say 1 when nothing arrived) with gRPC's debug
    text (the message twice, "gRPC client debug context: ...")."""
    port = free_port()
    received = _receive(port, tmp_path / "none.rrd")
    out, err = received.communicate(timeout=60)
    assert received.returncode == 1, err
    assert err.splitlines() == [
        f"error: 127.0.0.1:{port}: no bridge stream there: connection refused; is the bridge running with "
        "--serve on that address, and its port reachable from here?"
    ]
    assert out == ""  # one line in all ("received 0 chunks; nothing written" came after it: audit)
    assert not (tmp_path / "none.rrd").exists()


def test_a_port_that_is_not_a_bridge_is_said_so_without_grpc_text(tmp_path: Path) -> None:
    """A web server on the port: gRPC's "Failed parsing HTTP/2 (Expected SETTINGS frame ...)" came through
    whole, with the hint to start the bridge (audit)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        received = _receive(server.server_address[1], tmp_path / "web.rrd")
        _out, err = received.communicate(timeout=60)
    finally:
        server.shutdown()
    assert received.returncode == 1, err
    assert err.splitlines() == [
        f"error: 127.0.0.1:{server.server_address[1]}: cannot read a bridge stream there: the port answers, "
        "but not with gRPC (another server listens there)"
    ]


def test_a_stream_cut_off_midway_keeps_what_arrived_and_says_so(tmp_path: Path) -> None:
    """The bridge gone in the middle of a stream (killed, or stopped without waiting for a stalled
    client): receive said "no bridge stream there" and exited 2 (audit). It keeps the recording whole,
    says the stream broke off, and exits 1."""
    port = free_port()
    server = start_stream_server(port, 10_000, 50)
    try:
        output = tmp_path / "cut.rrd"
        received = _receive(port, output)
        assert received.stderr is not None
        assert "receiving from" in received.stderr.readline()
        time.sleep(1.0)  # rows arrive
        server.kill()
        out, err = received.communicate(timeout=60)
    finally:
        server.kill()
        server.wait(timeout=30)
    assert received.returncode == 1, err
    assert "the stream broke off after" in err
    assert "no bridge stream there" not in err
    assert out.startswith("received ")
    verify_rrd(output)


def test_a_taken_port_is_said_without_grpcs_own_log_lines(served_port: int) -> None:
    """gRPC wrote "WARNING: All log messages before absl::InitializeLog()..." and "E0000 ... Failed to add
    port" before the bridge's one error (audit): the operating system's reason is given instead."""
    server = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from rerun_bridge.sinks.stream import StreamSink\nStreamSink('127.0.0.1', {served_port})",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert server.returncode != 0
    assert f"cannot serve on 127.0.0.1:{served_port}: Address already in use" in server.stderr
    assert "absl" not in server.stderr
    assert "E0000" not in server.stderr


@pytest.mark.slow
def test_a_client_that_stops_reading_keeps_its_connection_and_its_drops_are_counted(tmp_path: Path) -> None:
    """A `receive` stopped (SIGSTOP, as a suspended laptop) was cut after about 23 s: gRPC gives every
    server connection a 20 s TCP_USER_TIMEOUT, long before the client's queue filled, so nothing was
    dropped or counted and the resumed client could not go on. Now its bounded queue drops the oldest
    chunks, the bridge names the client and counts them, and the client continues when it reads again."""
    port = free_port()
    server = start_stream_server(port, 100_000, 50, "--noise")
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True).start()
    output = tmp_path / "stalled.rrd"
    received = _receive(port, output)
    try:
        assert received.stderr is not None
        assert "receiving from" in received.stderr.readline()
        received.send_signal(signal.SIGSTOP)
        assert wait_for(lambda: any("stopped reading" in line for line in lines), timeout=60)
        time.sleep(25)  # longer than gRPC's 20 s, which cut the connection
        dropped_while_stalled = _dropped(lines)
        assert dropped_while_stalled > 0
        resumed_at = _published(lines)
        received.send_signal(signal.SIGCONT)
        # Reading again, the same connection carries the rows published after it resumed.
        assert wait_for(lambda: _published(lines) > resumed_at + 100, timeout=60)
        received.send_signal(signal.SIGTERM)
        out, err = received.communicate(timeout=60)
    finally:
        received.kill()
        server.kill()
        server.wait(timeout=30)
    assert received.returncode == 128 + signal.SIGTERM, err
    assert "broke off" not in err
    stalled_line = next(line for line in lines if "stopped reading" in line)
    assert stalled_line.startswith("stream client ipv4:127.0.0.1:")  # the client, named
    verify_rrd(output)
    assert out.startswith("received ")
    assert max(row[0] for row in rrd_column(output, "/speed", "Scalars:scalars")) > resumed_at


def _published(lines: list[str]) -> int:
    """The index of the newest row the server published."""
    counts = [int(line.split()[1]) for line in list(lines) if line.startswith("published ")]
    return counts[-1] if counts else -1


def _dropped(lines: list[str]) -> int:
    """The server's dropped_chunks as its newest ``published i dropped N`` line says."""
    counts = [int(line.split()[-1]) for line in list(lines) if line.startswith("published ")]
    return counts[-1] if counts else 0


def test_a_late_receive_starts_with_the_bridges_recent_history(tmp_path: Path) -> None:
    """A receive started after the bridge had been streaming got no history (only view --connect did):
    it gets the last --history seconds (default 10, as view --connect), and none with --history 0."""
    port = free_port()
    server = start_stream_server(port, 100, 100)
    try:
        assert wait_for_line(server, "published 99")
        late = tmp_path / "late.rrd"
        received = _receive(port, late, "--duration", "1")
        _out, err = received.communicate(timeout=60)
        assert received.returncode == 0, err
        assert [row[0] for row in rrd_column(late, "/speed", "Scalars:scalars")] == [
            float(i) for i in range(100)
        ]
        none = tmp_path / "none.rrd"
        received = _receive(port, none, "--duration", "1", "--history", "0")
        _out, err = received.communicate(timeout=60)
        assert received.returncode == 0, err  # the static transform arrived
        assert rrd_column(none, "/speed", "Scalars:scalars") == []
    finally:
        server.kill()
        server.wait(timeout=30)
