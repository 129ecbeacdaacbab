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
- CPU: each node process's CPU time (user + system, every thread, and the child processes it
  has waited for) is sampled from /proc/<pid>/stat every poll and taken exactly from the kernel
  when the supervisor reaps the process (wait4), summed over its starts with the wall time it
  was alive (``summary()``: cpu_s, wall_s; the report's CPU table).
"""

from __future__ import annotations

import ctypes
import os
import resource
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
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")  # s per clock tick of /proc/<pid>/stat


def _proc_stat(pid: int) -> list[bytes] | None:
    """/proc/<pid>/stat's fields from the 3rd (state) on, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(b")") + 2:].split()  # the command name in (...) may hold spaces


def process_cpu_s(pid: int) -> float | None:
    """CPU time of a live process: user + system of all its threads and of the children it has
    waited for (proc(5) fields 14-17), in s; None when it is gone."""
    fields = _proc_stat(pid)
    return None if fields is None else sum(int(v) for v in fields[11:15]) * TICK_S


def process_age_s(pid: int) -> float | None:
    """Wall time since the process started (proc(5) field 22 against /proc/uptime), in s."""
    fields = _proc_stat(pid)
    try:
        with open("/proc/uptime") as f:
            uptime_s = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return None if fields is None else max(0.0, uptime_s - int(fields[19]) * TICK_S)


def own_cpu() -> tuple[float, float | None]:
    """This process's (CPU s, wall s alive): getrusage(RUSAGE_SELF) counts all its threads (the
    graph monitor's too) but not the node processes; wall from /proc (None where unreadable)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, process_age_s(os.getpid())


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
    cpu_s: float = 0.0  # CPU time of the starts that have ended, s
    wall_s: float = 0.0  # wall time those starts were alive, s
    _echo: threading.Thread | None = None
    _started_at: float | None = None  # monotonic time of the running start (None: no start running)
    _run_cpu_s: float = 0.0  # the running start's CPU time at the last sample

    @property
    def alive(self) -> bool:
        return self.process is not None and self.reap(time.monotonic()) is None

    def started(self, process: subprocess.Popen, now: float) -> None:
        self.process, self._started_at, self._run_cpu_s = process, now, 0.0

    def reap(self, now: float) -> int | None:
        """The exit status once the process has exited, else None (Popen.poll with the CPU kept):
        reaps it with wait4, whose rusage is its final CPU time, children waited for included."""
        p = self.process
        if p is None or self._started_at is None:  # never started, or this start is accounted for
            return None if p is None else p.returncode
        try:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        except ChildProcessError:  # reaped by Popen already (send_signal, wait): the last sample stands
            code = p.poll()
        else:
            if pid == 0:
                return None
            code = p.returncode = os.waitstatus_to_exitcode(status)
            self._run_cpu_s = usage.ru_utime + usage.ru_stime
        self.cpu_s += self._run_cpu_s
        self.wall_s += now - self._started_at
        self._started_at, self._run_cpu_s = None, 0.0
        return code

    def sample_cpu(self) -> None:
        """Read the running process's CPU time so far (its figure if it is never reaped)."""
        if self.process is not None and self._started_at is not None:
            cpu = process_cpu_s(self.process.pid)
            if cpu is not None:
                self._run_cpu_s = cpu

    def cpu_totals(self, now: float) -> tuple[float, float]:
        """(CPU s, wall s alive) over every start, the running one up to its last sample / now."""
        if self._started_at is None:
            return self.cpu_s, self.wall_s
        return self.cpu_s + self._run_cpu_s, self.wall_s + now - self._started_at

    def send_signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` unless the process has exited (checked with ``reap``: Popen.send_signal
        would reap it itself and lose its final CPU time)."""
        if self.process is not None and self.reap(time.monotonic()) is None:
            os.kill(self.process.pid, sig)  # a zombie not yet reaped keeps its pid: no stray kill


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
        state.started(subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if echo else log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent), time.monotonic())
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
        """Notice exits, schedule and perform respawns, sample CPU times (called every POLL_S)."""
        for state in self.nodes:
            if state.process is None or state.failed or state.finished:
                continue
            code = state.reap(now)
            if code is None:
                state.sample_cpu()
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
            state.send_signal(signal.SIGINT)
        for sig, wait_s in ((signal.SIGTERM, self.grace_s), (signal.SIGKILL, 1.0)):
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and any(s.alive for s in live):
                time.sleep(0.02)
            stubborn = [s for s in live if s.alive]
            for state in stubborn:
                self.say(f"node {state.spec.fqn} did not stop in time: sending {sig.name}")
                state.send_signal(sig)
        deadline = time.monotonic() + 0.5
        for state in live:
            while state.alive and time.monotonic() < deadline:
                time.sleep(0.02)
            if state.alive:
                state.sample_cpu()  # not reaped: its CPU time up to now stands
                continue
            state.exit_codes.append(state.process.returncode)
            if state._echo is not None:
                state._echo.join(1.0)
        self.shutdown_s = time.monotonic() - t0

    def exit_status(self) -> int:
        return 1 if any(s.failed for s in self.nodes) else 0

    def summary(self) -> list[dict]:
        """One dict per node for the report; cpu_s / wall_s: CPU time and wall time alive over its starts."""
        now = time.monotonic()
        rows = []
        for s in self.nodes:
            cpu_s, wall_s = s.cpu_totals(now)
            rows.append({"node": s.spec.fqn, "package": s.spec.package, "executable": s.spec.executable.name,
                         "starts": s.starts, "exit_codes": s.exit_codes, "failed": s.failed, "log": str(s.log_path),
                         "cpu_s": round(cpu_s, 3), "wall_s": round(wall_s, 3)})
        return rows
