"""Watches a running graph from inside the launcher: which nodes and topics exist, how
many messages each topic carries, and the worst level each diagnostic status reached.
Used for the run report of ``lsv sim`` / ``lsv launch --report``."""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass, field

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from lsv_common.node import level_of

LEVELS = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}


def message_class(type_name: str) -> type:
    """'sensor_msgs/msg/PointCloud2' -> the Python message class."""
    pkg, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


@dataclass
class TopicStats:
    type_name: str
    count: int = 0
    bytes: int = 0
    first_s: float | None = None
    last_s: float | None = None

    def rate_hz(self) -> float:
        if self.count < 2 or self.first_s is None or self.last_s is None or self.last_s <= self.first_s:
            return 0.0
        return (self.count - 1) / (self.last_s - self.first_s)


@dataclass
class DiagnosticStats:
    worst_level: int = 0
    last_level: int = 0
    last_message: str = ""
    updates: int = 0
    worst_message: str = ""


@dataclass
class GraphSnapshot:
    nodes: list[str]
    topics: dict[str, TopicStats]
    diagnostics: dict[str, DiagnosticStats] = field(default_factory=dict)


class GraphMonitor:
    """Runs a hidden rclpy node on a background thread; ``snapshot()`` at any time."""

    def __init__(self, discover_period_s: float = 0.5, topic_stats: bool = True):
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self.node = Node("_lsv_graph_monitor", context=self._context, start_parameter_services=False)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self.node)
        self._lock = threading.Lock()
        self._topics: dict[str, TopicStats] = {}
        self._diag: dict[str, DiagnosticStats] = {}
        self._subs = []
        self._qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
        # Counting every message of every topic costs the launcher about a quarter of a core
        # with the whole stack running (measured on 2 cores): optional where CPU is short.
        self._topic_stats = topic_stats
        self.node.create_timer(discover_period_s, self._discover)
        self._thread = threading.Thread(target=self._spin, daemon=True, name="graph-monitor")
        self._thread.start()

    def _spin(self) -> None:
        while self._context.ok():
            try:
                self._executor.spin_once(timeout_sec=0.1)
            except Exception:  # rclpy raises several types when its context shuts down
                if self._context.ok():  # not shutting down: a real error, let it out
                    raise
                return

    def _discover(self) -> None:
        for topic, types in self.node.get_topic_names_and_types():
            if not self._topic_stats or topic in self._topics or not types:
                continue
            try:
                cls = message_class(types[0])
            except (ImportError, AttributeError, ValueError):
                continue
            stats = TopicStats(types[0])
            with self._lock:
                self._topics[topic] = stats
            self._subs.append(self.node.create_subscription(
                cls, topic, lambda raw, s=stats: self._count(s, raw), self._qos, raw=True))

    def _count(self, stats: TopicStats, raw: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            stats.count += 1
            stats.bytes += len(raw)
            stats.first_s = now if stats.first_s is None else stats.first_s
            stats.last_s = now

    def _on_diag(self, msg: DiagnosticArray) -> None:
        with self._lock:
            for status in msg.status:
                level = level_of(status)
                d = self._diag.setdefault(status.name, DiagnosticStats())
                d.updates += 1
                d.last_level, d.last_message = level, status.message
                if level > d.worst_level or d.updates == 1:
                    d.worst_level, d.worst_message = level, status.message

    def snapshot(self) -> GraphSnapshot:
        names = [f"{ns.rstrip('/')}/{n}" for n, ns in self.node.get_node_names_and_namespaces()
                 if not n.startswith("_")]
        with self._lock:
            topics = {k: TopicStats(**vars(v)) for k, v in self._topics.items()}
            diags = {k: DiagnosticStats(**vars(v)) for k, v in self._diag.items()}
        return GraphSnapshot(sorted(names), topics, diags)

    def close(self) -> None:
        if self._context.ok():
            rclpy.shutdown(context=self._context)
        self._thread.join(2.0)
        self.node.destroy_node()
