"""Helpers for tests that talk over loopback: free ports, a real headless Rerun viewer, waiting on a
condition instead of sleeping a guessed time."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import rerun.chunk as rrc
import rerun_cli  # type: ignore[import-untyped]

from rerun_bridge.store.rrd_file import scan_chunks

# The native binary (bin/rerun is a Python wrapper: a signal to it would leave the viewer running).
RERUN_BINARY = Path(rerun_cli.__file__).parent / "rerun"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Viewer:
    """A headless Rerun viewer on loopback saving what it receives."""

    def __init__(self, port: int, output: Path) -> None:
        self.output = output
        self.process = subprocess.Popen(
            [str(RERUN_BINARY), "--bind", "127.0.0.1", "--port", str(port), "--save", str(output)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for line in self.process.stderr or ():
            if "Listening for gRPC connections" in line:
                break

    def stop(self, signum: int = signal.SIGINT) -> None:
        self.process.send_signal(signum)
        self.process.wait(timeout=30)

    def chunks(self) -> list[tuple[str, bool, list[float]]]:
        """(entity, static, first scalar of each row or []) of every chunk the viewer saved so far. A file
        still being written (or cut by a kill) is read up to its last whole message, with static False."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the viewer's --save file has no footer
            try:
                return [
                    (str(chunk.entity_path), bool(chunk.is_static), _first_scalars(chunk.to_record_batch()))
                    for chunk in rrc.RrdReader(str(self.output)).stream().to_chunks()
                ]
            except (RuntimeError, ValueError):
                if not self.output.exists():
                    return []
                return [
                    (chunk.entity_path, False, _first_scalars(chunk.batch))
                    for chunk in scan_chunks(self.output)
                ]

    def blueprint_application_ids(self) -> list[str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [str(entry.application_id) for entry in rrc.RrdReader(str(self.output)).blueprints()]


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _first_scalars(batch: pa.RecordBatch) -> list[float]:
    if "Scalars:scalars" not in batch.schema.names:
        return []
    return [row[0] for row in batch.column("Scalars:scalars").to_pylist()]


class CuttableProxy:
    """A TCP proxy on loopback whose link can be cut and restored, like a robot's Wi-Fi: ``cut`` closes
    every connection and stops listening; ``restore`` listens again on the same port."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._frozen = threading.Event()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def freeze(self) -> None:
        """The link goes silent without closing (Wi-Fi out of range): the open connections stop carrying
        bytes; new ones work."""
        with self._lock:
            frozen, self._frozen = self._frozen, threading.Event()
        frozen.set()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close alone does not
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _address = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._connections += [downstream, upstream]
                frozen = self._frozen
            for source, target in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=_pump, args=(source, target, frozen), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket, frozen: threading.Event) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(1 << 16):
            if frozen.is_set():
                continue  # swallowed: the link is silent
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def start_stream_server(port: int, count: int, rate_hz: float, *extra: str) -> subprocess.Popen[str]:
    """``python -m test.stream_server`` (a real stream sink serving known rows), once it listens."""
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-m", "test.stream_server", str(port), str(count), str(rate_hz), *extra],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in server.stdout or ():
        if line.startswith("serving"):
            break
    return server


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 60.0) -> bool:
    """Read the process's stdout up to a line containing ``text``."""
    deadline = time.monotonic() + timeout
    for line in process.stdout or ():
        if text in line:
            return True
        if time.monotonic() > deadline:
            return False
    return False
