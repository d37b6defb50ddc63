"""The node's ROS parameters, and how a value as a user typed it becomes the declared parameter's type.

One place for both doors into the node: launch arguments (always text: ``duration:=4``) and ROS
parameters (``--ros-args -p duration:=4``, params files, ``<param>`` in XML launch files), which rclpy
types the YAML way, so ``4`` arrives as an integer where the node declares a double. Values that mean
what the user wrote are converted (``4`` -> ``4.0``); anything else is one error naming the argument.
No rclpy here: the launch files and the unit tests import it too.
"""

from __future__ import annotations

from typing import Any

import yaml

from rerun_bridge.errors import BridgeError

#: Every ROS parameter, declared once with its default and description; the launch files offer them as
#: arguments and convert each to the type of its default.
PARAMETERS: dict[str, tuple[Any, str]] = {
    "config_file": (
        "",
        "bridge config YAML (topics, TF options, sinks); empty: bridge every convertible topic",
    ),
    "rrd_path": ("", "write an .rrd here (overrides sinks.rrd.path)"),
    "mcap_path": ("", "write a raw .mcap re-recording here (overrides sinks.mcap.path)"),
    "blueprint": ("", "viewer blueprint name or file (overrides sinks.viewer.blueprint)"),
    "viewer": (False, "open the embedded viewer (overrides sinks.viewer.enabled)"),
    "duration": (0.0, "stop after this many seconds (0: run until SIGINT / SIGTERM)"),
    "serve": (
        "",
        "serve the network stream on HOST:PORT (enables sinks.stream, sets its bind; a non-loopback "
        "host needs a token)",
    ),
    "token": ("", "the stream's bearer token (overrides sinks.stream.token)"),
    "connect": (
        "",
        "also send to the Rerun viewer listening there, rerun+http://HOST:PORT/proxy "
        "(overrides sinks.rerun_viewer.url)",
    ),
    "summary": (
        False,
        "split mode: the stream and the Rerun viewer get the summary under sinks.summary's bandwidth budget; "
        "the files stay full",
    ),
}

ParameterValue = bool | float | str

#: Number parameters a negative value makes no sense for (``duration:=-5`` ran until stopped, silently).
NON_NEGATIVE = frozenset({"duration"})

_EXPECTED = {bool: "true or false", float: "a number", str: "text (a path or a name)"}


class ParameterTypeError(BridgeError):
    """A parameter or launch argument whose value cannot be read as its declared type."""


def _scalar(text: str) -> Any:
    # The YAML reading ROS applies to `-p name:=value` and to launch arguments put in parameters.
    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def typed_value(name: str, value: object, default: ParameterValue, kind: str = "parameter") -> ParameterValue:
    """``value`` as the type of ``default``. ``kind`` names where it came from in the error message
    ("launch argument", "parameter"). Text is read the YAML way for booleans and numbers; a number is
    accepted for text (``rrd_path:=123`` is the file ``123``), an integer for a float."""
    expected = type(default)
    if expected is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    else:
        parsed = _scalar(value) if isinstance(value, str) else value
        if expected is bool and isinstance(parsed, bool):
            return parsed
        if expected is float and isinstance(parsed, int | float) and not isinstance(parsed, bool):
            if float(parsed) >= 0 or name not in NON_NEGATIVE:
                return float(parsed)
            raise ParameterTypeError(
                f"{kind} '{name}': expected a number >= 0, got {value!r} (for example {name}:={default})"
            )
    raise ParameterTypeError(
        f"{kind} '{name}': expected {_EXPECTED[expected]}, got {value!r}"
        + (f" (for example {name}:={str(default).lower()})" if expected is not str else "")
    )
