"""The process that holds rerun-sdk's gRPC connection to a Rerun viewer, for the Rerun viewer sink.

rerun-sdk 0.41 waits without end to hand its backlog to a viewer that stopped reading (a hung laptop, a
suspended process): ``disconnect()``, dropping the recording and the interpreter's exit all block until
the viewer reads again (measured: a bridge with a stalled viewer could not exit). In a process of its own
the connection can always be given up: the sink kills it.

    python -m rerun_bridge.sinks.rerun_viewer_process URL APPLICATION_ID RECORDING_ID [BLUEPRINT]

Stdin carries frames (:func:`write_frame`): a chunk (static or temporal), a flush request, or a layout (the
bridge's default layout of the entities sent so far, made here from a snapshot of the sink's catalog, so
the bridge's own process spends nothing on it); each flush is answered on stdout with ``ok`` or ``fail
<reason>``. Closing stdin flushes (2 s at most) and exits.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from typing import IO, Any, Final

CHUNK_STATIC: Final = 1
CHUNK_TEMPORAL: Final = 2
FLUSH: Final = 3
#: ``text``: ``active`` (show it now) or ``default`` (what the viewer resets to); ``data``: the catalog's
#: snapshot as JSON (:meth:`rerun_bridge.sinks.sent_catalog.SentCatalog.snapshot`).
LAYOUT: Final = 4
_HEADER: Final = struct.Struct("!BII")


def write_frame(stream: IO[bytes], kind: int, text: str, data: bytes = b"") -> None:
    """One frame: a chunk (``text`` its entity path, ``data`` its Arrow IPC bytes) or a flush (``text``
    the timeout in seconds)."""
    encoded = text.encode()
    stream.write(_HEADER.pack(kind, len(encoded), len(data)) + encoded + data)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def main(argv: list[str]) -> int:
    import rerun as rr

    from rerun_bridge.model.stream_format import decode_chunk

    url, application_id, recording_id, *rest = argv
    blueprint = None
    if rest and rest[0]:
        from rerun_bridge.blueprint.export import to_rerun
        from rerun_bridge.blueprint.library import resolve

        blueprint = to_rerun(resolve(rest[0]))
    rec = rr.RecordingStream(application_id, recording_id=recording_id or None)
    rec.connect_grpc(url, default_blueprint=blueprint)
    source, reply = sys.stdin.buffer, sys.stdout
    while (header := _read_exactly(source, _HEADER.size)) is not None:
        kind, text_size, data_size = _HEADER.unpack(header)
        text, data = _read_exactly(source, text_size), _read_exactly(source, data_size)
        if text is None or data is None:
            break
        if kind == LAYOUT:
            _send_layout(rec, data, active=text == b"active")
            continue
        if kind == FLUSH:
            try:
                rec.flush(timeout_sec=float(text.decode()))
                reply.write("ok\n")
            except RuntimeError as err:
                reply.write(f"fail {str(err).splitlines()[0] if str(err) else 'flush failed'}\n")
            reply.flush()
            continue
        batch = decode_chunk(data)
        if kind == CHUNK_STATIC:
            rr.send_record_batch(batch, recording=rec, entity_path=text.decode(), index=None)
        else:
            rr.send_record_batch(batch, recording=rec, entity_path=text.decode())
    with contextlib.suppress(RuntimeError):  # the viewer is gone or stalled: what it did not take is lost
        rec.flush(timeout_sec=2.0)
    sys.stdout.flush()
    os._exit(0)  # never wait on the viewer at exit (rerun-sdk's own shutdown would)


def _send_layout(rec: Any, snapshot: bytes, active: bool) -> None:
    import json

    import rerun as rr

    from rerun_bridge.blueprint.file_layout import closing_layout
    from rerun_bridge.sinks.sent_catalog import SentCatalog

    try:
        blueprint = closing_layout(None)(SentCatalog.from_snapshot(json.loads(snapshot)))
    except Exception as err:  # a layout is a convenience: the data goes on without one
        print(f"rerun_viewer_process: no layout: {err}", file=sys.stderr, flush=True)
        return
    if blueprint is not None:
        rr.send_blueprint(blueprint, make_active=active, make_default=True, recording=rec)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
