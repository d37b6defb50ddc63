"""``rerun-bridge view --connect grpc://ROBOT:9877``: the viewer on a bridge's network stream.

A :class:`~rerun_bridge.sources.stream_client.StreamFollower` fills a live store (bounded like the live
node's: static data kept, the oldest temporal data evicted beyond 1 GiB) from its own thread: the last
``--history`` seconds first, then live, and across network cuts what was missed. The window is the live
window of the node (follow-live, scrubbing back, the live toggle); its status bar says whether it is
connected and how far behind the robot it is. With ``--screenshot`` it waits for data first.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pyarrow as pa
from PyQt6 import QtCore, QtWidgets

from rerun_bridge.blueprint.library import resolve
from rerun_bridge.blueprint.model import Node
from rerun_bridge.errors import BridgeError
from rerun_bridge.sinks.store import live_store
from rerun_bridge.sources.stream_client import ClientSettings, Connection, FollowerState, StreamFollower
from rerun_bridge.store.chunk_store import ChunkStore

if TYPE_CHECKING:
    from rerun_bridge.viewer.window import ViewerWindow

#: How often the status bar is refreshed.
STATUS_INTERVAL_MS: Final = 250
EXIT_REFUSED: Final = 2
EXIT_NO_DATA: Final = 1


@dataclass(frozen=True, slots=True)
class RemoteOptions:
    history_s: float = 10.0
    blueprint: str | None = None
    screenshot: Path | None = None
    #: How long ``screenshot`` waits for the first temporal chunk.
    wait_s: float = 30.0
    size: tuple[int, int] = (1280, 720)


def status_text(address: str, state: FollowerState) -> str:
    """The status bar's line: connection, lag, how much arrived."""
    text = f"{state.connection.value} · {address}"
    lag = state.lag_s
    if state.connection is Connection.CONNECTED and lag is not None:
        text += f" · lag {lag:.2f} s"
    text += f" · {state.chunks} chunks"
    if state.cuts:
        text += f" · {state.cuts} reconnection{'s' if state.cuts > 1 else ''}"
    if state.message and state.connection is not Connection.CONNECTED:
        text += f" · {state.message}"
    return text


class ConnectionStatus(QtCore.QObject):
    """Shows the follower's state in the window's status bar, on a GUI-thread timer."""

    def __init__(self, window: QtWidgets.QMainWindow, follower: StreamFollower) -> None:
        super().__init__(window)
        self.follower = follower
        self.label = QtWidgets.QLabel()
        bar = window.statusBar()
        if bar is not None:
            bar.addPermanentWidget(self.label, 1)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(STATUS_INTERVAL_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        self.label.setText(status_text(self.follower.settings.address, self.follower.state()))


def follow_into(store: ChunkStore, settings: ClientSettings, history_s: float) -> StreamFollower:
    """A started follower that appends every chunk it receives to ``store``."""

    def append(entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        store.append_chunk(entity_path, batch, static=static)

    return StreamFollower(settings, append, history_s).start()


def run_remote_viewer(settings: ClientSettings, options: RemoteOptions) -> int:
    """Open the window on the stream; with ``options.screenshot``, write that PNG once data is there."""
    from rerun_bridge.viewer.app import ensure_application
    from rerun_bridge.viewer.window import ViewerWindow

    application = ensure_application()
    layout: Node | None = None
    try:
        layout = resolve(options.blueprint).root if options.blueprint else None
    except BridgeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    store = live_store()
    follower = follow_into(store, settings, options.history_s)
    window = ViewerWindow(
        store, layout, title=f"rerun_bridge: {settings.address}", scenario=options.blueprint
    )
    window.resize(*options.size)
    status = ConnectionStatus(window, follower)
    try:
        if options.screenshot is not None:
            return _screenshot_when_ready(window, follower, status, options)
        window.enable_live()
        window.show()
        watch = RefusalWatch(window, follower)
        code = application.exec()
        return EXIT_REFUSED if watch.refused else code
    finally:
        follower.stop()


class RefusalWatch(QtCore.QObject):
    """A refused token is final: says so on stderr and closes the window (the command exits non-zero)."""

    def __init__(self, window: QtWidgets.QMainWindow, follower: StreamFollower) -> None:
        super().__init__(window)
        self.refused = False
        self._window = window
        self._follower = follower
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(STATUS_INTERVAL_MS)

    def check(self) -> None:
        state = self._follower.state()
        if state.connection is Connection.REFUSED and not self.refused:
            self.refused = True
            print(f"error: {state.message}", file=sys.stderr)
            self._window.close()


def _screenshot_when_ready(
    window: ViewerWindow, follower: StreamFollower, status: ConnectionStatus, options: RemoteOptions
) -> int:
    from rerun_bridge.viewer.app import save_screenshot

    application = QtWidgets.QApplication.instance()
    deadline = time.monotonic() + options.wait_s
    while follower.state().temporal_chunks == 0 and time.monotonic() < deadline:
        if follower.state().connection is Connection.REFUSED:
            print(f"error: {follower.state().message}", file=sys.stderr)
            return EXIT_REFUSED
        time.sleep(0.05)
    if follower.state().temporal_chunks == 0:
        state = follower.state()
        # The last connection error says why (a connection refused: no bridge there), as receive says it.
        why = f": {state.message}" if state.message else ""
        print(
            f"error: no data from {follower.settings.address} within {options.wait_s:g} s "
            f"({state.connection.value}{why})",
            file=sys.stderr,
        )
        return EXIT_NO_DATA
    time.sleep(0.3)  # the rest of the first burst (history, other entities)
    window.enable_live()
    window.show()
    if application is not None:
        application.processEvents()
    status.refresh()
    assert options.screenshot is not None
    return save_screenshot(window, options.screenshot)
