"""What survives of a damaged rosbag2 sqlite3 file: rows walked in rowid order around damaged pages.

SQLite stores the messages table as a B-tree keyed on the row id; a damaged page (a torn write, a bad
sector) makes every query that has to pass through it fail with "database disk image is malformed",
which for a whole-table query means no row at all. Asking for rows from a given id on finds the first
id after the damage that can be reached: the rows in between (the damaged page's) are lost, every other
one is read. A write-ahead log (``-wal``, left by a recorder that was killed) is replayed by SQLite up to
its last intact transaction; frames after that are reported.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Rows read per query while walking the table (large enough to keep the walk cheap).
_BATCH_ROWS = 4096
_WAL_HEADER_BYTES = 32
_SQLITE_HEADER_BYTES = 100
_WAL_FRAME_HEADER_BYTES = 24


@dataclass(slots=True)
class RowKeys:
    """The readable rows of the messages table: (timestamp, id, topic id), in (timestamp, id) order."""

    keys: list[tuple[int, int, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def readable_rows(db: sqlite3.Connection, path: Path) -> RowKeys:
    """Walk the messages table by row id, stepping over ranges that cannot be read."""
    found = RowKeys()
    next_id = 0
    while True:
        try:
            batch = db.execute(
                "SELECT id, topic_id, timestamp FROM messages WHERE id >= ? ORDER BY id LIMIT ?",
                (next_id, _BATCH_ROWS),
            ).fetchall()
        except sqlite3.DatabaseError:
            batch = _rows_before_damage(db, next_id)
            if not batch:
                resume = _first_readable_id(db, next_id)
                found.problems.append(_lost_range(db, path, next_id, resume, found))
                if resume is None:
                    break
                next_id = resume
                continue
        if not batch:
            break
        # A timestamp that is not a number is no message (SqliteStorage reports those rows).
        found.keys.extend(
            (int(timestamp), int(row_id), int(topic))
            for row_id, topic, timestamp in batch
            if isinstance(timestamp, int | float) and isinstance(topic, int)
        )
        next_id = int(batch[-1][0]) + 1
    found.keys.sort()
    return found


def _rows_before_damage(db: sqlite3.Connection, start: int) -> list[tuple[int, int, int]]:
    """Rows from ``start`` on, one query each, up to the first that cannot be read."""
    rows: list[tuple[int, int, int]] = []
    next_id = start
    for _ in range(_BATCH_ROWS):
        try:
            row = db.execute(
                "SELECT id, topic_id, timestamp FROM messages WHERE id >= ? ORDER BY id LIMIT 1", (next_id,)
            ).fetchone()
        except sqlite3.DatabaseError:
            break
        if row is None:
            break
        rows.append(row)
        next_id = int(row[0]) + 1
    return rows


def _readable_from(db: sqlite3.Connection, row_id: int) -> bool:
    try:
        db.execute("SELECT id FROM messages WHERE id >= ? ORDER BY id LIMIT 1", (row_id,)).fetchone()
    except sqlite3.DatabaseError:
        return False
    return True


def _first_readable_id(db: sqlite3.Connection, damaged: int) -> int | None:
    """The smallest id past ``damaged`` from which the table can be read again (None: nowhere)."""
    step = 1
    while not _readable_from(db, damaged + step):
        if damaged + step > 1 << 62:
            return None
        step *= 2
    low, high = damaged + step // 2, damaged + step  # low fails (or is the damaged id), high reads
    while high - low > 1:
        middle = (low + high) // 2
        if _readable_from(db, middle):
            high = middle
        else:
            low = middle
    return high


def _lost_range(db: sqlite3.Connection, path: Path, first: int, resume: int | None, found: RowKeys) -> str:
    before = found.keys[-1][0] if found.keys else None
    if resume is None:
        return f"{path}: messages from row id {first} on cannot be read (damaged pages): lost"
    after = db.execute(
        "SELECT timestamp FROM messages WHERE id >= ? ORDER BY id LIMIT 1", (resume,)
    ).fetchone()
    span = ""
    if before is not None and after is not None and isinstance(after[0], int | float):
        span = f", recorded between {before / 1e9:.3f} and {int(after[0]) / 1e9:.3f} s"
    return (
        f"{path}: rows {first}..{resume - 1} of the messages table are on damaged pages: "
        f"up to {resume - first} messages lost{span}"
    )


def iter_rows(
    db: sqlite3.Connection,
    keys: list[tuple[int, int, int]],
    wanted: dict[int, tuple[str, str]],
    lost: list[int],
) -> Iterator[tuple[int, int, bytes]]:
    """(topic id, timestamp, data) of the chosen rows in key order; rows whose data cannot be read (a
    damaged overflow page) are skipped, their ids added to ``lost``."""
    for timestamp, row_id, topic_id in keys:
        if topic_id not in wanted:
            continue
        try:
            row = db.execute("SELECT data FROM messages WHERE id = ?", (row_id,)).fetchone()
        except sqlite3.DatabaseError:
            lost.append(row_id)
            continue
        if row is not None:
            yield topic_id, timestamp, row[0]


@dataclass(slots=True)
class WalCopy:
    """A bag file and its write-ahead log copied where SQLite may replay the log (the originals stay
    untouched, and may be on a read-only disk)."""

    path: Path
    problems: list[str]
    tempdir: tempfile.TemporaryDirectory[str]


def cut_short(path: Path) -> str | None:
    """What is missing when ``path`` is shorter than its header says (a copy or write cut off), else None.

    SQLite refuses such a file as a whole ("database disk image is malformed", even for its schema)
    unless ``writable_schema`` is on; with it the pages that are there read as usual, and the rowid walk
    steps over the missing ones."""
    try:
        with path.open("rb") as file:
            header = file.read(_SQLITE_HEADER_BYTES)
        size = path.stat().st_size
    except OSError:
        return None
    if len(header) < _SQLITE_HEADER_BYTES or not header.startswith(b"SQLite format 3\0"):
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if page_size == 0 or pages * page_size <= size:
        return None
    return (
        f"{path}: cut off at byte {size} ({size // page_size} whole pages of the {pages} its header "
        "counts): the rows on the missing pages are lost"
    )


def copy_with_wal(path: Path) -> WalCopy | None:
    """When ``path`` has a non-empty ``-wal`` beside it: a copy of both, and what the log lost."""
    wal = path.with_name(path.name + "-wal")
    if not wal.is_file() or wal.stat().st_size == 0:
        return None
    tempdir = tempfile.TemporaryDirectory(prefix="rerun_bridge_wal_")
    copy = Path(tempdir.name) / path.name
    shutil.copyfile(path, copy)
    shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    problems: list[str] = []
    db = sqlite3.connect(copy)
    try:
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        _busy, log_frames, _done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    except sqlite3.DatabaseError as err:
        problems.append(f"{wal}: the write-ahead log cannot be replayed ({err}): left out")
        log_frames, page_size = 0, 0
    finally:
        db.close()
    size = wal.stat().st_size
    frame_bytes = _WAL_FRAME_HEADER_BYTES + page_size
    frames_in_file = (size - _WAL_HEADER_BYTES) // frame_bytes if page_size else 0
    if page_size and 0 <= log_frames < frames_in_file:
        offset = _WAL_HEADER_BYTES + max(log_frames, 0) * frame_bytes
        # SQLite replays whole, intact transactions only: the damaged (or left-over) frame lies somewhere in
        # the first transaction not replayed, which starts here.
        problems.append(
            f"{wal}: the log is damaged or holds left-over frames in the transaction that starts at frame "
            f"{log_frames + 1} of {frames_in_file} (byte {offset}): the transactions from there on "
            f"({frames_in_file - log_frames} frames) are lost, the {log_frames} frames before it were read"
        )
    return WalCopy(copy, problems, tempdir)
