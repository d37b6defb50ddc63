"""The live node's closed rotation parts uploaded to an ``s3://`` prefix (``sinks.upload``).

One background thread uploads the parts in the order they closed, each in parts of a multipart upload
that only publishes the object once complete (:func:`~rerun_bridge.fleet.storage.publish_file`), and
checks the object's size after. When the storage cannot be reached, the part is tried again every
``retry_seconds`` until it can (one warning per outage, one note when it is back), and later parts
wait their turn. A local part is deleted only when ``delete_local`` is set and only after its upload
was verified. At shutdown each part still waiting gets one more try; those that fail are named in a
warning and stay on disk.

With a ``ledger`` file, the parts not yet uploaded are listed there (a part is added when it closes and
removed once its upload is verified), so a node started later with the same outputs uploads what its
predecessor left (a crash, a shutdown during an outage) before its own parts.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from rerun_bridge.fleet.storage import Location, StorageError, location_of, publish_file

#: The file beside the live node's outputs that lists the parts still to upload.
UPLOAD_LEDGER = ".rerun_bridge_uploads_pending"


class PartUploader:
    """Uploads closed parts to ``prefix`` (``s3://bucket/folder``) under their own file names."""

    def __init__(
        self,
        prefix: str,
        delete_local: bool,
        retry_seconds: float,
        warn: Callable[[str], object],
        ledger: Path | None = None,
    ) -> None:
        self.prefix: Location = location_of(prefix)
        self.delete_local = delete_local
        self.retry_seconds = retry_seconds
        self.warn = warn
        #: URIs of the parts uploaded and verified, in order.
        self.uploaded: list[str] = []
        #: Local parts that could not be uploaded before :meth:`close` gave up on them.
        self.left_behind: list[Path] = []
        self._ledger = ledger
        self._ledger_lock = threading.Lock()
        self._parts: queue.Queue[Path | None] = queue.Queue()
        #: Parts an earlier run listed in the ledger and left on disk: uploaded first.
        self.resumed: list[Path] = self._read_ledger()
        self._pending: list[Path] = list(self.resumed)  # the ledger's content, in closing order
        if ledger is not None and ledger.exists():
            self._write_ledger()  # once: the parts no longer on disk leave the list
        for part in self.resumed:
            self._parts.put(part)
        if self.resumed:
            names = ", ".join(str(p) for p in self.resumed)
            self.warn(f"sinks.upload: uploading first what an earlier run left: {names}")
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="part-upload", daemon=True)
        self._thread.start()

    def submit(self, part: Path) -> None:
        """A part that was closed and will not change again (thread-safe)."""
        part = Path(os.path.abspath(part))  # the ledger is read again from wherever the next run starts
        self._track(part)
        self._parts.put(part)

    def _read_ledger(self) -> list[Path]:
        """The parts an earlier run listed and that are still on disk (each once)."""
        if self._ledger is None:
            return []
        try:
            lines = self._ledger.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as err:
            self.warn(f"sinks.upload: {self._ledger}: cannot read the parts left to upload ({err})")
            return []
        parts = dict.fromkeys(Path(line) for line in lines if line.strip())
        return [part for part in parts if part.is_file()]

    def _track(self, part: Path) -> None:
        with self._ledger_lock:
            if part not in self._pending:
                self._pending.append(part)
                self._write_ledger()

    def _done(self, part: Path) -> None:
        with self._ledger_lock:
            if part in self._pending:
                self._pending.remove(part)
                self._write_ledger()

    def _write_ledger(self) -> None:
        """The pending parts, replaced whole (a crash leaves the old list or the new one)."""
        if self._ledger is None:
            return
        partial = self._ledger.with_name(f"{self._ledger.name}.partial")
        try:
            partial.write_text("".join(f"{part}\n" for part in self._pending), encoding="utf-8")
            os.replace(partial, self._ledger)
        except OSError as err:  # a full disk: the uploads go on, a restart may not know of them
            self.warn(f"sinks.upload: {self._ledger}: cannot note the parts left to upload ({err})")

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
        self._done(part)
        if self.delete_local:
            part.unlink(missing_ok=True)
