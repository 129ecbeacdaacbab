"""Start nodes in their own processes and watch topics from the test process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lsv_common import middleware


def private_ros_env(domain_id: int | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a ROS graph that only this test run can see.

    Localhost-only discovery, the stack's Fast DDS profile, and a ROS domain id derived
    from the process id unless ``domain_id`` (or ROS_DOMAIN_ID in ``base``) is given.
    """
    env = dict(os.environ if base is None else base)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    middleware.apply_defaults(env)
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    elif "ROS_DOMAIN_ID" not in env:
        env["ROS_DOMAIN_ID"] = str(middleware.private_domain_id(os.getpid()))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class NodeProcess:
    """A node running in a child process; ``stop()`` sends SIGINT, then SIGKILL."""

    def __init__(self, popen: subprocess.Popen, name: str, log_path: Path | None):
        self.popen = popen
        self.name = name
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def kill(self) -> None:
        """Kill without warning (SIGKILL), as a crash would."""
        if self.alive():
            self.popen.kill()
            self.popen.wait(5)

    def stop(self, timeout_s: float = 5.0) -> int:
        if self.alive():
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_node(module: str, *, name: str, params_file: str | Path | None = None,
               params: Mapping[str, Any] | None = None, remaps: Mapping[str, str] | None = None,
               env: Mapping[str, str] | None = None, log_dir: str | Path | None = None,
               extra_args: Sequence[str] = ()) -> NodeProcess:
    """Run ``python -m module`` as node ``name`` with ROS arguments, in a private environment.

    ``params`` values are passed as ``-p name:=value`` (YAML syntax). Output goes to
    ``log_dir/name.log`` when ``log_dir`` is given, else is discarded.
    """
    ros_args = ["--ros-args", "-r", f"__node:={name}"]
    if params_file is not None:
        ros_args += ["--params-file", str(params_file)]
    for key, value in (params or {}).items():
        ros_args += ["-p", f"{key}:={_yaml_value(value)}"]
    for src, dst in (remaps or {}).items():
        ros_args += ["-r", f"{src}:={dst}"]
    log_path = None
    if log_dir is not None:
        log_path = Path(log_dir) / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "wb")  # noqa: SIM115 - owned by the child process
    else:
        out = subprocess.DEVNULL
    popen = subprocess.Popen([sys.executable, "-m", module, *extra_args, *ros_args],
                             env=private_ros_env(base=env), stdout=out, stderr=subprocess.STDOUT)
    return NodeProcess(popen, name, log_path)


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_yaml_value(v) for v in value) + "]"
    return str(value)


def spin_until(node: Any, predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.02) -> bool:
    """Spin ``node`` (an rclpy Node or executor) until ``predicate()`` or the timeout."""
    import rclpy

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        if hasattr(node, "spin_once"):
            node.spin_once(timeout_sec=step_s)
        else:
            rclpy.spin_once(node, timeout_sec=step_s)
    return predicate()


class MessageRecorder:
    """Subscribes to a topic from a test node and keeps every message with its arrival time."""

    def __init__(self, node: Any, msg_type: type, topic: str, qos: Any = 10):
        self.messages: list[Any] = []
        self.arrivals_ns: list[int] = []
        self._sub = node.create_subscription(msg_type, topic, self._on_msg, qos)

    def _on_msg(self, msg: Any) -> None:
        self.messages.append(msg)
        self.arrivals_ns.append(time.monotonic_ns())

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def last(self) -> Any:
        return self.messages[-1] if self.messages else None
