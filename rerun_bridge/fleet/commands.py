"""``rerun-bridge batch`` and ``rerun-bridge catalog query|add``: the command-line face of the fleet
wing (docs/fleet.md). Exit codes as ``convert``: 0 all went well, 1 some recording failed (the others are
done), 2 wrong arguments or unreadable inputs."""

from __future__ import annotations

import argparse
import csv
import json
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rerun_bridge.errors import BridgeError

if TYPE_CHECKING:
    from rerun_bridge.fleet.batch import BatchReport

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
OUTPUT_FORMATS = ("table", "csv", "json")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _tags(pairs: Sequence[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BridgeError(f"--tag {pair}: expected KEY=VALUE")
        tags[key] = value
    return tags


def _recordings(inputs: Sequence[str], unique: bool = True) -> Any:
    from rerun_bridge.fleet.discovery import find_recordings

    recordings, problems = find_recordings(inputs, unique)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return recordings if not problems else None


def _naming(uri: str, message: str) -> str:
    """``message`` led by the recording's URI, unless it names it already (most errors name their file)."""
    return message if uri in message else f"{uri}: {message}"


def _mib(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB"


def _print_progress(report: Any, end: Any) -> None:
    from rerun_bridge.fleet.batch import Failure

    head = f"[{report.finished}/{report.total}, {_mib(report.finished_bytes)} of {_mib(report.total_bytes)}]"
    if isinstance(end, Failure):
        print(f"{head} {end.name}: FAILED: {end.reason}", file=sys.stderr, flush=True)
    else:
        if end.same_as:
            detail = f"the same content as {end.same_as} (run {end.run_id})"
        else:
            detail = ", ".join(end.outputs) if end.outputs else f"already converted as {end.run_id}"
        warnings = f" ({end.warnings} warnings, in the catalog)" if end.warnings else ""
        print(f"{head} {end.name}: {end.outcome}: {detail}{warnings}", file=sys.stderr, flush=True)
        for note in end.notes:
            print(f"note: {_naming(end.source, note)}", file=sys.stderr, flush=True)


def rerun_layout(name: str, recordings: Sequence[str], note: Callable[[str], None]) -> Any:
    """A blueprint for ``recordings`` as ``convert --blueprint`` chooses it, as Rerun's blueprint."""
    from rerun_bridge.cli import rerun_blueprint_for

    return rerun_blueprint_for(name, recordings, note=note)


@contextmanager
def _stopped_by_signals(received: list[int]) -> Iterator[None]:
    """Ctrl-C and SIGTERM (a CI job's end, ``timeout``) raise KeyboardInterrupt, each signal noted in
    ``received``: Ray's ``wait`` raises a KeyboardInterrupt of its own, which does not say which one."""

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def cmd_batch(args: argparse.Namespace) -> int:
    received: list[int] = []
    reports: list[BatchReport] = []
    try:
        return _batch(args, received, reports)
    except KeyboardInterrupt:  # while Ray started, or stopped (Ray holds it till then)
        signum = received[-1] if received else signal.SIGINT
        if reports:  # the batch ran: its report, as after an interrupt within it
            report = reports[0]
            if report.interrupted is None or received:
                report.interrupted = signum
            return _batch_summary(report)
        print(f"error: interrupted ({signal.Signals(signum).name}) before the batch started", file=sys.stderr)
        return 128 + signum


def _batch(args: argparse.Namespace, received: list[int], reports: list[BatchReport]) -> int:
    from rerun_bridge.cli import layout_choice
    from rerun_bridge.fleet.batch import ray_connection, run_batch
    from rerun_bridge.fleet.discovery import unique_names
    from rerun_bridge.fleet.jobs import JobOptions, earlier_outputs, overwritten_inputs
    from rerun_bridge.fleet.storage import output_location

    _default, scenario = layout_choice(args.blueprint)
    if scenario is not None:
        from rerun_bridge.blueprint.library import resolve

        resolve(scenario)  # a name or file that is none fails here (exit 2), before Ray starts
    jobs = 0 if args.jobs == "auto" else int(args.jobs)
    options = JobOptions(
        args.output, args.mcap, args.blueprint, _tags(args.tag), args.force, rerun_layout, jobs=jobs
    )
    # Named once the earlier outputs are left out: up/a.mcap beside up/out/a.mcap is still `a`.
    recordings = _recordings(args.inputs, unique=False)
    if recordings is None:
        return EXIT_USAGE
    out = output_location(args.output)
    earlier = earlier_outputs(recordings, out)
    for recording in earlier:
        note = f"{recording.uri}: left out, an output of an earlier batch into {out.uri}"
        print(f"note: {note}", file=sys.stderr)
    recordings = unique_names([recording for recording in recordings if recording not in earlier])
    if not recordings:
        reason = f"every recording found is an output of an earlier batch into {out.uri}"
        print(f"error: {reason}", file=sys.stderr)
        return EXIT_USAGE
    # An unreachable output, or one that would replace a recording, fails here (exit 2), before Ray starts.
    clashes = overwritten_inputs(recordings, out, args.mcap)
    for clash in clashes:
        print(f"error: {clash}", file=sys.stderr)
    if clashes:
        return EXIT_USAGE
    # Around Ray's start and stop too, which hold the signals till they are done (ray_connection).
    with _stopped_by_signals(received), ray_connection(args.ray, args.workers):
        report = run_batch(recordings, options, args.workers, progress=_print_progress)
        reports.append(report)
    if report.interrupted is not None and received:
        report.interrupted = received[-1]
    return _batch_summary(report)


def _batch_summary(report: BatchReport) -> int:
    """The batch's last lines: how many recordings ended how, each failure, and after Ctrl-C or SIGTERM
    those that did not end; its exit code."""
    from rerun_bridge.fleet.jobs import OUTCOME_CONVERTED, OUTCOME_DUPLICATE, OUTCOME_SKIPPED

    outcomes = [result.outcome for result in report.results]
    duplicates = outcomes.count(OUTCOME_DUPLICATE)
    copies = f"{duplicates} copies of another recording, " if duplicates else ""
    print(
        f"{outcomes.count(OUTCOME_CONVERTED)} converted, {outcomes.count(OUTCOME_SKIPPED)} already done, "
        f"{copies}{len(report.failures)} failed, of {report.total} recordings"
    )
    for failure in report.failures:
        print(f"error: {failure.name}: {failure.reason}", file=sys.stderr)
    if report.interrupted is not None:
        name = signal.Signals(report.interrupted).name
        left = len(report.unfinished)
        print(
            f"error: interrupted ({name}): {left} of {report.total} recordings not finished", file=sys.stderr
        )
        for recording in report.unfinished:
            print(f"not finished: {recording.name}: {recording.uri}", file=sys.stderr)
        # As a process ended by the signal (130 for Ctrl-C, 143 for SIGTERM), after its report.
        return 128 + report.interrupted
    return EXIT_SOME_FAILED if report.failures else EXIT_OK


def cmd_catalog_add(args: argparse.Namespace) -> int:
    from rerun_bridge.fleet.jobs import register_recording
    from rerun_bridge.fleet.storage import output_location

    tags = _tags(args.tag)
    recordings = _recordings(args.inputs)
    if recordings is None:
        return EXIT_USAGE
    output_location(args.output)  # an unreachable catalog fails once (exit 2), not once per recording
    status = EXIT_OK
    for recording in recordings:
        try:
            entry = register_recording(recording, args.output, tags)
        except BridgeError as err:
            print(f"error: {_naming(recording.uri, str(err))}", file=sys.stderr)
            status = EXIT_SOME_FAILED
            continue
        if entry.converted_before:
            added = " (tags added)" if tags else ""
            print(f"{recording.uri}: already converted as {entry.run_id}; its row is kept{added}")
        else:
            # A cut file (an upload still running, a copy cut short) is registered as far as it reads;
            # its counts are not the recording's, so each problem is said, naming the file.
            for problem in entry.problems:
                print(f"warning: {_naming(recording.uri, problem)}", file=sys.stderr)
            damaged = (
                f" (cut or damaged: {len(entry.problems)} warnings, in the catalog)" if entry.problems else ""
            )
            print(f"registered {recording.uri} as {entry.run_id}{damaged}")
    return status


def cmd_catalog_query(args: argparse.Namespace) -> int:
    import duckdb

    from rerun_bridge.fleet.catalog import existing_catalog, query

    try:
        table = query(existing_catalog(args.location), args.sql)
    except duckdb.Error as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    write_table(table, args.format)
    return EXIT_OK


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _displayable(table: Any) -> Any:
    """Nanosecond times shown to the microsecond: Python's datetime holds no finer."""
    import pyarrow as pa

    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
            shown = pa.timestamp("us", tz=column.type.tz)
            table = table.set_column(index, column.name, table.column(index).cast(shown, safe=False))
    return table


def _rows(table: Any) -> list[dict[str, Any]]:
    """The rows as Python values, maps (``tags``) as dictionaries."""
    import pyarrow as pa

    maps = [column.name for column in table.schema if pa.types.is_map(column.type)]
    rows: list[dict[str, Any]] = _displayable(table).to_pylist()
    for row in rows:
        for name in maps:
            if row[name] is not None:
                row[name] = dict(row[name])
    return rows


def write_table(table: Any, fmt: str) -> None:
    """A query's result on stdout as an aligned table, CSV or JSON (a list of objects)."""
    rows = _rows(table)
    names = list(table.column_names)
    if fmt == "json":
        print(json.dumps(rows, default=str, indent=1))
        return
    cells = [[_cell(row[name]) for name in names] for row in rows]
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(cells)
        return
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(names)]
    print("  ".join(name.ljust(width) for name, width in zip(names, widths, strict=True)).rstrip())
    print("  ".join("-" * width for width in widths))
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _jobs(text: str) -> str:
    from rerun_bridge.cli import jobs_argument  # the same rule as convert --jobs

    return jobs_argument(text)


def add_fleet_commands(sub: Any) -> None:
    """The ``batch`` and ``catalog`` sub-commands, on ``rerun-bridge``'s sub-parsers."""
    batch = sub.add_parser("batch", help="convert many recordings (folders, globs, s3:// prefixes) on Ray")
    batch.add_argument(
        "inputs", nargs="+", help="bag folders, .mcap / .db3 files, folders or globs, s3:// URIs"
    )
    batch.add_argument("-o", "--output", required=True, help="output folder or s3:// prefix")
    batch.add_argument("--ray", metavar="ADDRESS", help="join this Ray cluster (default: start Ray locally)")
    batch.add_argument(
        "--workers", type=_positive, help="recordings converted at once (default: one per CPU)"
    )
    batch.add_argument(
        "--mcap", action="store_true", help="also write each recording's topics to a raw .mcap"
    )
    batch.add_argument(
        "--blueprint",
        help="the layout embedded in each .rrd, as for convert: a scenario name, a YAML file, 'default' (the "
        "default) or 'none'",
    )
    batch.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="tag the runs")
    batch.add_argument("--force", action="store_true", help="convert again recordings already converted")
    batch.add_argument(
        "--jobs",
        type=_jobs,
        default="auto",
        help="Ray tasks to split one recording across, on idle CPUs of its node, or 'auto' (default: one "
        "per two idle CPUs for a recording of 1 GiB or more; docs/fleet.md)",
    )
    batch.set_defaults(func=cmd_batch)

    catalog = sub.add_parser("catalog", help="the catalog of runs: query it with SQL, register recordings")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    query_cmd = catalog_sub.add_parser("query", help="run SQL (DuckDB) over the runs and topics tables")
    query_cmd.add_argument("location", help="the output folder or s3:// prefix holding catalog/")
    query_cmd.add_argument("sql", help='e.g. "SELECT name FROM runs WHERE duration_s > 60"')
    query_cmd.add_argument("--format", choices=OUTPUT_FORMATS, default="table")
    query_cmd.set_defaults(func=cmd_catalog_query)
    add = catalog_sub.add_parser("add", help="register recordings in a catalog without converting them")
    add.add_argument(
        "inputs", nargs="+", help="bag folders, .mcap / .db3 files, folders or globs, s3:// URIs"
    )
    add.add_argument("-o", "--output", required=True, help="the output folder or s3:// prefix of the catalog")
    add.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="tag the runs")
    add.set_defaults(func=cmd_catalog_add)
