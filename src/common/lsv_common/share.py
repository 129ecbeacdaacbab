"""Where a package's files are: one resolver for every node's configs, DBCs, maps, scenarios,
ASN.1 modules and models (pure: no rclpy).

A package's files live in ``share/<package>/`` of an install, with the same layout as its
source folder (``config/``, ``dbc/``, ``maps/``, ...; ``setup.py`` ``data_files``). Looked up,
in this order:

1. the ament index (``AMENT_PREFIX_PATH``): a sourced colcon install or a full ROS 2, and the
   development venv, which ``make setup`` registers (``scripts/register_dev_packages.py``);
2. the source tree: ``src/<folder>/`` whose ``package.xml`` names the package (a checkout used
   with ``pip -e``, nothing sourced);
3. the install prefix of the package itself: ``<prefix>/share/<package>`` above the installed
   module (a colcon install whose ``setup.sh`` was not sourced).

Never ``sys.prefix``: that is the interpreter's prefix (``/usr`` on a system ROS), not the
package's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SRC_ROOT = Path(__file__).resolve().parents[2]  # src/ of a source checkout (site-packages/.. in an install)
PACKAGE_URL = "package://"


class PackageFileError(FileNotFoundError):
    """A package file is in none of the places a package's files can be."""


def share_dirs(package: str) -> list[Path]:
    """The folders that may hold ``package``'s files, in lookup order (see the module docstring)."""
    dirs: list[Path] = []
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        try:
            dirs.append(Path(get_package_share_directory(package)))
        except (PackageNotFoundError, ValueError, OSError):  # OSError: no AMENT_PREFIX_PATH (a plain venv)
            pass
    except ImportError:
        pass
    for pkg_xml in sorted(SRC_ROOT.glob("*/package.xml")):
        if f"<name>{package}</name>" in pkg_xml.read_text(errors="replace"):
            dirs.append(pkg_xml.parent)
    module_dir = _module_dir(package)
    if module_dir is not None:
        dirs += [parent / "share" / package for parent in module_dir.parents
                 if (parent / "share" / package / "package.xml").is_file()][:1]
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _module_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).resolve().parent


def candidates(package: str, relative: str | Path) -> list[Path]:
    """``relative`` in each of ``package``'s share folders, in lookup order."""
    return [d / relative for d in share_dirs(package)]


def find_package_file(package: str, relative: str | Path) -> Path:
    """The first existing ``relative`` file or folder of ``package``; ``PackageFileError`` naming every
    place looked at otherwise."""
    looked = candidates(package, relative)
    found = next((c for c in looked if c.exists()), None)
    if found is None:
        where = ", ".join(str(c) for c in looked) or f"no share folder of {package} found"
        raise PackageFileError(f"{package}: '{relative}' not found (looked in: {where})")
    return found


def resolve_package_url(value: str) -> tuple[Path | None, list[Path]]:
    """A file named by a path or by ``package://<pkg>/<path>`` (ROS resource URL). Returns (the file
    found or None, the candidates looked at); a plain path is returned as given (expanded)."""
    if not value.startswith(PACKAGE_URL):
        return Path(value).expanduser(), []
    pkg, _, rest = value.removeprefix(PACKAGE_URL).partition("/")
    looked = candidates(pkg, rest)
    return next((c for c in looked if c.is_file()), None), looked


def resolve_in_package(package: str, path: str | Path) -> Path:
    """A configured path: ``package://`` URL, absolute, existing relative to the working directory, or
    else relative to ``package``'s share folder. Raises ``PackageFileError`` when none exists."""
    text = str(path)
    if text.startswith(PACKAGE_URL):
        found, looked = resolve_package_url(text)
        if found is None:
            raise PackageFileError(f"{text} not found (looked in: {', '.join(map(str, looked)) or '-'})")
        return found
    p = Path(text).expanduser()
    if p.is_absolute():
        if not p.exists():
            raise PackageFileError(f"{p} not found")
        return p
    if p.exists():
        return p
    return find_package_file(package, p)
