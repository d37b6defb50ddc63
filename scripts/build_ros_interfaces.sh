#!/usr/bin/env bash
# Build the ROS 2 interface packages that PyPI has no wheel for and install them into a Python venv that
# gets ROS 2 from PyPI wheels:
#   - tf2_msgs (msg/TFMessage only, the type of /tf and /tf_static) from scripts/ros_interfaces/tf2_msgs;
#   - composition_interfaces (three services that launch_ros imports) from the unmodified jazzy sources
#     in ../shared/vendor/ros2_launch/composition_interfaces.
#
#   scripts/build_ros_interfaces.sh VENV_DIR
#
# Needs Debian's cmake and g++ (installed by the setup script) and the pinned build-only wheels of
# requirements-ros-build.txt, which this script pip-installs into the venv. An ordinary ament_cmake /
# rosidl build per package, installed with CMAKE_INSTALL_PREFIX=VENV: the Python package lands in the
# venv's site-packages and the libraries in VENV/lib, which ros-wheels-bootstrapper puts on
# LD_LIBRARY_PATH of every Python process of the venv. A package that already works in the venv is
# not built again.
set -euo pipefail

usage() { echo "usage: $0 VENV_DIR" >&2; exit 2; }
die() { echo "build_ros_interfaces: error: $*" >&2; exit 1; }
say() { echo "build_ros_interfaces: $*"; }

