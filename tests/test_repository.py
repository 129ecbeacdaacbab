"""The workspace is laid out the way DESIGN.md section 2 and STYLE.md section 13 say, so
that the same packages install with pip here and build with colcon on a vehicle."""

import configparser
import importlib
import importlib.metadata
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PY_PACKAGES = sorted(p.parent for p in ROOT.glob("src/*/setup.py"))
FOLDERS = ["msgs", "perception", "localization", "v2x_client", "planning", "control", "can_bridge", "sim",
           "bringup", "common"]


def test_every_package_folder_exists():
    for folder in FOLDERS:
        assert (ROOT / "src" / folder / "package.xml").is_file(), folder
    for top in ["launch", "models", "docker", "tests", "benchmarks", "README.md", "Makefile", ".ci/run"]:
        assert (ROOT / top).exists(), top


@pytest.mark.parametrize("pkg", PY_PACKAGES, ids=lambda p: p.name)
def test_python_package_is_complete(pkg):
    name = ET.parse(pkg / "package.xml").getroot().findtext("name")
    assert re.search(rf'PACKAGE = "{name}"', (pkg / "setup.py").read_text()), "setup.py name != package.xml name"
    assert (pkg / "resource" / name).is_file()
    assert (pkg / name / "__init__.py").is_file()
    modules = [m for m in (pkg / name).rglob("*.py") if m.name != "__init__.py"]
    if modules:  # a package with code has tests next to it
        assert list((pkg / "test").glob("test_*.py")), f"{pkg.name} has code but no test/test_*.py"
    assert (pkg / "README.md").is_file()
    assert ET.parse(pkg / "package.xml").getroot().find("export/build_type").text == "ament_python"
    cfg = configparser.ConfigParser()
    cfg.read(pkg / "setup.cfg")
    assert cfg["install"]["install_scripts"] == f"$base/lib/{name}"  # where ros2 run / ros2 launch look


@pytest.mark.parametrize("pkg", PY_PACKAGES, ids=lambda p: p.name)
def test_entry_points_import_and_nodes_have_params_and_docs(pkg):
    name = ET.parse(pkg / "package.xml").getroot().findtext("name")
    readme = (pkg / "README.md").read_text()
    for ep in importlib.metadata.distribution(name).entry_points:
        if ep.group != "console_scripts":
            continue
        module, func = ep.value.split(":")
        assert callable(getattr(importlib.import_module(module), func)), ep.value
        assert f"`{ep.name}`" in readme, f"{pkg.name}/README.md does not document executable {ep.name}"
        if module.endswith("_node"):
            assert (pkg / "config" / f"{ep.name}.param.yaml").is_file(), f"node {ep.name} has no parameter file"


def test_message_package_is_ament_cmake_with_documented_fields():
    msgs = ROOT / "src" / "msgs"
    assert ET.parse(msgs / "package.xml").getroot().find("export/build_type").text == "ament_cmake"
    listed = re.findall(r'"msg/(\w+)\.msg"', (msgs / "CMakeLists.txt").read_text())
    files = sorted(p.stem for p in (msgs / "msg").glob("*.msg"))
    assert sorted(listed) == files
    for f in (msgs / "msg").glob("*.msg"):
        lines = f.read_text().splitlines()
        assert lines[0].startswith("#"), f"{f.name} has no header comment"
        for line in lines:
            code = line.split("#")[0].strip()
            if code and "=" not in code:  # a field, not a constant
                assert "#" in line, f"{f.name}: field without a comment: {line!r}"
        importlib.import_module("lsv_msgs.msg").__dict__[f.stem]()  # built and importable


def test_licence_file_is_the_one_every_package_names():
    """Hazard (review): README and every package.xml named Apache-2.0, but there was no LICENSE file."""
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    for xml in ROOT.glob("src/*/package.xml"):
        assert ET.parse(xml).getroot().findtext("license") == "Apache-2.0", xml


def test_python_files_named_in_the_readmes_exist():
    """Hazard (review): src/can_bridge/README.md listed a realtime.py that does not exist. Every `name.py`
    in the first column of a README table (the module tables) is a file somewhere in the repository."""
    existing = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "build" not in p.parts}
    missing = []
    for readme in [ROOT / "README.md", ROOT / "DEVELOPERS.md", *ROOT.glob("src/*/README.md")]:
        for line in readme.read_text().splitlines():
            if not line.startswith("|"):
                continue
            for name in re.findall(r"`(?:[\w./-]*/)?(\w+\.py)\b", line.split("|")[1]):
                if name not in existing:
                    missing.append(f"{readme.relative_to(ROOT)}: {name}")
    assert missing == []
