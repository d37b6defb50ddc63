"""The live node's closed rotation parts uploaded to an ``s3://`` prefix (``sinks.upload``).

One background thread uploads the parts in the order they closed, each in parts of a multipart upload
that only publishes the object once complete (:func:`~rerun_bridge.fleet.storage.publish_file`), and
checks the object's size after. When the storage cannot be reached, the part is tried again every
``retry_seconds`` until it can (one warning per outage, one note when it is back), and later parts
wait their turn. A local part is deleted only when ``delete_local`` is set and only after its upload
was verified. At shutdown each part still waiting gets one more try; those that fail are named in a
warning and stay on disk.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

from rerun_bridge.fleet.storage import Location, StorageError, location_of, publish_file


class PartUploader:
    """Uploads closed parts to ``prefix`` (``s3://bucket/folder``) under their own file names."""

    def __init__(
        self, prefix: str, delete_local: bool, retry_seconds: float, warn: Callable[[str], object]
    ) -> None:
        self.prefix: Location = location_of(prefix)
        self.delete_local = delete_local
        self.retry_seconds = retry_seconds
        self.warn = warn
        #: URIs of the parts uploaded and verified, in order.
        self.uploaded: list[str] = []
        #: Local parts that could not be uploaded before :meth:`close` gave up on them.
        self.left_behind: list[Path] = []
        self._parts: queue.Queue[Path | None] = queue.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="part-upload", daemon=True)
        self._thread.start()

    def submit(self, part: Path) -> None:
        """A part that was closed and will not change again (thread-safe)."""
        self._parts.put(part)

    def close(self) -> None:
        """Upload what is queued (one more try each when the storage is unreachable), then stop."""
        self._closing.set()
        self._parts.put(None)
        self._thread.join()
        if self.left_behind:
            names = ", ".join(str(p) for p in self.left_behind)
            self.warn(f"sinks.upload: not uploaded to {self.prefix.uri}, kept on disk: {names}")

    def _run(self) -> None:
        while (part := self._parts.get()) is not None:
            self._upload_until_done(part)

    def _upload_until_done(self, part: Path) -> None:
        target = self.prefix.join(part.name)
        failing = False
        while True:
            try:
                publish_file(part, target)
            except (StorageError, OSError) as err:
                if self._closing.is_set():
                    self.left_behind.append(part)
                    return
                if not failing:
                    self.warn(
                        f"sinks.upload: {part} -> {target.uri} failed ({err}); "
                        f"retrying every {self.retry_seconds:g} s"
                    )
                    failing = True
                self._closing.wait(self.retry_seconds)
                continue
            break
        if failing:
            self.warn(f"sinks.upload: {target.uri} uploaded after retrying")
        self.uploaded.append(target.uri)
        if self.delete_local:
            part.unlink(missing_ok=True)
