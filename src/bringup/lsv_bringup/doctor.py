"""``lsv doctor``: check the environment the stack runs in, and say how to fix what is wrong."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lsv_common import middleware

FIX_SETUP = "run 'make setup' in the repository"
MIN_SHM_SEGMENT = 32 * 1024 * 1024  # bytes
MIN_DEV_SHM_FREE = 128 * 1024 * 1024  # bytes


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # a failed warning does not fail the doctor


def check_python() -> Check:
    v = sys.version_info
    ok = (v.major, v.minor) == (3, 11)
    return Check("Python 3.11", ok, f"{sys.executable} is {v.major}.{v.minor}.{v.micro}",
                 "the ROS 2 Kilted wheels are cp311 only: use .venv/bin/python (make setup creates it)")


def check_import(module: str, label: str, fix: str = FIX_SETUP) -> Callable[[], Check]:
    def run() -> Check:
        try:
            mod = importlib.import_module(module)
        except Exception as err:  # noqa: BLE001 - any import failure is the finding
            return Check(label, False, f"import {module} failed: {type(err).__name__}: {err}", fix)
        return Check(label, True, f"{module} from {Path(getattr(mod, '__file__', '?')).parent}")
    return run


def check_rmw() -> Check:
    wanted = os.environ.get("RMW_IMPLEMENTATION", middleware.DEFAULTS["RMW_IMPLEMENTATION"])
    try:
        importlib.import_module("rclpy")
        from rclpy.utilities import get_rmw_implementation_identifier
        found = get_rmw_implementation_identifier()
    except Exception as err:  # noqa: BLE001
        return Check("ROS middleware (rmw)", False, f"cannot load rclpy: {err}", FIX_SETUP)
    ok = found == wanted
    return Check("ROS middleware (rmw)", ok, f"RMW_IMPLEMENTATION={wanted}, rclpy loads {found}",
                 "unset RMW_IMPLEMENTATION or set it to rmw_fastrtps_cpp (the only rmw installed)")


def check_dds_profile() -> Check:
    path = Path(os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", middleware.FASTDDS_PROFILE))
    label = "Fast DDS profile (shared memory)"
    if not path.is_file():
        return Check(label, False, f"{path} does not exist",
                     f"unset FASTDDS_DEFAULT_PROFILES_FILE to use {middleware.FASTDDS_PROFILE}")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        return Check(label, False, f"{path} is not valid XML: {err}", "fix the XML or unset the variable")
    sizes = [int(e.text) for e in root.iter() if e.tag.endswith("segment_size") and e.text and e.text.isdigit()]
    if not sizes or max(sizes) < MIN_SHM_SEGMENT:
        return Check(label, False, f"{path}: shared-memory segment {max(sizes) if sizes else 'default (512 KB)'} bytes",
                     "large point clouds need a 32 MB SHM segment; use the stack's profile "
                     f"({middleware.FASTDDS_PROFILE})")
    return Check(label, True, f"{path} (segment {max(sizes) // (1024 * 1024)} MB)")


def check_discovery() -> Check:
    value = os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", middleware.DEFAULTS["ROS_AUTOMATIC_DISCOVERY_RANGE"])
    domain = os.environ.get("ROS_DOMAIN_ID", "0")
    found = f"ROS_AUTOMATIC_DISCOVERY_RANGE={value}, ROS_DOMAIN_ID={domain}"
    return Check("discovery range", value == "LOCALHOST", found,
                 "discovery reaches other computers: fine on a vehicle network, not for development or CI "
                 "(unset the variable to get LOCALHOST)", warning=True)


def check_dev_shm() -> Check:
    try:
        free = shutil.disk_usage("/dev/shm").free
    except OSError as err:
        return Check("/dev/shm", False, f"not available: {err}", "mount a tmpfs at /dev/shm (Docker: --shm-size=512m)")
    return Check("/dev/shm", free >= MIN_DEV_SHM_FREE, f"{free // (1024 * 1024)} MB free",
                 "give /dev/shm at least 128 MB (Docker: --shm-size=512m)")


def check_packages() -> Check:
    from lsv_bringup.packages import PackageIndex

    index = PackageIndex()
    missing = []
    names = [n for n in index.names() if n.startswith("lsv_") and n != "lsv_msgs"]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        return Check("stack packages", False, f"not importable: {', '.join(missing)}", FIX_SETUP)
    return Check("stack packages", True, f"{len(names)} importable: {', '.join(names)}")


CHECKS: list[Callable[[], Check]] = [
    check_python,
    check_import("rclpy", "rclpy (ROS 2 client library)"),
    check_rmw,
    check_import("lsv_msgs.msg", "lsv_msgs messages", "run 'make setup' (it builds lsv_msgs with colcon)"),
    check_dds_profile,
    check_discovery,
    check_dev_shm,
    check_packages,
    check_import("open3d", "open3d", "install the Debian package libusb-1.0-0, then 'make setup'"),
    check_import("onnxruntime", "onnxruntime"),
    check_import("can", "python-can"),
]


def run_doctor(checks: list[Callable[[], Check]] | None = None) -> int:
    """Run the checks, print a table, return 0 when nothing required failed."""
    from rich.console import Console
    from rich.table import Table

    middleware.apply_defaults()
    results = [c() for c in (checks or CHECKS)]
    table = Table(title="lsv doctor", show_lines=False)
    for col in ("", "check", "found", "how to fix"):
        table.add_column(col, overflow="fold")
    for r in results:
        mark = "[green]ok[/]" if r.ok else ("[yellow]warn[/]" if r.warning else "[red]FAIL[/]")
        table.add_row(mark, r.name, r.detail, "" if r.ok else r.fix)
    Console().print(table)
    failed = [r for r in results if not r.ok and not r.warning]
    if failed:
        print(f"{len(failed)} check(s) failed: {', '.join(r.name for r in failed)}")
        return 1
    print("all checks passed")
    return 0
