"""package.xml for rosdep, and the pip file for ROS machines: every dependency installable and declared.

A package.xml dependency that is neither a ROS package nor a rosdep key fails `rosdep install` on a
user's machine; a key that only pip-installs (`*-pip`) is refused on Ubuntu 24.04 (PEP 668 protects the
system Python), so those packages are in requirements-ros.txt, for a venv. Keys are checked against
rosdep's own database in ../shared/vendor/rosdistro_rosdep; ROS package names against the ament index
of the packages installed here (PyPI wheels, launch from source, the interface packages we build).
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from test.conftest import ROOT

ROSDEP_DATABASE = ROOT.parent / "shared" / "vendor" / "rosdistro_rosdep"
AMENT_INDEX = Path(sys.prefix) / "share" / "ament_index" / "resource_index" / "packages"
# The platforms the README's apt instructions are for: Ubuntu 24.04 (Jazzy), and Debian 12 (our CI's).
PLATFORMS = (("ubuntu", "noble"), ("debian", "bookworm"))
DEPENDENCY_TAGS = ("depend", "exec_depend", "build_depend", "build_export_depend", "test_depend")

# Every third-party module the package imports -> what installs it on a ROS machine: a package.xml
# dependency (ROS package or rosdep key) and/or a pip package of requirements-ros.txt.
IMPORTS: dict[str, tuple[str | None, str | None]] = {
    "rclpy": ("rclpy", None),
    "launch": ("launch", None),
    "launch_ros": ("launch_ros", None),
    "rcl_interfaces": ("rcl_interfaces", None),
    "diagnostic_msgs": ("diagnostic_msgs", None),
    "numpy": ("python3-numpy", "numpy"),  # numpy 2 for rerun-sdk, over the distro's 1.26
    "yaml": ("python3-yaml", None),
    "PyQt6": ("python3-pyqt6", None),
    "pyqtgraph": ("python3-pyqtgraph", "pyqtgraph"),  # 0.14 (numpy 2) over Ubuntu 24.04's 0.13.4
    "OpenGL": ("python3-opengl", None),
    "rerun": (None, "rerun-sdk"),
    "attrs": (None, "rerun-sdk"),  # one of rerun-sdk's dependencies
    "pyarrow": (None, "pyarrow"),
    "mcap": (None, "mcap"),
    "zstandard": (None, "zstandard"),
    "lz4": (None, "lz4"),
    "isal": (None, "isal"),  # MCAP chunk CRCs (ISA-L's SIMD crc32); no rosdep key
    "rosbags": (None, "rosbags"),  # its key python3-rosbags-pip pip-installs into the system Python
    "lxml": ("python3-lxml", None),
    "PIL": ("python3-pil", None),  # split mode's JPEG summary (Image.reduce and JPEG: any Pillow since 7)
    "trimesh": (None, "trimesh"),  # 5.2 over the distros' older trimesh
    "yourdfpy": (None, "yourdfpy"),  # no rosdep key
    "ray": (None, "ray"),  # batches (docs/fleet.md); its rosdep key is a pip one
    "duckdb": (None, "duckdb"),  # the catalog's queries
    "xxhash": (None, "xxhash"),  # recordings' content hashes
}


def _dependencies() -> dict[str, str]:
    root = ET.parse(ROOT / "package.xml").getroot()
    return {element.text or "": element.tag for tag in DEPENDENCY_TAGS for element in root.iter(tag)}


@cache
def _rosdep_keys() -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for name in ("base.yaml", "python.yaml"):
        keys.update(yaml.load((ROSDEP_DATABASE / name).read_text(), Loader=yaml.CSafeLoader))
    return keys


def _system_packages(key: str, os_name: str, codename: str) -> list[str] | None:
    """What rosdep installs for ``key`` on that platform with the system package manager; None when
    it has nothing there or only a pip install."""
    rule = _rosdep_keys()[key].get(os_name)
    if isinstance(rule, dict):
        rule = rule.get(codename, rule.get("*"))
    return list(rule) if isinstance(rule, list) and rule else None


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            pins[name.lower()] = version
    return pins


def _third_party_imports() -> set[str]:
    ours = {"rerun_bridge", "rviz_compat"}
    found: set[str] = set()
    for package in ours:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found - ours - set(sys.stdlib_module_names)


def test_every_dependency_is_a_ros_package_or_a_rosdep_key_with_a_system_package() -> None:
    for name in _dependencies():
        if (AMENT_INDEX / name).is_file():
            continue  # a ROS package (the distribution files resolve it)
        assert name in _rosdep_keys(), f"package.xml: {name} is neither a ROS package nor a rosdep key"
        for os_name, codename in PLATFORMS:
            assert _system_packages(name, os_name, codename), (
                f"package.xml: rosdep key {name} installs no {os_name} {codename} package (pip-only keys "
                "belong in requirements-ros.txt)"
            )


def test_the_ros_packages_are_the_ones_the_node_and_launch_files_need() -> None:
    ros_packages = {name for name in _dependencies() if (AMENT_INDEX / name).is_file()}
    assert {"rclpy", "launch", "launch_ros", "ros2launch", "tf2_msgs", "sensor_msgs"} <= ros_packages


def test_every_import_is_installed_by_rosdep_or_the_ros_pip_file() -> None:
    dependencies = _dependencies()
    ros_pins = _pins(ROOT / "requirements-ros.txt")
    imports = _third_party_imports()
    assert imports <= set(IMPORTS), f"imports with no known installer: {sorted(imports - set(IMPORTS))}"
    for module in imports:
        rosdep, pip = IMPORTS[module]
        assert rosdep is None or rosdep in dependencies, f"{module}: {rosdep} missing from package.xml"
        assert pip is None or pip in ros_pins, f"{module}: {pip} missing from requirements-ros.txt"


def test_the_ros_pip_file_pins_what_the_suite_tests() -> None:
    tested = _pins(ROOT / "requirements.txt")
    for name, version in _pins(ROOT / "requirements-ros.txt").items():
        assert tested.get(name) == version, (name, version, tested.get(name))


def test_where_the_fast_dds_profile_is_set_both_of_its_names_are() -> None:
    """Fast DDS 2 (Humble, Jazzy) reads only FASTRTPS_DEFAULT_PROFILES_FILE, Fast DDS 3 (Kilted) only
    FASTDDS_DEFAULT_PROFILES_FILE: a doc or launch file naming one would silently lose the profile on the
    other distros. (Tests run on the Fast DDS 3 wheels and set the one name those read.)"""
    names = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "config").glob("*.xml")]
    files += [
        *(ROOT / "launch").glob("*.py"),
        *(ROOT / "bench").glob("*.py"),
        *(ROOT / "rerun_bridge").rglob("*.py"),
    ]
    setting = [path for path in files if any(name in path.read_text() for name in names)]
    assert ROOT / "docs" / "live.md" in setting
    for path in setting:
        text = path.read_text()
        assert all(name in text for name in names), f"{path.relative_to(ROOT)} names only one of {names}"
