#!/usr/bin/env bash
# Build the ROS 2 interface package tf2_msgs (msg/TFMessage only) from scripts/ros_interfaces/tf2_msgs
# and install it into a Python venv that gets ROS 2 from PyPI wheels (PyPI has no tf2_msgs wheel).
#
#   scripts/build_ros_interfaces.sh VENV_DIR
#
# Needs Debian's cmake and g++ (installed by the setup script) and the pinned build-only wheels of
# requirements-ros-build.txt, which this script pip-installs into the venv. An ordinary ament_cmake /
# rosidl build, installed with CMAKE_INSTALL_PREFIX=VENV: the Python package lands in the venv's
# site-packages and the libraries in VENV/lib, which ros-wheels-bootstrapper puts on LD_LIBRARY_PATH
# of every Python process of the venv. Does nothing when tf2_msgs already works in the venv.
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
PKG_SRC="$REPO/scripts/ros_interfaces/tf2_msgs"
BUILD_REQS="$REPO/requirements-ros-build.txt"

# ros-wheels-bootstrapper re-executes the venv's python with LD_LIBRARY_PATH set, unless this guard
# is inherited (e.g. when this script is started from another venv's Python process): clear it so
# that the target venv's libraries are found. Keep a sourced ROS install (/opt/ros/...) out of the
# build and of the checks: only the venv's packages may be used.
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE PYTHONPATH CMAKE_PREFIX_PATH COLCON_PREFIX_PATH AMENT_PREFIX_PATH \
  PYTHONHOME || true

# Loads the Python package and its C type support (the .so files), not just the .py files.
CHECK_CODE='from tf2_msgs.msg import TFMessage; TFMessage.__class__.__import_type_support__(); import rclpy'

tf2_msgs_works() { (cd / && "$PY" -c "$CHECK_CODE") >/dev/null 2>&1; }

if tf2_msgs_works; then
  say "tf2_msgs already importable from $VENV: nothing to do"
  exit 0
fi

start=$SECONDS

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

BUILD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tf2_msgs_build.XXXXXX")
LOG="$BUILD_DIR/build.log"
cleanup() { rm -rf "$BUILD_DIR"; }
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

say "configuring, building and installing tf2_msgs into $VENV (build dir $BUILD_DIR)"
run_logged cmake -S "$PKG_SRC" -B "$BUILD_DIR" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$VENV" \
  -DCMAKE_PREFIX_PATH="$VENV" \
  -DPython3_EXECUTABLE="$PY" \
  -DPython3_FIND_VIRTUALENV=ONLY \
  -DPYTHON_INSTALL_DIR="$PY_SITE_REL" \
  -DBUILD_TESTING=OFF
run_logged cmake --build "$BUILD_DIR" --parallel "$(nproc)"
run_logged cmake --install "$BUILD_DIR"

# The libraries must be where the bootstrapper's LD_LIBRARY_PATH looks (VENV/lib), the package where
# the venv's python imports from.
for lib in rosidl_generator_c rosidl_generator_py rosidl_typesupport_c rosidl_typesupport_fastrtps_c \
  rosidl_typesupport_fastrtps_cpp rosidl_typesupport_introspection_c rosidl_typesupport_cpp; do
  [[ -f $VENV/lib/libtf2_msgs__$lib.so ]] || die "installed library missing: $VENV/lib/libtf2_msgs__$lib.so"
done
[[ -d $VENV/$PY_SITE_REL/tf2_msgs/msg ]] || die "installed Python package missing: $VENV/$PY_SITE_REL/tf2_msgs"

if ! tf2_msgs_works; then
  (cd / && "$PY" -c "$CHECK_CODE") || true
  die "tf2_msgs was installed into $VENV but does not import (see the error above)"
fi
say "tf2_msgs built and installed into $VENV in $((SECONDS - start)) s"
