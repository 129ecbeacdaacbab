"""Launch-level test support (the part of ``launch_testing`` the tests here need): start a
launch file with ``lsv launch`` in its own process, exactly as a user does, and stop it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from lsv_common.testing import private_ros_env


class LaunchedGraph:
    """A running ``lsv launch FILE args`` process with its per-node logs in ``log_dir``."""

    def __init__(self, file: str | Path, args: list[str], log_dir: Path):
        self.file = Path(file)
        self.log_dir = log_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lsv_bringup.cli", "launch", str(file), *args, "--log-dir", str(log_dir)],
            env=private_ros_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output_lines: list[str] = []
        self.pids: dict[str, int] = {}

    def read_pids(self, count: int, timeout_s: float = 30.0) -> dict[str, int]:
        """Read the launcher's 'started /name (..., pid N, ...)' lines until ``count`` nodes are known."""
        deadline = time.monotonic() + timeout_s
        while len(self.pids) < count and time.monotonic() < deadline and self.proc.poll() is None:
            line = self.proc.stdout.readline()
            self.output_lines.append(line)
            if line.startswith("[lsv] started /") and "pid " in line:
                name = line.split("started ")[1].split()[0]
                self.pids[name] = int(line.split("pid ")[1].split(",")[0])
        return self.pids

    def log(self, node: str) -> str:
        path = self.log_dir / f"{node.strip('/').replace('/', '.')}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 10.0) -> tuple[int, float, str]:
        """Send ``sig``; return (exit status, seconds to exit, remaining output)."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return self.proc.returncode, time.monotonic() - t0, "".join(self.output_lines) + (out or "")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
