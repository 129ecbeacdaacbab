"""Where the package's data files are: source tree (pip -e) or share folder (colcon / pip install)."""

from __future__ import annotations

import sys
from pathlib import Path


def share_dir() -> Path:
    """share/lsv_v2x_client of an installed package (ament index when available, else sys.prefix)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return Path(sys.prefix) / "share" / "lsv_v2x_client"
    try:
        return Path(get_package_share_directory("lsv_v2x_client"))
    except PackageNotFoundError:
        return Path(sys.prefix) / "share" / "lsv_v2x_client"
