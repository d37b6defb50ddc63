"""The catalog of runs: Parquet rows beside the outputs (``OUT/catalog/runs/`` and ``OUT/catalog/topics/``),
one file per run and table, so concurrent workers never rewrite each other's rows; queried with DuckDB
over pyarrow datasets (local or S3, no DuckDB extension needed).

A run's ``topics`` file is written before its ``runs`` file: a run is in the catalog once its ``runs`` row
is, and then its topics are too.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from rerun_bridge import __version__
from rerun_bridge.fleet.storage import Location, StorageError, location_of, publish_bytes, storage_reason

CATALOG_FOLDER = "catalog"
STATUS_CONVERTED = "converted"
STATUS_REGISTERED = "registered"
#: Topics every robot shares, left out when a recording's namespace is guessed from its topics.
GLOBAL_TOPICS = frozenset(
    {"/tf", "/tf_static", "/rosout", "/parameter_events", "/clock", "/robot_description"}
)

_TIME = pa.timestamp("ns", tz="UTC")
RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("name", pa.string()),
        ("source", pa.string()),
        ("content_hash", pa.string()),
        ("status", pa.string()),
        ("robot", pa.string()),
        ("start", _TIME),
        ("end", _TIME),
        ("duration_s", pa.float64()),
        ("bytes", pa.int64()),
        ("messages", pa.int64()),
        ("topics", pa.int32()),
        ("outputs", pa.list_(pa.string())),
        ("converter_version", pa.string()),
        ("warnings", pa.list_(pa.string())),
        ("tags", pa.map_(pa.string(), pa.string())),
        ("cataloged_at", _TIME),
    ]
)
TOPICS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("topic", pa.string()),
        ("type", pa.string()),
        ("messages", pa.int64()),
        ("rows", pa.int64()),
        ("outcome", pa.string()),
        ("reason", pa.string()),
        ("errors", pa.int64()),
        ("rate_hz", pa.float64()),
        ("zero_stamps", pa.int64()),
    ]
)


@dataclass(frozen=True, slots=True)
class TopicEntry:
    """One topic of a run. ``outcome``: converted, raw or skipped (``reason`` says why)."""

    topic: str
    type_name: str
    messages: int
    outcome: str
    rows: int = 0
    reason: str = ""
    errors: int = 0
    #: Messages with a zero header stamp; None where not counted (a registered run is not decoded: a 0
    #: there made `zero_stamps > 0` miss it, found by an audit).
    zero_stamps: int | None = None
    #: Seconds from its first message to its last, where the recording's index gives it (None: the run's
    #: duration stands in).
    span_s: float | None = None


@dataclass(slots=True)
class RunEntry:
    """One run's row and its topics' rows."""

    name: str
    source: str
    content_hash: str
    status: str
    start_ns: int | None
    end_ns: int | None
    bytes: int
    topics: list[TopicEntry]
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        """Name and content: the same recording converted again keeps its id (and its catalog files)."""
        return f"{self.name}-{self.content_hash[:16]}"

    @property
    def duration_s(self) -> float:
        if self.start_ns is None or self.end_ns is None:
            return 0.0
        return (self.end_ns - self.start_ns) / 1e9


def robot_of(tags: Mapping[str, str], topics: Sequence[str]) -> str:
    """The ``robot`` tag, else the namespace all of a recording's own topics share (``/robot1/scan``,
    ``/robot1/odom`` -> ``robot1``), else ''."""
    if tags.get("robot"):
        return tags["robot"]
    own = [topic for topic in topics if topic not in GLOBAL_TOPICS]
    namespaces = {topic.strip("/").split("/", 1)[0] for topic in own if topic.strip("/").count("/") >= 1}
    if len(namespaces) == 1 and all(topic.strip("/").count("/") >= 1 for topic in own):
        return namespaces.pop()
    return ""


def catalog_of(location: str | Location) -> Location:
    """The catalog folder of an output location (``OUT`` or ``OUT/catalog`` itself)."""
    out = location if isinstance(location, Location) else location_of(location)
    return out if out.name == CATALOG_FOLDER else out.join(CATALOG_FOLDER)


def existing_catalog(location: str | Location) -> Location:
    """The catalog folder of an output location that has one, for reading it: a location that does not
    exist, or holds no ``catalog/`` (nothing converted or registered there), is a StorageError naming
    it, so that a mistyped location is not taken for an empty catalog. An existing ``catalog/`` with no
    rows yet is a catalog (its tables are empty)."""
    out = location if isinstance(location, Location) else location_of(location)
    if not out.exists():
        raise StorageError(f"{out.uri}: no such folder or prefix")
    catalog = catalog_of(out)
    if not catalog.is_folder():
        raise StorageError(
            f"{out.uri}: holds no catalog (no {CATALOG_FOLDER}/ there: nothing was converted or registered)"
        )
    return catalog


def _parquet(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _rate(messages: int, span_s: float) -> float | None:
    """Messages per second from a topic's first message to its last (as ``rerun-bridge info`` counts it);
    None for fewer than two, or two within a millisecond (/tf_static's)."""
    return (messages - 1) / span_s if messages >= 2 and span_s >= 1e-3 else None


def write_entry(catalog: Location, entry: RunEntry) -> None:
    """Publish one run's rows (topics first, then the run)."""
    run_id = entry.run_id
    topics = pa.Table.from_pylist(
        [
            {
                "run_id": run_id,
                "topic": t.topic,
                "type": t.type_name,
                "messages": t.messages,
                "rows": t.rows,
                "outcome": t.outcome,
                "reason": t.reason,
                "errors": t.errors,
                "rate_hz": _rate(t.messages, t.span_s if t.span_s is not None else entry.duration_s),
                "zero_stamps": t.zero_stamps,
            }
            for t in entry.topics
        ],
        schema=TOPICS_SCHEMA,
    )
    run = pa.Table.from_pylist(
        [
            {
                "run_id": run_id,
                "name": entry.name,
                "source": entry.source,
                "content_hash": entry.content_hash,
                "status": entry.status,
                "robot": robot_of(entry.tags, [t.topic for t in entry.topics]),
                "start": entry.start_ns,
                "end": entry.end_ns,
                "duration_s": entry.duration_s,
                "bytes": entry.bytes,
                "messages": sum(t.messages for t in entry.topics),
                "topics": len(entry.topics),
                "outputs": entry.outputs,
                "converter_version": __version__,
                "warnings": entry.warnings,
                "tags": list(entry.tags.items()),
                "cataloged_at": time.time_ns(),
            }
        ],
        schema=RUNS_SCHEMA,
    )
    publish_bytes(_parquet(topics), catalog.join("topics", f"{run_id}.parquet"))
    publish_bytes(_parquet(run), catalog.join("runs", f"{run_id}.parquet"))


def _dataset(catalog: Location, table: str, schema: pa.Schema) -> Any:
    """One table of the catalog as a pyarrow dataset (empty, with its schema, before any run)."""
    import pyarrow.dataset as ds

    folder = catalog.join(table)
    if not folder.exists():
        return ds.dataset(schema.empty_table())
    try:
        return ds.dataset(folder.path, filesystem=catalog.filesystem, format="parquet", schema=schema)
    except OSError as err:
        raise StorageError(f"{folder.uri}: cannot read the catalog: {storage_reason(err)}") from err


def converted_runs(catalog: Location) -> dict[str, str]:
    """Content hash -> run id of every converted run (none when there is no catalog yet)."""
    try:
        runs = _dataset(catalog, "runs", RUNS_SCHEMA).to_table(
            columns=["content_hash", "run_id"], filter=_status_is(STATUS_CONVERTED)
        )
    except OSError as err:
        raise StorageError(f"{catalog.uri}: cannot read the catalog: {storage_reason(err)}") from err
    return dict(zip(runs["content_hash"].to_pylist(), runs["run_id"].to_pylist(), strict=True))


def run_name_of(catalog: Location, digest: str) -> str | None:
    """The name of the catalog's run of this content (a converted one before a registered one), None
    without one: converting the content again keeps that name, so its row (and tags) is replaced rather
    than joined by a second one under another name."""
    import pyarrow.dataset as ds

    try:
        runs = _dataset(catalog, "runs", RUNS_SCHEMA).to_table(
            columns=["name", "status"], filter=ds.field("content_hash") == digest
        )
    except OSError as err:
        raise StorageError(f"{catalog.uri}: cannot read the catalog: {storage_reason(err)}") from err
    named = sorted(
        zip(runs["status"].to_pylist(), runs["name"].to_pylist(), strict=True),
        key=lambda row: (row[0] != STATUS_CONVERTED, row[1]),
    )
    return named[0][1] if named else None


def published_outputs(catalog: Location) -> list[tuple[str, str]]:
    """(URI, content hash) of every file the catalog's converted runs published (none when there is no
    catalog)."""
    try:
        runs = _dataset(catalog, "runs", RUNS_SCHEMA).to_table(
            columns=["outputs", "content_hash"], filter=_status_is(STATUS_CONVERTED)
        )
    except OSError as err:
        raise StorageError(f"{catalog.uri}: cannot read the catalog: {storage_reason(err)}") from err
    return [
        (uri, digest)
        for outputs, digest in zip(runs["outputs"].to_pylist(), runs["content_hash"].to_pylist(), strict=True)
        for uri in outputs or ()
    ]


def _run_row(catalog: Location, run_id: str) -> tuple[Location, pa.Table | None]:
    """A run's row file, and its table (None when the run has no row yet)."""
    import pyarrow.parquet as pq

    row = catalog.join("runs", f"{run_id}.parquet")
    if not row.exists():
        return row, None
    try:
        with row.filesystem.open_input_file(row.path) as source:
            return row, pq.read_table(source, schema=RUNS_SCHEMA)
    except (OSError, pa.ArrowException) as err:
        raise StorageError(f"{row.uri}: cannot read the run's row: {err}") from err


def run_tags(catalog: Location, run_id: str) -> dict[str, str]:
    """The tags of a run's row as the catalog has it now (none when it has no row yet)."""
    _row, table = _run_row(catalog, run_id)
    return {} if table is None else _tags_in(table)


def run_outputs(catalog: Location, run_id: str) -> list[str]:
    """The files a run's row lists as its outputs (none when it has no row)."""
    _row, table = _run_row(catalog, run_id)
    return [] if table is None else [uri for outputs in table["outputs"].to_pylist() for uri in outputs or ()]


def _tags_in(table: pa.Table) -> dict[str, str]:
    return {key: value for row_tags in table["tags"].to_pylist() if row_tags for key, value in row_tags}


def retag_run(catalog: Location, run_id: str, tags: Mapping[str, str]) -> None:
    """Add ``tags`` to a run's row (a key given again takes the new value; the ``robot`` tag sets
    ``robot``); everything else in the row stays as it is."""
    row, table = _run_row(catalog, run_id)
    if table is None:
        raise StorageError(f"{row.uri}: cannot read the run's row: it has none")
    merged = {**_tags_in(table), **tags}
    columns = {"tags": pa.array([list(merged.items())], type=RUNS_SCHEMA.field("tags").type)}
    if "robot" in tags:
        columns["robot"] = pa.array([tags["robot"]], type=RUNS_SCHEMA.field("robot").type)
    for name, values in columns.items():
        table = table.set_column(table.schema.get_field_index(name), RUNS_SCHEMA.field(name), values)
    publish_bytes(_parquet(table), row)


def _status_is(status: str) -> Any:
    import pyarrow.dataset as ds

    return ds.field("status") == status


def query(catalog: Location, sql: str) -> pa.Table:
    """Run DuckDB SQL over the catalog's ``runs`` and ``topics`` tables."""
    import duckdb

    connection = duckdb.connect()
    try:
        connection.register("runs", _dataset(catalog, "runs", RUNS_SCHEMA))
        connection.register("topics", _dataset(catalog, "topics", TOPICS_SCHEMA))
        relation = connection.sql(sql)
        if relation is None:  # no statement (empty, or comments only): DuckDB returns nothing to read
            raise duckdb.InvalidInputException("the query holds no SQL statement that returns rows")
        return relation.to_arrow_table()
    except OSError as err:  # the storage failed while DuckDB scanned it
        raise StorageError(f"{catalog.uri}: cannot read the catalog: {storage_reason(err)}") from err
    finally:
        connection.close()
