"""The Dockerfile passes hadolint (no Docker engine exists here to build it)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_lints_clean():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    proc = subprocess.run([hadolint, "--no-color", str(ROOT / "docker" / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_builds_on_official_ros_image_with_colcon():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert "ARG ROS_DISTRO=kilted" in text and "FROM ros:${ROS_DISTRO}-ros-base" in text
    assert "colcon build" in text
    for path in ("src/", "launch/", "models/"):
        assert f"COPY {path}" in text
