"""Register the editable (pip -e) stack packages in the venv's ament index, with their share/ files.

``pip install -e`` installs a package's code and console scripts but not its ``data_files``: no
``share/ament_index/resource_index/packages/<pkg>`` marker and no ``share/<pkg>/`` folder, so
``ros2 launch`` (``$(find-pkg-share lsv_sim)``, ``get_package_share_directory``) reports
"package 'lsv_sim' not found" from the development venv. This script reads each package's
``data_files`` from its ``setup.py`` and links every file into the venv prefix at the place a
colcon or pip install would copy it. Links, not copies: an edited parameter file or a new map
version in src/ is what the installed view shows. Files added or removed in src/ are picked up by
the next run (``make setup`` runs this every time; it changes nothing when the links are current).

Usage: python scripts/register_dev_packages.py PREFIX   (PREFIX = the venv, e.g. .venv)
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]


def data_files(package_dir: Path) -> tuple[str, list[tuple[str, list[str]]]]:
    """(package name, data_files) of an ament_python package, read by running its setup.py with
    ``setuptools.setup`` replaced by a recorder (nothing is built or installed)."""
    captured: dict = {}
    cwd = Path.cwd()
    os.chdir(package_dir)
    try:
        with mock.patch("setuptools.setup", lambda **kw: captured.update(kw)):
            runpy.run_path(str(package_dir / "setup.py"), run_name="__main__")
    finally:
        os.chdir(cwd)
    return captured["name"], captured.get("data_files", [])


def wanted_links(prefix: Path) -> dict[Path, Path]:
    """Every link to make: installed path -> source file."""
    links: dict[Path, Path] = {}
    for setup_py in sorted(ROOT.glob("src/*/setup.py")):
        _, entries = data_files(setup_py.parent)
        for dest, files in entries:
            for f in files:
                src = (setup_py.parent / f).resolve()
                if src.is_file():
                    links[prefix / dest / Path(f).name] = src
    return links


def register(prefix: Path) -> tuple[int, int]:
    """Make the links (replacing wrong ones) and remove links into this repository that are no longer
    wanted. Returns (links made, links removed)."""
    links = wanted_links(prefix)
    made = removed = 0
    for dst, src in links.items():
        if dst.is_symlink() and dst.resolve() == src:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        dst.symlink_to(src)
        made += 1
    share = prefix / "share"
    for path in share.rglob("*") if share.is_dir() else []:
        if path.is_symlink() and path not in links:
            target = Path(os.readlink(path))
            if target.is_absolute() and target.is_relative_to(ROOT):
                path.unlink()
                removed += 1
    return made, removed


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    prefix = Path(argv[1]).resolve()
    made, removed = register(prefix)
    if made or removed:
        print(f"[setup] ament index: {made} share/ files linked, {removed} stale links removed in {prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
