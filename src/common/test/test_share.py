"""One resolver for package files (lsv_common.share): ament index, then the source tree, then the
package's own install prefix; never the interpreter's sys.prefix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lsv_common import share

ROOT = Path(__file__).resolve().parents[3]


def test_source_tree_files_are_found_without_an_ament_index(monkeypatch):
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    assert share.find_package_file("lsv_can_bridge", "dbc/lsv_chassis.yaml") == \
        ROOT / "src" / "can_bridge" / "dbc" / "lsv_chassis.yaml"
    assert share.find_package_file("lsv_perception", "models/point_classifier.onnx").resolve() == \
        ROOT / "models" / "point_classifier.onnx"
    found, looked = share.resolve_package_url("package://lsv_sim/maps/district.osm")
    assert found == ROOT / "src" / "sim" / "maps" / "district.osm" and looked


def test_a_missing_file_names_every_place_looked_at(monkeypatch):
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    with pytest.raises(share.PackageFileError, match=r"lsv_can_bridge: 'dbc/nope.yaml' not found .*src/can_bridge"):
        share.find_package_file("lsv_can_bridge", "dbc/nope.yaml")
    with pytest.raises(share.PackageFileError, match="no share folder of lsv_nowhere"):
        share.find_package_file("lsv_nowhere", "x")


def test_the_ament_index_comes_first(tmp_path, monkeypatch):
    prefix = tmp_path / "install"
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "lsv_can_bridge").write_text("")
    (prefix / "share" / "lsv_can_bridge" / "dbc").mkdir(parents=True)
    (prefix / "share" / "lsv_can_bridge" / "dbc" / "lsv_chassis.yaml").write_text("installed: true\n")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    dirs = share.share_dirs("lsv_can_bridge")
    assert dirs[0] == prefix / "share" / "lsv_can_bridge" and dirs[1] == ROOT / "src" / "can_bridge"
    assert share.find_package_file("lsv_can_bridge", "dbc/lsv_chassis.yaml").read_text() == "installed: true\n"
    # a file only the source tree has is still found
    assert share.find_package_file("lsv_can_bridge", "dbc/lsv_chassis.dbc") == \
        ROOT / "src" / "can_bridge" / "dbc" / "lsv_chassis.dbc"


def test_an_unsourced_install_finds_its_own_share_folder_not_sys_prefix(tmp_path):
    """Hazard (issue: launch files under ros2 launch): after a colcon install the CAN bridge looked for its
    chassis YAML under sys.prefix/share (the interpreter's prefix, /usr on a system ROS) and exited 2."""
    prefix = tmp_path / "install"
    site = prefix / "lib" / "python3.11" / "site-packages"
    (site / "lsv_fake").mkdir(parents=True)
    (site / "lsv_fake" / "__init__.py").write_text("")
    (prefix / "share" / "lsv_fake" / "config").mkdir(parents=True)
    (prefix / "share" / "lsv_fake" / "package.xml").write_text("<package><name>lsv_fake</name></package>")
    (prefix / "share" / "lsv_fake" / "config" / "a.yaml").write_text("a: 1\n")
    code = ("from lsv_common import share; "
            "print(share.find_package_file('lsv_fake', 'config/a.yaml'))")
    env = {k: v for k, v in os.environ.items() if k != "AMENT_PREFIX_PATH"}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == prefix / "share" / "lsv_fake" / "config" / "a.yaml"


def test_no_package_file_lookup_goes_through_sys_prefix():
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.glob("src/*/lsv_*/**/*.py")
                 if "Path(sys.prefix)" in p.read_text()
                 and p.name not in ("recorder.py",)]  # the recorder's message definitions search, not a share file
    assert offenders == []


def test_the_dev_venv_registers_every_package_in_the_ament_index(tmp_path):
    """`make setup` links each package's data_files into the venv prefix (scripts/register_dev_packages.py),
    so get_package_share_directory / $(find-pkg-share ...) work from the development venv."""
    prefix = tmp_path / "venv"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "register_dev_packages.py"), str(prefix)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    code = ("from ament_index_python.packages import get_package_share_directory as g; "
            "import sys; print(*(g(p) for p in sys.argv[1:]))")
    pkgs = ["lsv_bringup", "lsv_can_bridge", "lsv_common", "lsv_control", "lsv_localization", "lsv_perception",
            "lsv_planning", "lsv_sim", "lsv_v2x_client"]
    out = subprocess.run([sys.executable, "-c", code, *pkgs], env={**os.environ, "AMENT_PREFIX_PATH": str(prefix)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(prefix / "share" / p) for p in pkgs]
    assert (prefix / "share" / "lsv_can_bridge" / "dbc" / "lsv_chassis.yaml").resolve() == \
        ROOT / "src" / "can_bridge" / "dbc" / "lsv_chassis.yaml"
    assert (prefix / "share" / "lsv_sim" / "maps" / "district.osm").is_file()
    assert (prefix / "share" / "lsv_perception" / "models" / "camera_detector.onnx").is_file()
    again = subprocess.run([sys.executable, str(ROOT / "scripts" / "register_dev_packages.py"), str(prefix)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout == ""  # nothing to do the second time
