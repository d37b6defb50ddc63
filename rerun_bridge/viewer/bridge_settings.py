"""What the bridge config (``tf`` section) tells the live viewer's window.

``tf.fixed_frame`` is every 3D view's fixed frame unless the blueprint's view names its own (the view's
setting wins, as a display's own property does in RViz); a frame absent from the TF tree falls back to the
tree's root with a note in the view. ``tf.cache_time_s`` bounds the viewer's TF buffer as tf2's cache does:
of each edge only the samples that recent before its newest are kept.
"""

from __future__ import annotations

from typing import Any

from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.config import TfConfig
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.transforms import SceneTransforms

_NS_PER_S = 1_000_000_000


def live_window_options(
    store: ChunkStore, tf: TfConfig
) -> tuple[SceneTransforms, dict[ViewKind, dict[str, Any]]]:
    """The window's TF buffers and its per-kind view settings, from the config's ``tf`` section."""
    transforms = SceneTransforms(store, cache_time_ns=round(tf.cache_time_s * _NS_PER_S))
    settings: dict[ViewKind, dict[str, Any]] = {}
    if tf.fixed_frame:
        settings[ViewKind.SPATIAL3D] = {"fixed_frame": tf.fixed_frame}
    return transforms, settings
