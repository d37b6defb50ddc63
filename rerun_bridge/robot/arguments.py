"""The robot model's command-line options, shared by ``convert`` and ``view``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rerun_bridge.config import RobotModelConfig


def add_robot_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--urdf", type=Path, help="draw the robot model of this URDF file")
    parser.add_argument(
        "--mesh-root",
        action="append",
        default=[],
        metavar="DIR",
        help="robot meshes may be read from DIR/<package>/... (repeatable); no other files are read",
    )


def robot_model_of(args: argparse.Namespace) -> RobotModelConfig:
    return RobotModelConfig(
        urdf_file=str(args.urdf or ""), mesh_roots=tuple(str(root) for root in args.mesh_root)
    )
