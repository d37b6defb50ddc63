"""The robot model's settings: from the config's ``robot_model`` section, and the command-line options
that ``convert`` and ``view`` share."""

from __future__ import annotations

import argparse
from pathlib import Path

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.robot.uris import MeshRoots


def robot_model_setup(cfg: RobotModelConfig) -> tuple[MeshRoots, Path | None]:
    """The mesh roots and URDF file of the config, as :meth:`Pipeline.use_robot_model` takes them."""
    roots = MeshRoots.of(cfg.mesh_roots, cfg.packages)
    return roots, Path(cfg.urdf_file) if cfg.urdf_file else None


def add_robot_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--urdf", type=_urdf_file, help="draw the robot model of this URDF file")
    parser.add_argument(
        "--mesh-root",
        action="append",
        default=[],
        type=_mesh_root,
        metavar="DIR",
        help="robot meshes may be read from DIR/<package>/... (repeatable); no other files are read",
    )


def _urdf_file(text: str) -> Path:
    """A ``--urdf`` that names no file is a wrong argument (exit 2), as a missing ``--mesh-root`` or
    ``--config`` is: a warning and exit 0 left the robot out of the recording unnoticed. A file that is
    there but does not parse stays one warning (the rest converts)."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    return Path(text)


def _mesh_root(text: str) -> str:
    """A ``--mesh-root`` that names no folder is a wrong argument: a typo would only show as every mesh
    of the robot "not found under the mesh roots"."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
    return text


def robot_model_of(args: argparse.Namespace) -> RobotModelConfig:
    return RobotModelConfig(
        urdf_file=str(args.urdf or ""), mesh_roots=tuple(str(root) for root in args.mesh_root)
    )
