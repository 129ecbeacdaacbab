"""Where ROS packages and their executables are: the workspace's ``src/`` folders (a
development checkout with the packages installed editable into the venv) first, then any
installed prefixes on ``AMENT_PREFIX_PATH`` (a colcon install on a vehicle)."""

from __future__ import annotations

import importlib.metadata
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path


class PackageNotFoundError(LookupError):
    """A launch file or command names a package this installation does not have."""


@dataclass(frozen=True)
class Executable:
    """How to start one executable of a package."""

    package: str
    name: str
    entry_point: str | None = None  # "module:function" of a Python console script
    path: Path | None = None        # an installed executable file (lib/<pkg>/<name>)

    def command(self, python: str) -> list[str]:
        if self.entry_point is not None:
            module, func = self.entry_point.split(":")
            code = (f"import sys; sys.argv[0] = {self.name!r}; "
                    f"from {module} import {func} as _main; sys.exit(_main())")
            return [python, "-c", code]
        assert self.path is not None
        return [str(self.path)]


@dataclass
class Package:
    name: str
    share: Path
    executables: dict[str, Executable] = field(default_factory=dict)


def workspace_root() -> Path | None:
    """The checkout this lsv_bringup runs from (has ``src/bringup``), if any."""
    env = os.environ.get("LSV_WORKSPACE")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "src" / "bringup" / "package.xml").is_file():
            return parent
    return None


def _package_name(package_xml: Path) -> str | None:
    try:
        return ET.parse(package_xml).getroot().findtext("name")
    except ET.ParseError:
        return None


def _entry_points(package: str) -> dict[str, Executable]:
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return {}
    return {ep.name: Executable(package, ep.name, entry_point=ep.value)
            for ep in dist.entry_points if ep.group == "console_scripts"}


_FIND = Path("<find the workspace this lsv_bringup runs from>")


class PackageIndex:
    """Finds packages by name; built once per launch.

    ``workspace``: a checkout whose ``src/*/package.xml`` come first (default: the one this
    module runs from, if any; None: installed prefixes only). ``prefixes``: install prefixes
    (default: ``AMENT_PREFIX_PATH``).
    """

    def __init__(self, workspace: Path | None = _FIND, prefixes: list[Path] | None = None):
        self.workspace = workspace_root() if workspace is _FIND else workspace
        if prefixes is None:
            prefixes = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
        self.prefixes = prefixes
        self._source: dict[str, Path] = {}
        if self.workspace is not None:
            for xml in sorted((self.workspace / "src").glob("*/package.xml")):
                name = _package_name(xml)
                if name:
                    self._source[name] = xml.parent

    def names(self) -> list[str]:
        found = set(self._source)
        for prefix in self.prefixes:
            index = prefix / "share" / "ament_index" / "resource_index" / "packages"
            if index.is_dir():
                found.update(p.name for p in index.iterdir())
        return sorted(found)

    @cache  # noqa: B019 - the index lives as long as one launch
    def get(self, name: str) -> Package:
        if name in self._source:
            return Package(name, self._source[name], _entry_points(name))
        for prefix in self.prefixes:
            marker = prefix / "share" / "ament_index" / "resource_index" / "packages" / name
            if marker.exists():
                lib = prefix / "lib" / name
                exes = {p.name: Executable(name, p.name, path=p) for p in lib.iterdir()
                        if p.is_file() and os.access(p, os.X_OK)} if lib.is_dir() else {}
                return Package(name, prefix / "share" / name, exes)
        where = f"{self.workspace / 'src'}" if self.workspace else "no workspace"
        raise PackageNotFoundError(
            f"package '{name}' not found (looked in {where} and AMENT_PREFIX_PATH="
            f"{os.pathsep.join(map(str, self.prefixes)) or '<unset>'}); known packages: {', '.join(self.names())}")

    def executable(self, package: str, name: str) -> Executable:
        pkg = self.get(package)
        if name not in pkg.executables:
            known = ", ".join(sorted(pkg.executables)) or "none (is the package installed? run 'make setup')"
            raise PackageNotFoundError(f"package '{package}' has no executable '{name}'; it has: {known}")
        return pkg.executables[name]
