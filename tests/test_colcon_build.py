"""The same packages build with colcon (as on a vehicle with a full ROS 2), and the launch
files resolve against the colcon install prefix: packages by ament index, executables in
lib/<package>/, parameter files in share/<package>/config/."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lsv_bringup.launch_file import LaunchLoader
from lsv_bringup.packages import PackageIndex

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_colcon_builds_the_python_packages_and_launch_files_resolve_against_the_install(tmp_path):
    venv = Path(sys.executable).parent.parent
    env = {**os.environ, "AMENT_PREFIX_PATH": str(venv), "CMAKE_PREFIX_PATH": str(venv),
           "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    # lsv_msgs (ament_cmake) is built by `make setup` with the same colcon; the rest here.
    proc = subprocess.run(
        [str(venv / "bin" / "colcon"), "--log-base", str(tmp_path / "log"), "build", "--base-paths", str(ROOT / "src"),
         "--packages-ignore", "lsv_msgs", "--build-base", str(tmp_path / "build"),
         "--install-base", str(tmp_path / "install"), "--merge-install"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    install = tmp_path / "install"
    index = PackageIndex(workspace=None, prefixes=[install])
    plan = LaunchLoader(index).load(ROOT / "launch" / "sim.launch.yaml")
    assert plan.nodes
    for node in plan.nodes:
        assert node.executable.path is not None and node.executable.path.is_relative_to(install / "lib")
        for params in node.params_files:
            assert params.is_relative_to(install / "share" / node.package / "config")
    # data the nodes read at run time is installed too
    assert (install / "share" / "lsv_can_bridge" / "dbc" / "lsv_chassis.dbc").is_file()
