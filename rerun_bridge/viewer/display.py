"""Whether a viewer window can open here, asked without importing Qt (which aborts without a display)."""

from __future__ import annotations

import importlib.util
import os


def viewer_unavailable_reason() -> str | None:
    """Why no window can open (no PyQt6, no display); None when one can."""
    if importlib.util.find_spec("PyQt6") is None:
        return "PyQt6 is not installed (pip install -r requirements.txt)"
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None  # offscreen, eglfs, ...: Qt needs no display server
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY / WAYLAND_DISPLAY unset); run under X, Wayland or xvfb-run"
    return None