[[ $# -eq 1 ]] || usage
[[ -d $1 ]] || die "venv directory not found: $1"
VENV=$(cd "$1" && pwd -P)
PY="$VENV/bin/python"
[[ -x $PY ]] || die "$PY not found: pass the root of a Python venv"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD_REQS="$REPO/requirements-ros-build.txt"
LAUNCH_SOURCES="$REPO/../shared/vendor/ros2_launch"

# name | source folder | Python code that loads the package and its C type support (the .so files).
PACKAGES=(
  "tf2_msgs|$REPO/scripts/ros_interfaces/tf2_msgs|from tf2_msgs.msg import TFMessage as T"
  "composition_interfaces|$LAUNCH_SOURCES/composition_interfaces|from composition_interfaces.srv import LoadNode as T"
)

# ros-wheels-bootstrapper re-executes the venv's python with LD_LIBRARY_PATH set, unless this guard
# is inherited (e.g. when this script is started from another venv's Python process): clear it so
# that the target venv's libraries are found. Keep a sourced ROS install (/opt/ros/...) out of the
# build and of the checks: only the venv's packages may be used.
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE PYTHONPATH CMAKE_PREFIX_PATH COLCON_PREFIX_PATH AMENT_PREFIX_PATH \
  PYTHONHOME || true

check_code() { echo "$1; T.__class__.__import_type_support__(); import rclpy"; }
package_works() { (cd / && "$PY" -c "$(check_code "$1")") >/dev/null 2>&1; }

to_build=()
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name source import_line <<<"$entry"
  if package_works "$import_line"; then
    say "$name already importable from $VENV"
  else
    [[ -f $source/package.xml ]] || die "sources of $name not found in $source"
    to_build+=("$entry")
  fi
done
((${#to_build[@]})) || exit 0

command -v cmake >/dev/null || die "cmake not found (Debian: apt-get install cmake)"
command -v g++ >/dev/null || die "g++ not found (Debian: apt-get install g++)"
command -v gcc >/dev/null || die "gcc not found (Debian: apt-get install gcc)"
(cd / && "$PY" -c 'import rclpy, geometry_msgs.msg') >/dev/null 2>&1 \
  || die "the venv lacks rclpy or geometry_msgs: install requirements.txt into it first"

say "installing build-only wheels from requirements-ros-build.txt"
"$PY" -m pip install --quiet --disable-pip-version-check -r "$BUILD_REQS"

# This machine's Python and numpy include directories.
PY_INCLUDE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
NUMPY_INCLUDE=$("$PY" -c 'import numpy; print(numpy.get_include())')
[[ -f $PY_INCLUDE/Python.h ]] \
  || die "Python.h not found in $PY_INCLUDE: install the Python headers (Debian: apt-get install python3-dev)"
[[ -d $NUMPY_INCLUDE ]] || die "numpy include directory not found: $NUMPY_INCLUDE"
# Where the venv's python imports pure packages from, relative to the venv (lib/python3.X/site-packages).
# Passed to cmake as PYTHON_INSTALL_DIR rather than left to ament_cmake_python's own guess (made from
# sysconfig schemes, which differ between Python builds), so the package lands where the venv imports.
PY_SITE_REL=$("$PY" -c 'import os, sys, sysconfig; print(os.path.relpath(sysconfig.get_paths()["purelib"], sys.prefix))')

# The wheels' exported rosidl_generator_py targets name the wheel builder's include directories
# (/opt/python/cp311-cp311/...); every generated Python extension that depends on them
# (geometry_msgs, std_msgs, ...) would get those as include paths. Point them at this machine's.
say "rewriting the wheels' rosidl_generator_py include directories to $PY_INCLUDE and $NUMPY_INCLUDE"
"$PY" -c '
import glob, os, re, sys
venv, py_inc, np_inc = sys.argv[1:4]
py_re = re.compile(r"/include/python3\.\d+$")
np_re = re.compile(r"/numpy/(_core|core)/include$")
def fix(entry):
    if os.path.isdir(entry):
        return entry
    if py_re.search(entry):
        return py_inc
    if np_re.search(entry):
        return np_inc
    return entry
def fix_line(m):
    return m.group(1) + ";".join(fix(e) for e in m.group(2).split(";")) + m.group(3)
changed = 0
for path in glob.glob(os.path.join(venv, "share", "*", "cmake", "*rosidl_generator_pyExport.cmake")):
    with open(path) as f:
        text = f.read()
    new = re.sub(r"(INTERFACE_INCLUDE_DIRECTORIES \")([^\"]*)(\")", fix_line, text)
    if new != text:
        with open(path, "w") as f:
            f.write(new)
        changed += 1
print(f"build_ros_interfaces: rewrote {changed} export file(s)")
' "$VENV" "$PY_INCLUDE" "$NUMPY_INCLUDE"

BUILD_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/ros_interfaces_build.XXXXXX")
LOG="$BUILD_ROOT/build.log"
cleanup() { rm -rf "$BUILD_ROOT"; }
trap cleanup EXIT

run_logged() {
  if ! "$@" >>"$LOG" 2>&1; then
    echo "build_ros_interfaces: command failed: $*" >&2
    echo "---- last lines of the build log ----" >&2
    tail -n 60 "$LOG" >&2
    exit 1
  fi
}

export AMENT_PREFIX_PATH="$VENV"
export PATH="$VENV/bin:$PATH"

for entry in "${to_build[@]}"; do
  IFS='|' read -r name source import_line <<<"$entry"
  package_start=$SECONDS
  build_dir="$BUILD_ROOT/$name"
  say "configuring, building and installing $name into $VENV (build dir $build_dir)"
  # cmake only reads the source folder (the vendored one is read-only); everything is written to build_dir.
  run_logged cmake -S "$source" -B "$build_dir" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$VENV" \
    -DCMAKE_PREFIX_PATH="$VENV" \
    -DPython3_EXECUTABLE="$PY" \
    -DPython3_FIND_VIRTUALENV=ONLY \
    -DPYTHON_INSTALL_DIR="$PY_SITE_REL" \
    -DBUILD_TESTING=OFF
  run_logged cmake --build "$build_dir" --parallel "$(nproc)"
  run_logged cmake --install "$build_dir"

  # The libraries must be where the bootstrapper's LD_LIBRARY_PATH looks (VENV/lib), the package where
  # the venv's python imports from.
  for lib in rosidl_generator_c rosidl_generator_py rosidl_typesupport_c rosidl_typesupport_fastrtps_c \
    rosidl_typesupport_fastrtps_cpp rosidl_typesupport_introspection_c rosidl_typesupport_cpp; do
    [[ -f $VENV/lib/lib${name}__$lib.so ]] || die "installed library missing: $VENV/lib/lib${name}__$lib.so"
  done
  [[ -d $VENV/$PY_SITE_REL/$name ]] || die "installed Python package missing: $VENV/$PY_SITE_REL/$name"

  if ! package_works "$import_line"; then
    (cd / && "$PY" -c "$(check_code "$import_line")") || true
    die "$name was installed into $VENV but does not import (see the error above)"
  fi
  say "$name built and installed into $VENV in $((SECONDS - package_start)) s"
done
