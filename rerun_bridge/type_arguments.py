"""``--config`` and ``--msg-path``, shared by ``convert``, ``view`` and ``info``: kept apart from
:mod:`rerun_bridge.custom_types` (which reads them, :func:`~rerun_bridge.custom_types.command_line_types`)
so that building the command line imports nothing heavy."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_type_arguments(parser: argparse.ArgumentParser, config: bool = True) -> None:
    """``--msg-path`` (and ``--config``): the custom types and converter options a command applies."""
    if config:
        parser.add_argument(
            "--config",
            type=Path,
            help="bridge config whose custom_types section (mappings, msg_path, leaf_scalars) and "
            "topics.<topic>.options apply",
        )
    parser.add_argument(
        "--msg-path",
        action="append",
        default=[],
        metavar="DIR",
        help=".msg / .idl definitions for types the recordings do not define (repeatable)",
    )
