"""Helpers for the thin ROS shells around the pure cores.

- ``load_params(node, ParamsClass)``: declare every parameter of a params dataclass with
  its description and range, read the values the parameter files gave, validate.
- ``Diagnostics``: a 1 Hz ``/diagnostics`` publisher fed by a callback (the heartbeat every
  node must publish, DESIGN.md section 5).
- ``run_node(factory)``: the ``main()`` of every node: middleware defaults, rclpy init,
  clean shutdown on Ctrl-C/SIGTERM, a clear one-line error and exit status 2 on a bad
  configuration instead of a traceback. Single-threaded nodes spin rclpy's C++
  ``EventsExecutor``: on this stack's 50-100 Hz topics it costs less than half the CPU of
  the pure-Python ``SingleThreadedExecutor`` (6 % vs 14 % of a core for a node with a 50 Hz
  sim-time timer and a 100 Hz subscription), which is what lets the whole stack and the
  simulator share two cores. ``LSV_EXECUTOR=single`` selects the Python one (debugging).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from lsv_common import middleware
from lsv_common.heartbeat import RUN_ID_KEY, new_run_id
from lsv_common.params import EXIT_CONFIG_ERROR, ParameterError, build_params, param_fields

T = TypeVar("T")

# Diagnostic levels as ints (DiagnosticStatus.OK etc. are 1-byte ``bytes``).
OK = 0
WARN = 1
ERROR = 2
STALE = 3

SPIN_SLICE_S = 0.1  # s, longest time a node's main loop stays in the executor without looking at signals


def params_files(argv: Iterable[str] | None = None) -> list[str]:
    """The ``--params-file`` arguments this process was started with (for error messages)."""
    args = list(sys.argv if argv is None else argv)
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--params-file"]


def load_params(node: Node, cls: type[T]) -> T:
    """Declare the parameters of dataclass ``cls`` on ``node`` and return them validated.

    Raises ParameterError naming each bad parameter and the parameter file(s).
    """
    values: dict[str, Any] = {}
    for f in param_fields(cls):
        descriptor = ParameterDescriptor(description=f.describe(), dynamic_typing=True)
        if not node.has_parameter(f.name):
            node.declare_parameter(f.name, None, descriptor)
        values[f.name] = node.get_parameter(f.name).value
    files = params_files()
    source = f"node '{node.get_fully_qualified_name()}'" + (
        f" (parameter file {', '.join(files)})" if files else " (no --params-file given)")
    return build_params(cls, values, source)


def status(name: str, level: int | bytes, message: str, values: Mapping[str, Any] | None = None,
           hardware_id: str = "") -> DiagnosticStatus:
    """Build a DiagnosticStatus; ``values`` become KeyValue pairs (floats to 4 significant digits)."""
    if isinstance(level, (bytes, bytearray)):
        level = level[0]
    msg = DiagnosticStatus(level=bytes([int(level)]), name=name, message=message, hardware_id=hardware_id)
    for key, value in (values or {}).items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        msg.values.append(KeyValue(key=str(key), value=text))
    return msg


def level_of(msg: DiagnosticStatus) -> int:
    """The level of a DiagnosticStatus as an int (the ``byte`` field arrives as bytes or int)."""
    level = msg.level
    return level[0] if isinstance(level, (bytes, bytearray)) else int(level)


class Diagnostics:
    """Publishes ``/diagnostics`` every ``period_s`` with the statuses ``collect()`` returns.

    ``collect`` returns DiagnosticStatus messages; their names are prefixed with the node's
    name so that a monitor can tell who is speaking. A node that stops publishing here is
    silent, and the control package treats silence as a fault. The first status carries a
    ``run_id`` value, new for every start of the process, so that a monitor sees a restart
    (``lsv_common.heartbeat``).
    """

    def __init__(self, node: Node, collect: Callable[[], list[DiagnosticStatus]], period_s: float = 1.0):
        self._node = node
        self._collect = collect
        self._pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._timer = node.create_timer(period_s, self.publish_now)
        self.run_id = new_run_id()

    def publish_now(self) -> None:
        statuses = self._collect()
        prefix = self._node.get_name()
        for s in statuses:
            if not s.name.startswith(prefix):
                s.name = f"{prefix}: {s.name}" if s.name else prefix
        if statuses:
            statuses[0].values.append(KeyValue(key=RUN_ID_KEY, value=self.run_id))
        msg = DiagnosticArray(status=statuses)
        msg.header.stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(msg)


class _StopSignals:
    """SIGINT / SIGTERM handling of a node process.

    rclpy's own handlers are off (``SignalHandlerOptions.NO``): they shut the context down at once, so a
    node still publishing from a loop thread fails with "publisher's context is invalid". Python's
    default SIGINT handler raises KeyboardInterrupt wherever the main thread is, which inside a callback
    that the C++ executor (pybind11) runs aborts the process ("terminate called ... KeyboardInterrupt").
    A supervisor, ``timeout`` or ``ros2 launch`` signals the whole process group, often twice. So: while
    the node is being built a signal interrupts (KeyboardInterrupt, nothing runs in C++ yet); once it
    spins, every signal only sets ``requested`` and the main loop ends at its next slice, then the node
    closes, is destroyed and rclpy shuts down, in that order, with exit status 0.
    """

    def __init__(self) -> None:
        self.requested = False
        self.spinning = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        first = not self.requested
        self.requested = True
        if first and not self.spinning:
            raise KeyboardInterrupt


def run_node(factory: Callable[[], Node], args: list[str] | None = None, threads: int = 1) -> int:
    """Run one node until Ctrl-C / SIGTERM; return the process exit status (0 after a signal).

    A ParameterError (or a subclass of it, e.g. a model file that does not load) the factory raises
    prints one clear message and returns EXIT_CONFIG_ERROR.
    """
    middleware.apply_defaults()
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = _StopSignals()
    node = None
    try:
        node = factory()
        executor = make_executor(threads)
        executor.add_node(node)
        stop.spinning = True
        # spin_once in a loop, not spin(): between calls the loop looks at the stop request (the
        # EventsExecutor's spin() blocks in C++ and never returns to Python on a signal)
        while rclpy.ok(context=node.context) and not stop.requested:
            try:
                executor.spin_once(timeout_sec=SPIN_SLICE_S)
            except Exception:
                if rclpy.ok(context=node.context):
                    raise
                break  # a callback ran into the context shutting down (the node ended its own run): a normal end
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    finally:
        stop.spinning = False
        stop.requested = True  # from here on a signal never raises: the teardown below must complete
        if node is not None:
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        if rclpy.ok():
            rclpy.try_shutdown()
        # more signals from the group may still come while the interpreter finalises (which restores
        # the default SIGINT action: the process would end "killed by SIGINT", not with status 0)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    return 0


def make_executor(threads: int = 1) -> Any:  # EventsExecutor is a pybind11 object, not an Executor
    """The executor a node spins: see the module docstring."""
    if threads > 1:
        return MultiThreadedExecutor(threads)
    if os.environ.get("LSV_EXECUTOR", "events") == "single":
        return SingleThreadedExecutor()
    return EventsExecutor()

