#!/usr/bin/env bash
# One-shot set-up of a development machine: Debian packages (when root), the Python 3.11
# venv at .venv with every dependency pinned in requirements.lock, lsv_msgs built from the
# ROS 2 wheels, and the src/ packages installed editable.
#
# Each step is skipped when its stamp in .venv/ is newer than what it depends on, so a
# second run does nothing. `make setup` calls this; so do `make test` and `make sim`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
venv="$repo/.venv"
PYTHON=${PYTHON:-python3.11}

say() { printf '[setup] %s\n' "$*"; }
newer() {  # newer STAMP FILE...: true when STAMP is missing or older than any FILE
  local stamp=$1; shift
  [ -f "$stamp" ] || return 0
  for f in "$@"; do [ "$f" -nt "$stamp" ] && return 0; done
  return 1
}

# Python 3.11: the ROS 2 Kilted wheels exist for cp311 only.
if ! command -v "$PYTHON" >/dev/null 2>&1 || \
   ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  cat >&2 <<MSG
[setup] error: Python 3.11 is required ('$PYTHON' not found or not 3.11).
        The ROS 2 Kilted wheels from PyPI are built for CPython 3.11 only.
          Debian 12:     sudo apt install python3.11 python3.11-venv python3.11-dev
          Ubuntu 24.04:  sudo add-apt-repository ppa:deadsnakes/ppa &&
                         sudo apt install python3.11 python3.11-venv python3.11-dev
          any distro:    pyenv install 3.11 && pyenv local 3.11
        or point PYTHON at one: make setup PYTHON=/path/to/python3.11
MSG
  exit 1
fi

# Debian packages: libusb for open3d, iproute2 for the network-namespace test sandbox,
# cmake and a compiler for lsv_msgs.
apt_needed=()
for pkg in libusb-1.0-0 iproute2 cmake g++ make; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || apt_needed+=("$pkg")
done
if [ ${#apt_needed[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${apt_needed[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_needed[@]}" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_needed[@]}" >/dev/null; }
  elif command -v dpkg-query >/dev/null; then
    say "warning: missing Debian packages: ${apt_needed[*]} (run: sudo apt install ${apt_needed[*]})" >&2
  fi
fi

# The venv.
if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  say "existing .venv is not Python 3.11: recreating it"
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  say "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$venv" || { say "error: '$PYTHON -m venv' failed; install python3.11-venv" >&2; exit 1; }
fi

# One set-up at a time (make test and make sim started together, or two shells).
exec 9>"$venv/.setup.lock"
flock 9

if newer "$venv/.stamp-deps" requirements.lock; then
  say "installing pinned dependencies (requirements.lock; a few minutes the first time)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
  touch "$venv/.stamp-deps"
fi

if newer "$venv/.stamp-msgs" "$venv/.stamp-deps" src/msgs/CMakeLists.txt src/msgs/package.xml \
        src/msgs/msg/*.msg scripts/ros_wheels_fixups.sh; then
  scripts/ros_wheels_fixups.sh "$venv"
  touch "$venv/.stamp-msgs"
fi

mapfile -t py_pkgs < <(ls -d src/*/setup.py 2>/dev/null | xargs -n1 dirname)
if newer "$venv/.stamp-src" "$venv/.stamp-msgs" scripts/setup.sh "${py_pkgs[@]/%//setup.py}" "${py_pkgs[@]/%//setup.cfg}" "${py_pkgs[@]/%//package.xml}"; then
  say "installing ${#py_pkgs[@]} stack packages editable: ${py_pkgs[*]##*/}"
  args=()
  for p in "${py_pkgs[@]}"; do args+=(-e "$p"); done
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation "${args[@]}" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
  # setup.cfg puts console scripts in lib/<pkg>/ (where `ros2 run` looks on a colcon
  # install); link them into .venv/bin so that `.venv/bin/lsv` and friends work here.
  for exe in "$venv"/lib/lsv_*/*; do
    [ -f "$exe" ] && [ -x "$exe" ] && ln -sf "$exe" "$venv/bin/$(basename "$exe")"
  done
  touch "$venv/.stamp-src"
fi
# ament index + share/ of the editable packages (links into src/; says something only when it changed
# a link): `ros2 launch` and get_package_share_directory then find them in this venv
"$venv/bin/python" scripts/register_dev_packages.py "$venv"
say "ready: $venv ($("$venv/bin/python" --version))"
