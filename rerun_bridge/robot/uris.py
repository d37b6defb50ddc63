"""Mesh URIs (``package://``, ``file://``, plain paths) resolved under configured roots, and only there.

A URDF may come from any publisher on the network, so its mesh URIs are untrusted: a path with a ``..``
part, an absolute path outside every root, or a symlink whose target leaves its root is refused, never
read. ``package://<pkg>/<rest>`` is looked up in the package map first, then as ``<root>/<pkg>/<rest>``
under each mesh root in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import unquote, urlsplit

from rerun_bridge.errors import BridgeError

PACKAGE_SCHEME: Final = "package"
FILE_SCHEME: Final = "file"


class MeshPathError(BridgeError):
    """A mesh URI refused or not found; ``package``: the ROS package it asked for ('' if none)."""

    def __init__(self, message: str, package: str = "") -> None:
        super().__init__(message)
        self.package = package


@dataclass(frozen=True, slots=True)
class MeshRoots:
    """Where meshes may be read from: search roots (``<root>/<package>/...``) and package directories."""

    roots: tuple[Path, ...] = ()
    packages: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def of(
        cls, roots: Sequence[str | Path] = (), packages: Mapping[str, str | Path] | None = None
    ) -> MeshRoots:
        by_name = {name: Path(path) for name, path in (packages or {}).items()}
        return cls(tuple(Path(root) for root in roots), by_name)

    def allowed_dirs(self) -> list[Path]:
        """Every directory a mesh may lie under, symlinks resolved."""
        return [path.resolve() for path in (*self.roots, *self.packages.values())]


def _safe_parts(path_text: str, uri: str, package: str) -> tuple[str, ...]:
    parts = PurePosixPath(path_text).parts
    if any(part == ".." for part in parts) or "\\" in path_text or "\x00" in path_text:
        raise MeshPathError(f"mesh URI {uri!r} refused: '..', '\\' or NUL in its path", package)
    return tuple(part for part in parts if part not in ("/", "."))


def _inside(candidate: Path, base: Path) -> bool:
    return candidate == base or candidate.is_relative_to(base)


def _checked(candidate: Path, bases: Sequence[Path], uri: str, package: str) -> Path | None:
    """The candidate with symlinks resolved when it exists and stays inside one of ``bases``."""
    if not candidate.exists():
        return None
    resolved = candidate.resolve()
    if not any(_inside(resolved, base) for base in bases):
        raise MeshPathError(f"mesh URI {uri!r} refused: it resolves outside the mesh roots", package)
    if not resolved.is_file():
        raise MeshPathError(f"mesh URI {uri!r} is not a file", package)
    return resolved


def _resolve_package(uri: str, netloc: str, path: str, roots: MeshRoots) -> Path:
    package = unquote(netloc)
    parts = _safe_parts(unquote(path), uri, package)
    if not package or not parts or "/" in package or package in (".", ".."):
        raise MeshPathError(f"mesh URI {uri!r} refused: no package or file in it", package)
    candidates = []
    if package in roots.packages:
        candidates.append((roots.packages[package].joinpath(*parts), roots.packages[package]))
    candidates += [(root.joinpath(package, *parts), root) for root in roots.roots]
    for candidate, base in candidates:
        # Each candidate must stay inside the root it was found under (a symlinked package dir too).
        found = _checked(candidate, [base.resolve()], uri, package)
        if found is not None:
            return found
    home = next((base for candidate, base in candidates if _package_dir(candidate, parts).is_dir()), None)
    if home is not None:  # the package is there, the file is not: say so, not "package not found"
        raise MeshPathError(f"mesh URI {uri!r}: package {package!r} has no file {'/'.join(parts)}", package)
    raise MeshPathError(f"mesh URI {uri!r}: package {package!r} not found under the mesh roots", package)


def _package_dir(candidate: Path, parts: Sequence[str]) -> Path:
    """The package directory of a candidate file ``<package dir>/<parts>``."""
    return candidate.parents[len(parts) - 1]


def _resolve_path(uri: str, path_text: str, roots: MeshRoots, base_dir: Path | None) -> Path:
    _safe_parts(path_text, uri, "")
    path = Path(path_text)
    if not path.is_absolute():
        if base_dir is None:
            raise MeshPathError(f"mesh URI {uri!r}: a relative path needs a URDF file to be relative to")
        path = base_dir / path
    allowed = roots.allowed_dirs()
    written = [root.absolute() for root in (*roots.roots, *roots.packages.values())]
    if not any(_inside(path.absolute(), base) for base in (*allowed, *written)):
        raise MeshPathError(f"mesh URI {uri!r} refused: outside the mesh roots")
    found = _checked(path, allowed, uri, "")
    if found is None:
        raise MeshPathError(f"mesh URI {uri!r}: no such file under the mesh roots")
    return found


def resolve_mesh_uri(uri: str, roots: MeshRoots, base_dir: Path | None = None) -> Path:
    """The file a mesh URI names, inside the roots; :class:`MeshPathError` when refused or missing.

    ``base_dir`` is the URDF file's directory, for plain relative paths (a description from a topic has
    none). Whatever the form, the file found must lie under a root once symlinks are resolved.
    """
    parsed = urlsplit(uri)
    if parsed.scheme == PACKAGE_SCHEME:
        return _resolve_package(uri, parsed.netloc, parsed.path, roots)
    if parsed.scheme == FILE_SCHEME:
        if parsed.netloc not in ("", "localhost"):
            raise MeshPathError(f"mesh URI {uri!r} refused: a file URI on another host")
        return _resolve_path(uri, unquote(parsed.path), roots, base_dir)
    if parsed.scheme:
        raise MeshPathError(f"mesh URI {uri!r} refused: scheme {parsed.scheme!r} is not package or file")
    return _resolve_path(uri, uri, roots, base_dir)
