"""Whether a viewer window can open here, asked without importing Qt (which aborts without a display)."""

from __future__ import annotations

import importlib.util
import os
import sys


def viewer_unavailable_reason() -> str | None:
    """Why no window can open (no PyQt6, no display); None when one can."""
    if importlib.util.find_spec("PyQt6") is None:
        return "PyQt6 is not installed (pip install -r requirements.txt)"
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None  # offscreen, eglfs, ...: Qt needs no display server
    if not sys.platform.startswith("linux"):
        return None  # macOS and Windows open windows without a display server variable
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return (
            "no display (DISPLAY / WAYLAND_DISPLAY unset); run it on a desktop, headless under "
            '`xvfb-run -a -s "-screen 0 1920x1080x24" ...`, or watch the robot from a laptop with '
            "`rerun-bridge view --connect` (docs/laptop-viewing.md)"
        )
    return None
