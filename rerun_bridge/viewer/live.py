"""Live data in the viewer: the window polls its store and redraws while producers append to it.

Producers (the live node's conversion worker, a test's thread) append to a
:class:`~rerun_bridge.store.chunk_store.ChunkStore` through a
:class:`~rerun_bridge.sinks.store.StoreSink` from their own threads; the store is safe for that. Qt widgets
may only be touched on the GUI thread, so nothing is pushed across threads: :class:`LiveUpdates` polls
the store's :attr:`~rerun_bridge.store.chunk_store.ChunkStore.revision` on a GUI-thread timer and calls
the window's reload when it changed. Polling also bounds the redraw rate however fast data arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final

from PyQt6 import QtCore

from rerun_bridge.store.chunk_store import ChunkStore

#: How often the window looks for new data (5 redraws a second at most).
DEFAULT_POLL_INTERVAL_MS: Final = 200


class LiveUpdates(QtCore.QObject):
    """Calls ``reload`` on the GUI thread whenever ``store`` changed; ``on_stop`` once ``stop`` is set."""

    def __init__(
        self,
        store: ChunkStore,
        reload: Callable[[], None],
        interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
        stop: threading.Event | None = None,
        on_stop: Callable[[], object] | None = None,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._reload = reload
        self._stop = stop
        self._on_stop = on_stop
        self._seen = store.revision
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    @property
    def up_to_date(self) -> bool:
        """Whether the last reload saw every change of the store so far."""
        return self._seen == self.store.revision

    def poll(self) -> None:
        """Reload if the store changed since the last poll; stop when asked to."""
        if self._stop is not None and self._stop.is_set():
            self._timer.stop()
            if self._on_stop is not None:
                self._on_stop()
            return
        revision = self.store.revision
        if revision != self._seen:
            self._seen = revision
            self._reload()
