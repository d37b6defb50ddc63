"""``rerun-bridge view``: open recordings in the viewer, or render one moment to a PNG and exit.

``--screenshot`` renders the window at ``--time`` (seconds from the start of ``--timeline``) at
1280x720 and writes a PNG: the window is grabbed as widgets (3D views render offscreen and paint their
picture, see :mod:`rerun_bridge.viewer.views.offscreen_gl`). It needs a display: run headless under Xvfb
(``xvfb-run -a -s "-screen 0 1920x1080x24"``); Qt's offscreen platform has no GL.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from PyQt6 import QtCore, QtGui, QtWidgets

from rerun_bridge.blueprint.library import resolve
from rerun_bridge.blueprint.model import Node
from rerun_bridge.config import TfConfig
from rerun_bridge.errors import BridgeError
from rerun_bridge.robot.settings import add_robot_model_arguments, robot_model_of
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.lazy_rrd import DEFAULT_MEMORY_BUDGET_BYTES
from rerun_bridge.type_arguments import add_type_arguments
from rerun_bridge.viewer.bridge_settings import live_window_options
from rerun_bridge.viewer.display import viewer_unavailable_reason
from rerun_bridge.viewer.sources import LoadedFiles, SourceOptions, is_rrd, load_files, show_time
from rerun_bridge.viewer.timeline_choice import blueprint_timeline, choose_timeline
from rerun_bridge.viewer.window import ViewerWindow

DEFAULT_SIZE: Final = (1280, 720)
_SETTLE_ROUNDS: Final = 5
MEBIBYTE: Final = 1024 * 1024


def ensure_application() -> QtWidgets.QApplication:
    """The running QApplication, or a new one with shared GL contexts (set before it exists)."""
    existing = QtWidgets.QApplication.instance()
    if isinstance(existing, QtWidgets.QApplication):
        return existing
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    return QtWidgets.QApplication(sys.argv[:1])


def render_window(window: ViewerWindow) -> QtGui.QImage:
    """The window as an image (the 3D views paint their offscreen GL picture like any widget)."""
    application = QtWidgets.QApplication.instance()
    for _ in range(_SETTLE_ROUNDS):
        if application is not None:
            application.processEvents()
    return window.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)


def run_viewer(
    paths: Sequence[str | Path],
    timeline: str | None = None,
    time_s: float | None = None,
    screenshot: str | Path | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    blueprint: str | Path | None = None,
    sources: SourceOptions | None = None,
) -> int:
    """Open ``paths`` in a viewer window; with ``screenshot``, write that PNG and return instead.

    ``blueprint``: a shipped blueprint's name or a YAML file; without one, the default blueprint of the data.
    ``sources``: the robot model's settings and the memory budget of .rrd files opened lazily.
    """
    application = ensure_application()
    try:
        chosen = resolve(blueprint) if blueprint is not None else None
    except BridgeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        options = sources or SourceOptions()
        loaded = load_files(
            paths,
            robot_model=options.robot_model,
            memory_budget_bytes=options.memory_budget_bytes,
            progress=_print_progress(),
            types=options.types,
        )
    except BridgeError as err:  # an input that is no recording: a wrong argument, as for convert (audit)
        print(f"error: {err}", file=sys.stderr)
        return 2
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if timeline is None:
        timeline = _default_timeline(chosen.timeline if chosen is not None else None, loaded)
    names = ", ".join(Path(path).name for path in paths)
    scenario = str(blueprint) if blueprint is not None else None
    layout = chosen.root if chosen is not None else None
    window = ViewerWindow(loaded.store, layout, title=f"rerun_bridge: {names}", scenario=scenario)
    if loaded.lazy:
        window.set_data_loader(lambda timeline, time: _shown_with_warnings(loaded, timeline, time))
    for note in window.notes:
        print(f"note: {note}", file=sys.stderr)
    window.resize(*size)
    if timeline is not None:
        if timeline not in loaded.store.timelines():
            known = ", ".join(loaded.store.timelines()) or "none"
            print(f"error: no timeline {timeline!r} in the data (known: {known})", file=sys.stderr)
            return 2
        window.time_panel.set_timeline(timeline)
    if time_s is not None:
        panel = window.time_panel
        panel.seek_offset(time_s)
        if abs(panel.offset_of(panel.current_time) - time_s) > 1e-6:  # clamped: the end, not --time
            shown = panel.format_offset(panel.current_time)
            print(f"note: --time {time_s:g} lies outside the data: shown at {shown}", file=sys.stderr)
        window.frame_cameras_again()  # on what --time shows, not on the recording's first moment
    window.show()
    if screenshot is None:
        return application.exec()
    return save_screenshot(window, Path(screenshot))


def _shown_with_warnings(loaded: LoadedFiles, timeline: str, time: int) -> bool:
    """:func:`show_time`, saying what went wrong loading the chunks it needed."""
    changed = show_time(loaded, timeline, time)
    for warning in loaded.new_warnings():
        print(f"warning: {warning}", file=sys.stderr)
    return changed


def _print_progress() -> Callable[[Path, float], None]:
    """A progress line on stderr for each tenth of a file read front to back: a .rrd without an index,
    bags converted whole."""
    shown: dict[Path, int] = {}

    def report(path: Path, fraction: float) -> None:
        tenth = int(fraction * 10)
        if tenth > shown.get(path, -1):
            shown[path] = tenth
            how = "reading {} (no index)" if is_rrd(path) else "converting {}"
            print(f"{how.format(path.name)}: {tenth * 10}%", file=sys.stderr)

    return report


def _default_timeline(asked: str | None, loaded: LoadedFiles) -> str | None:
    """The blueprint's timeline, else ``log_time`` for a lazily opened bag, else None (the window's
    choice, :func:`choose_timeline`, said here when it is not ``ros_time``)."""
    timeline = _blueprint_timeline(asked, loaded.store) if asked else None
    if timeline is None and loaded.default_timeline is not None:
        timeline = loaded.default_timeline
        print(
            f"note: a bag opened through its chunk index shows {timeline} (--timeline chooses another)",
            file=sys.stderr,
        )
    if timeline is None:
        choice = choose_timeline(loaded.store)
        if choice.reason:
            print(f"note: {choice.reason} (--timeline chooses another)", file=sys.stderr)
    return timeline


def _blueprint_timeline(timeline: str, store: ChunkStore) -> str | None:
    """The blueprint's timeline when the data has it and it spans the data (said otherwise: the
    default kept, or log_time for ros_time stamps that do not span the data)."""
    choice = blueprint_timeline(timeline, store)
    if choice.reason:
        print(f"note: {choice.reason}", file=sys.stderr)
    return choice.timeline


def save_screenshot(window: ViewerWindow, output: Path) -> int:
    image = render_window(window)
    output.parent.mkdir(parents=True, exist_ok=True)
    saved = image.save(str(output), "PNG")
    window.close()
    if not saved:
        print(f"error: cannot write {output}", file=sys.stderr)
        return 1
    return 0


def run_live_viewer(
    store: ChunkStore,
    blueprint: str | Path | None = None,
    stop: threading.Event | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    tf: TfConfig | None = None,
) -> int:
    """Show ``store`` while another thread fills it, until the window is closed or ``stop`` is set.

    Runs Qt's event loop on the calling thread, which must be the main thread. A blueprint that cannot
    be read is reported and the layout from the data is used instead. ``tf``: the bridge config's
    ``fixed_frame`` and ``cache_time_s`` (live_window_options).
    """
    application = ensure_application()
    layout: Node | None = None
    scenario: str | None = None
    if blueprint:
        try:
            layout = resolve(blueprint).root
            scenario = str(blueprint)
        except BridgeError as err:
            print(f"warning: {err}; using the layout from the data", file=sys.stderr)
    transforms, view_settings = live_window_options(store, tf or TfConfig())
    window = ViewerWindow(
        store,
        layout,
        transforms,
        title="rerun_bridge: live",
        scenario=scenario,
        view_settings=view_settings,
    )
    window.resize(*size)
    window.enable_live(stop=stop)
    window.show()
    return application.exec()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rerun-bridge view", description="Show recordings in the viewer.")
    parser.add_argument("files", nargs="*", metavar="FILE", help=".rrd files and rosbag2 recordings")
    parser.add_argument(
        "--timeline",
        help="timeline to show (default: the one that spans the data sensibly, see docs/viewer.md)",
    )
    parser.add_argument(
        "--time", type=float, metavar="SECONDS", help="seconds from the start of the timeline"
    )
    parser.add_argument("--screenshot", metavar="PNG", help="render that moment at 1280x720 to PNG and exit")
    parser.add_argument(
        "--memory-budget",
        type=_megabytes,
        default=DEFAULT_MEMORY_BUDGET_BYTES // MEBIBYTE,
        metavar="MB",
        help=".rrd files and MCAP bags bigger than this load chunks on demand (default: %(default)s MB)",
    )
    parser.add_argument(
        "--blueprint", metavar="NAME|FILE", help="layout to use (a shipped name or a YAML file)"
    )
    add_type_arguments(parser)
    remote = parser.add_argument_group("a bridge's network stream (instead of files)")
    remote.add_argument(
        "--connect", metavar="grpc://ROBOT:9877", help="show a running bridge's stream live (sinks.stream)"
    )
    remote.add_argument("--token", default="", help="the bridge's sinks.stream.token")
    remote.add_argument("--tls-root-cert", default="", metavar="CA", help="CA certificate to trust (TLS)")
    remote.add_argument(
        "--history",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="recent data to fetch on connecting, besides all static data (default: %(default)s; the "
        "bridge keeps sinks.stream.history_s)",
    )
    add_robot_model_arguments(parser)
    return parser


def _megabytes(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is below 0")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """The ``view`` command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    # Checked before Qt starts: without a display Qt aborts the process (a core dump, exit 134).
    missing = [name for name in args.files if not Path(name).exists()]
    if missing:
        print(f"error: {', '.join(missing)}: no such file or folder", file=sys.stderr)
        return 2
    reason = viewer_unavailable_reason()
    if reason is not None:
        print(f"error: the viewer cannot open: {reason}", file=sys.stderr)
        return 2
    if args.connect:
        if args.files:
            print("error: give either --connect or files, not both", file=sys.stderr)
            return 2
        from rerun_bridge.sources.stream_client import ClientSettings
        from rerun_bridge.viewer.remote import RemoteOptions, run_remote_viewer

        try:
            settings = ClientSettings(args.connect, args.token, args.tls_root_cert)
        except BridgeError as err:  # a malformed address: before any window, as a wrong argument
            print(f"error: {err}", file=sys.stderr)
            return 2
        options = RemoteOptions(
            history_s=args.history,
            blueprint=args.blueprint,
            screenshot=Path(args.screenshot) if args.screenshot else None,
        )
        return run_remote_viewer(settings, options)
    if not args.files:
        print("error: give at least one .rrd file or recording to view", file=sys.stderr)
        return 2
    from rerun_bridge.custom_types import command_line_types

    try:  # a bad config is an error before any window opens, with every problem of the file
        types = command_line_types(args.config, args.msg_path)
    except BridgeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return run_viewer(
        args.files,
        timeline=args.timeline,
        time_s=args.time,
        screenshot=args.screenshot,
        blueprint=args.blueprint,
        sources=SourceOptions(robot_model_of(args), args.memory_budget * MEBIBYTE, types),
    )


if __name__ == "__main__":
    raise SystemExit(main())
