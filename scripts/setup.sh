#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian 12 machine, into .venv at the project root:
# Debian packages (build tools, Xvfb and the libraries Qt's xcb platform loads), the pinned Python
# packages of requirements.txt (ROS 2 wheels and colcon included), the project itself (editable, its C
# extensions built in place),
# ROS 2 launch from the sources in ../shared/vendor/ros2_launch (PyPI has no wheel), and the interface
# packages tf2_msgs and composition_interfaces built into the venv. Each step checks first, so re-running
# it is fast and changes nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VENV="$ROOT/.venv"
PYTHON=${PYTHON:-python3}
say() { echo "setup: $*"; }

DEBIAN_PACKAGES=(
  cmake g++ make
  # The C extensions (setup.py): the C compiler and the headers of Debian's Python.
  gcc python3-dev
  xvfb xauth libgl1 libegl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libglib2.0-0 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0
  libxcb-image0 libxcb-xinerama0 libxcb-xkb1
  # Rerun's own viewer renders under Xvfb only with Mesa's Vulkan driver (test_rerun_viewer_parity.py).
  mesa-vulkan-drivers libvulkan1
  # The stream's TLS test makes its certificate with openssl (test/sinks/test_stream.py).
  openssl
)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x $VENV/bin/python ]]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# Reinstall the pinned packages only when requirements.txt changed since the last successful install.
stamp="$VENV/.requirements.sha256"
wanted=$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
  say "installing pinned Python packages (requirements.txt)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt"
  echo "$wanted" >"$stamp"
fi

# Both console scripts: an older venv has only rerun-bridge, and setup.py's entry points are read at install.
if [[ ! -x $VENV/bin/rerun-bridge || ! -x $VENV/bin/bridge_node ]]; then
  say "installing rerun_bridge (editable)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
fi

# The optional C extensions (rerun_bridge/convert/_cloud_native.c: a PointCloud2's points;
# rerun_bridge/cdr/_marker_walk.c: a MarkerArray's layout), built in place and rebuilt when a source
# changed; the tests require them (test_cloud_native.py, test_marker_walk.py).
stale=0
for source in "$ROOT"/rerun_bridge/convert/_cloud_native.c "$ROOT"/rerun_bridge/cdr/_marker_walk.c; do
  built=$(compgen -G "${source%.c}.*.so" | head -n 1 || true)
  [[ -n $built && ! $source -nt $built ]] || stale=1
done
if ((stale)); then
  say "building the C extensions"
  (cd "$ROOT" && "$VENV/bin/python" setup.py -q build_ext --inplace >/dev/null)
fi

# The package's bytecode, as pip compiles a regular install: an editable install run with
# PYTHONDONTWRITEBYTECODE set (CI images, containers) would compile all its modules at every start
# (0.1 s of every `rerun-bridge convert` here). Stale files are recompiled; it takes a second.
"$VENV/bin/python" -m compileall -q -j 0 "$ROOT/rerun_bridge" >/dev/null

bash "$ROOT/scripts/build_ros_interfaces.sh" "$VENV"

# ROS 2 launch (jazzy) for the launch tests: unmodified sources beside the project, installed without
# their dependencies (ros2launch asks for ros2cli, which is not on PyPI; its API needs only launch).
LAUNCH_SOURCES="$ROOT/../shared/vendor/ros2_launch"
LAUNCH_PACKAGES=(launch launch_xml launch_yaml launch_ros ros2launch)
if ! (cd / && "$VENV/bin/python" -c 'import launch, launch_xml, launch_yaml, launch_ros.actions, ros2launch.api') \
  >/dev/null 2>&1; then
  say "installing ROS 2 launch from $LAUNCH_SOURCES: ${LAUNCH_PACKAGES[*]}"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
    "${LAUNCH_PACKAGES[@]/#/$LAUNCH_SOURCES/}"
fi

# Rerun's analytics stay off for everything run through this venv's tools.
XDG_CONFIG_HOME="$VENV/.config" XDG_DATA_HOME="$VENV/.local" "$VENV/bin/rerun" analytics disable >/dev/null 2>&1 || true
say "ready: $VENV"
