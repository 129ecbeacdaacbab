"""Run a LaunchPlan: one supervised process per node.

- Each node's stdout/stderr goes to ``<log_dir>/<name>.log``; with ``output: screen`` the
  lines are also echoed on the launcher's stdout, prefixed with the node name.
- A node that exits while the launch is running is reported with its exit status and the
  tail of its log; it is restarted after ``respawn_delay`` when the launch file says
  ``respawn: true`` (unless it exited with status 2, a configuration error that a restart
  cannot fix), otherwise it counts as failed and the launcher's exit status is 1.
- A node with ``on_exit: shutdown`` ends the whole launch when it exits (a simulator that
  has finished its scenario); a non-zero status of that node makes the launch fail.
- Ctrl-C / SIGTERM: SIGINT to every node (they shut down cleanly), SIGTERM to those still
  alive after ``grace_s``, SIGKILL after a further second: everything is down within 5 s.
- Children get SIGTERM from the kernel if the launcher itself dies (PR_SET_PDEATHSIG), so
  no node outlives its supervisor.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lsv_bringup.launch_file import LaunchPlan, NodeSpec
from lsv_common.params import EXIT_CONFIG_ERROR

POLL_S = 0.05
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class NodeState:
    spec: NodeSpec
    log_path: Path
    process: subprocess.Popen | None = None
    starts: int = 0
    exit_codes: list[int] = field(default_factory=list)
    failed: bool = False
    finished: bool = False  # exited with status 0 on its own: done, not a failure
    restart_at: float | None = None
    _echo: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Starts, watches, respawns and stops the node processes of a plan."""

    def __init__(self, plan: LaunchPlan, log_dir: Path, env: dict[str, str] | None = None,
                 out: IO[str] | None = None, grace_s: float = 3.0, python: str = sys.executable):
        self.plan = plan
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ if env is None else env)
        self.env.update(plan.env)
        self.env.setdefault("ROS_LOG_DIR", str(self.log_dir / "ros"))
        self.env["PYTHONUNBUFFERED"] = "1"
        # Many node processes share a few cores: numpy's BLAS worker threads in every one of
        # them only fight each other and Open3D's ray casting (measured: a 640x480 ray
        # rotation went from 1.6 ms to 80-100 ms). An explicit setting still wins.
        self.env.setdefault("OPENBLAS_NUM_THREADS", "1")
        self.out = out or sys.stdout
        self.grace_s = grace_s
        self.python = python
        self.nodes = [NodeState(spec, self.log_dir / f"{spec.fqn.strip('/').replace('/', '.')}.log")
                      for spec in plan.nodes]
        self._stop = threading.Event()
        self._out_lock = threading.Lock()
        self.shutdown_s: float | None = None

    # -- messages -----------------------------------------------------------------------

    def say(self, text: str) -> None:
        with self._out_lock:
            self.out.write(f"[lsv] {text}\n")
            self.out.flush()

    def _echo_lines(self, state: NodeState, stream: IO[bytes], log: IO[bytes]) -> None:
        prefix = f"[{state.spec.name}] "
        for line in iter(stream.readline, b""):
            log.write(line)
            log.flush()
            with self._out_lock:
                self.out.write(prefix + line.decode(errors="replace"))
                self.out.flush()
        log.close()

    # -- lifecycle ------------------------------------------------------------------------

    def _start(self, state: NodeState) -> None:
        spec = state.spec
        cmd = spec.executable.command(self.python) + spec.args + spec.ros_args()
        env = dict(self.env)
        env.update(spec.env)
        log = open(state.log_path, "ab")  # noqa: SIM115 - closed by the echo thread or below
        log.write(f"--- start #{state.starts + 1} at {time.strftime('%H:%M:%S')}: {' '.join(cmd)}\n".encode())
        log.flush()
        echo = spec.output in ("screen", "both")
        state.process = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if echo else log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        if echo:
            assert state.process.stdout is not None
            state._echo = threading.Thread(target=self._echo_lines, args=(state, state.process.stdout, log),
                                           daemon=True)
            state._echo.start()
        else:
            log.close()
        state.starts += 1
        state.restart_at = None

    def start_all(self) -> None:
        for state in self.nodes:
            self._start(state)
            self.say(f"started {state.spec.fqn} ({state.spec.package}/{state.spec.executable.name}, "
                     f"pid {state.process.pid}, log {state.log_path})")

    def _tail(self, state: NodeState, lines: int = 8) -> str:
        try:
            text = state.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    " + line for line in text[-lines:])

    def poll(self, now: float) -> None:
        """Notice exits, schedule and perform respawns (called every POLL_S)."""
        for state in self.nodes:
            if state.process is None or state.failed or state.finished:
                continue
            code = state.process.poll()
            if code is not None and state.restart_at is None and len(state.exit_codes) < state.starts:
                state.exit_codes.append(code)
                if state._echo is not None:
                    state._echo.join(1.0)
                spec = state.spec
                if spec.shutdown_on_exit:
                    state.finished = code == 0
                    state.failed = code != 0
                    self.say(f"node {spec.fqn} exited with status {code}: shutting the launch down (on_exit)")
                    self.request_stop()
                elif spec.respawn and code != EXIT_CONFIG_ERROR:  # a restart cannot fix a bad parameter or model
                    state.restart_at = now + spec.respawn_delay_s
                    self.say(f"node {spec.fqn} exited with status {code}; respawning in {spec.respawn_delay_s:g} s")
                elif code == 0:
                    state.finished = True
                    self.say(f"node {spec.fqn} finished (status 0)")
                else:
                    state.failed = True
                    self.say(f"node {spec.fqn} died with status {code} (not respawned); "
                             f"last lines of {state.log_path}:\n{self._tail(state)}")
            if state.restart_at is not None and now >= state.restart_at and not self._stop.is_set():
                self._start(state)
                self.say(f"respawned {state.spec.fqn} (start #{state.starts}, pid {state.process.pid})")

    def request_stop(self) -> None:
        self._stop.set()

    def run(self, duration_s: float | None = None, on_tick: Callable[[], None] | None = None) -> int:
        """Start every node, supervise until stopped (signal, duration, or all nodes gone)."""
        previous = {sig: signal.signal(sig, lambda *_: self.request_stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start_all()
            started = time.monotonic()
            while not self._stop.is_set():
                now = time.monotonic()
                self.poll(now)
                if on_tick is not None:
                    on_tick()
                if duration_s is not None and now - started >= duration_s:
                    self.say(f"duration of {duration_s:g} s reached")
                    break
                if all(not s.alive and s.restart_at is None for s in self.nodes):
                    self.say("every node has exited")
                    break
                self._stop.wait(POLL_S)
            self.shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.exit_status()

    def shutdown(self) -> None:
        """SIGINT, then SIGTERM after grace_s, then SIGKILL: all down within grace_s + 1.5 s."""
        t0 = time.monotonic()
        live = [s for s in self.nodes if s.alive]
        if live:
            self.say(f"shutting down {len(live)} node(s)")
        for state in live:
            state.process.send_signal(signal.SIGINT)
        for sig, wait_s in ((signal.SIGTERM, self.grace_s), (signal.SIGKILL, 1.0)):
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and any(s.alive for s in live):
                time.sleep(0.02)
            stubborn = [s for s in live if s.alive]
            for state in stubborn:
                self.say(f"node {state.spec.fqn} did not stop in time: sending {sig.name}")
                state.process.send_signal(sig)
        for state in live:
            try:
                state.process.wait(0.5)
            except subprocess.TimeoutExpired:
                continue
            state.exit_codes.append(state.process.returncode)
            if state._echo is not None:
                state._echo.join(1.0)
        self.shutdown_s = time.monotonic() - t0

    def exit_status(self) -> int:
        return 1 if any(s.failed for s in self.nodes) else 0

    def summary(self) -> list[dict]:
        return [{"node": s.spec.fqn, "package": s.spec.package, "executable": s.spec.executable.name,
                 "starts": s.starts, "exit_codes": s.exit_codes, "failed": s.failed, "log": str(s.log_path)}
                for s in self.nodes]
