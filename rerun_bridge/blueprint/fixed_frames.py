"""A blueprint's fixed frames checked against a recording's TF tree, for blueprints exported to Rerun.

The embedded viewer falls back to the tree's root, with a note, when a 3D view's fixed frame is not in the
data (a navigation scenario's ``map`` on a robot whose root is ``odom``). Rerun's viewer would show an empty
view with an error instead, so an exported blueprint gets the same fallback written into it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from rerun_bridge.blueprint.model import Container, Node, Spatial3DSettings, ViewKind


def with_fixed_frames_in(root: Node, frames: Collection[str], fallback: str | None) -> tuple[Node, list[str]]:
    """``root`` with every 3D view's fixed frame that is not among ``frames`` replaced by ``fallback``
    (the tree's root; None: the setting is cleared, the viewer's choice); and what was replaced, said."""
    notes: list[str] = []

    def visit(node: Node) -> Node:
        if isinstance(node, Container):
            return dataclasses.replace(node, children=tuple(visit(child) for child in node.children))
        settings = node.settings
        if not isinstance(settings, Spatial3DSettings) or not settings.fixed_frame:
            return node
        if settings.fixed_frame in frames:
            return node
        replacement = fallback or ""
        # Quoted, "the viewer default" read as the name of a frame; a recording without TF has no root.
        instead = (
            f"it uses {replacement!r} instead" if replacement else "the setting is left out (no TF root)"
        )
        notes.append(
            f"view {node.name or node.origin!r}: fixed frame {settings.fixed_frame!r} is not in the "
            f"recording's TF; {instead}"
        )
        return dataclasses.replace(node, settings=dataclasses.replace(settings, fixed_frame=replacement))

    return visit(root), notes


def with_default_fixed_frame(root: Node, frame: str) -> Node:
    """``root`` with every 3D view that names no fixed frame drawn in ``frame`` (the embedded viewer's
    default fixed frame, the TF root). Rerun's viewer otherwise picks a target frame of its own, and as
    soon as one entity lies on a frame that the TF tree does not reach (a marker in a frame nothing
    publishes), it draws none of the view's entities."""

    def visit(node: Node) -> Node:
        if isinstance(node, Container):
            return dataclasses.replace(node, children=tuple(visit(child) for child in node.children))
        if node.kind is not ViewKind.SPATIAL3D:
            return node
        settings = node.settings if isinstance(node.settings, Spatial3DSettings) else Spatial3DSettings()
        if settings.fixed_frame:
            return node
        return dataclasses.replace(node, settings=dataclasses.replace(settings, fixed_frame=frame))

    return visit(root)
