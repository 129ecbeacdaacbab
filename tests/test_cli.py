"""Bad input gets a clear error, not a traceback: the lsv command and the set-up script."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LSV = [sys.executable, "-m", "lsv_bringup.cli"]


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def test_launch_file_naming_a_missing_package(tmp_path):
    f = tmp_path / "x.launch.yaml"
    f.write_text("launch:\n- node: {pkg: lsv_nonexistent, exec: foo}\n")
    proc = run([*LSV, "launch", str(f)])
    assert proc.returncode == 2
    assert "package 'lsv_nonexistent' not found" in proc.stderr and "Traceback" not in proc.stderr


def test_launch_file_naming_a_missing_parameter_file(tmp_path):
    f = tmp_path / "x.launch.yaml"
    f.write_text("launch:\n- node: {pkg: lsv_bringup, exec: lsv, param: [{from: /nowhere/x.param.yaml}]}\n")
    proc = run([*LSV, "launch", str(f)])
    assert proc.returncode == 2
    assert "parameter file not found: /nowhere/x.param.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_malformed_parameter_yaml(tmp_path):
    params = tmp_path / "bad.param.yaml"
    params.write_text("/**:\n  ros__parameters:\n    a: {b: 1\n")
    f = tmp_path / "x.launch.yaml"
    f.write_text(f"launch:\n- node: {{pkg: lsv_bringup, exec: lsv, param: [{{from: {params}}}]}}\n")
    proc = run([*LSV, "launch", str(f)])
    assert proc.returncode == 2
    assert "bad.param.yaml: malformed YAML at line" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_launch_file():
    proc = run([*LSV, "launch", "/nowhere/stack.launch.yaml"])
    assert proc.returncode == 2 and "launch file not found" in proc.stderr


def test_doctor_passes_in_the_set_up_environment():
    proc = run([*LSV, "doctor"], env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all checks passed" in proc.stdout


def test_doctor_reports_a_broken_dds_profile(tmp_path):
    bad = tmp_path / "profile.xml"
    bad.write_text("<dds><profiles>")
    proc = run([*LSV, "doctor"], env={**os.environ, "FASTDDS_DEFAULT_PROFILES_FILE": str(bad), "COLUMNS": "200"})
    assert proc.returncode == 1
    assert "is not valid XML" in proc.stdout and "Fast DDS profile" in proc.stdout


def test_setup_without_python_311_says_how_to_get_it():
    proc = run(["bash", str(ROOT / "scripts" / "setup.sh")], env={**os.environ, "PYTHON": "python3.11-not-here"})
    assert proc.returncode == 1
    assert "Python 3.11 is required" in proc.stderr and "apt install python3.11" in proc.stderr


def test_second_setup_does_nothing():
    """`make setup` is idempotent: right after a set-up, running it again installs nothing."""
    run(["bash", str(ROOT / "scripts" / "setup.sh")])  # bring every stamp up to date first
    proc = run(["bash", str(ROOT / "scripts" / "setup.sh")])
    assert proc.returncode == 0, proc.stderr
    assert [line.split(":")[0] for line in proc.stdout.strip().splitlines()] == ["[setup] ready"]
    assert "installing" not in proc.stdout and "building" not in proc.stdout


def _close_within(body: str) -> subprocess.CompletedProcess:
    code = ("import ctypes, sys, time\nfrom lsv_common.middleware import close_within\n" + body
            + "\nprint('returned', flush=True)\nsys.exit(0)")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_close_within_returns_when_the_close_does():
    done = _close_within("counts = close_within(lambda: time.sleep(0.2) or {'/a': 3}, 2.0)\n"
                         "time.sleep(3.0)\n"  # the watchdog was cancelled
                         "print(counts)")
    assert done.returncode == 0 and "returned" in done.stdout, done.stderr
    assert "{'/a': 3}" in done.stdout  # what close() returned (the recorder's counts)


def test_close_within_ends_a_close_that_hangs_holding_the_gil():
    # like rclpy in a Fast DDS teardown deadlock: C code that never gives the GIL back
    hung = _close_within("close_within(lambda: ctypes.PyDLL(None).sleep(40), 2.0)")
    assert hung.returncode == 1 and "returned" not in hung.stdout
    assert "Timeout" in hung.stderr and "close_within" in hung.stderr  # the stacks, for the bug report
