"""Launch arguments and ROS parameters become the declared parameter types, or one error names them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerun_bridge.launch_support import FixedArgumentError, typed_parameters
from rerun_bridge.parameters import PARAMETERS, ParameterTypeError, typed_value


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        ("4", 0.0, 4.0),  # duration:=4, an integer to YAML
        ("2.5", 0.0, 2.5),
        (4, 0.0, 4.0),  # -p duration:=4 as rclpy types it
        ("true", False, True),
        ("False", False, False),
        (True, False, True),
        ("out.rrd", "", "out.rrd"),
        ("123", "", "123"),  # a file named 123 stays text
        (123, "", "123"),
        ("", "", ""),
    ],
)
def test_values_become_the_declared_type(
    value: object, default: bool | float | str, expected: object
) -> None:
    converted = typed_value("name", value, default)
    assert converted == expected
    assert type(converted) is type(default)


@pytest.mark.parametrize(
    ("value", "default", "message"),
    [
        (
            "soon",
            0.0,
            "launch argument 'duration': expected a number, got 'soon' (for example duration:=0.0)",
        ),
        ("true", 0.0, "launch argument 'duration': expected a number, got 'true'"),
        (
            "1",
            False,
            "launch argument 'duration': expected true or false, got '1' (for example duration:=false)",
        ),
        ("", False, "launch argument 'duration': expected true or false, got ''"),
        (1.5, "", "launch argument 'duration': expected text (a path or a name), got 1.5"),
        # A negative duration ran until SIGINT, silently, as 0 does.
        (
            "-5",
            0.0,
            "launch argument 'duration': expected a number >= 0, got '-5' (for example duration:=0.0)",
        ),
        (-1, 0.0, "launch argument 'duration': expected a number >= 0, got -1"),
        (".nan", 0.0, "launch argument 'duration': expected a number >= 0, got '.nan'"),
    ],
)
def test_a_value_that_does_not_fit_names_the_argument(
    value: object, default: bool | float | str, message: str
) -> None:
    with pytest.raises(ParameterTypeError) as raised:
        typed_value("duration", value, default, kind="launch argument")
    assert str(raised.value).startswith(message)


def test_launch_arguments_are_typed_and_fixed_parameters_kept() -> None:
    arguments = {name: str(default).lower() for name, (default, _text) in PARAMETERS.items()}
    arguments.update({"duration": "10", "rrd_path": "run.rrd", "use_sim_time": "true"})
    del arguments["viewer"]
    parameters = typed_parameters(arguments, fixed={"viewer": False})
    assert parameters["duration"] == 10.0
    assert isinstance(parameters["duration"], float)
    assert parameters["viewer"] is False
    assert parameters["use_sim_time"] is True
    assert parameters["rrd_path"] == "run.rrd"


def test_a_fixed_parameter_given_as_an_argument_is_an_error() -> None:
    arguments = {name: str(default).lower() for name, (default, _text) in PARAMETERS.items()}
    arguments["use_sim_time"] = "false"
    with pytest.raises(
        FixedArgumentError, match="launch argument 'viewer' is not offered by this launch file"
    ):
        typed_parameters(arguments, fixed={"viewer": False})


def test_the_launch_files_arguments_are_all_listed_in_docs_ros() -> None:
    """docs/ros.md's list of launch arguments had lost the network ones (serve, token, connect, summary)."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "ros.md").read_text(encoding="utf-8")
    listed = text.split("Arguments: ", 1)[1].split("\n\n", 1)[0]
    missing = [
        name for name in [*PARAMETERS, "use_sim_time", "node_name", "namespace"] if f"`{name}`" not in listed
    ]
    assert missing == []
