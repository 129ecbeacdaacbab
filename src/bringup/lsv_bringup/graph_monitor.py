"""Watches a running graph from inside the launcher: which nodes and topics exist, which nodes
publish and subscribe to each topic, how many messages each topic carries, and the worst level
each diagnostic status reached. Used for the run report of ``lsv sim`` / ``lsv launch --report``."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from lsv_common.node import level_of

LEVELS = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}
# Sensor streams the monitor does not receive unless asked to (``topic_stats``, `lsv sim
# --topic-stats`): taking every image and point cloud costs the launcher about a quarter of a core
# with the whole stack running (measured on 2 cores). Their publishers and subscribers are listed all the same.
LARGE_TYPES = frozenset({"sensor_msgs/msg/Image", "sensor_msgs/msg/PointCloud2", "sensor_msgs/msg/CompressedImage"})
# Why a topic's messages were not counted (TopicStats.not_counted, the report's cells)
NOT_COUNTED_LARGE = "--topic-stats"
NOT_COUNTED_NO_CLASS = "no message class"


def message_class(type_name: str) -> type:
    """'sensor_msgs/msg/PointCloud2' -> the Python message class."""
    pkg, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def not_counted_reason(type_name: str, topic_stats: bool) -> str:
    """Why the monitor does not receive a topic of this type ('' = it counts its messages)."""
    return NOT_COUNTED_LARGE if type_name in LARGE_TYPES and not topic_stats else ""


def endpoint_nodes(infos: Iterable) -> set[str]:
    """Fully qualified names of the nodes behind ``get_publishers_info_by_topic`` /
    ``get_subscriptions_info_by_topic`` entries, hidden ones (``_lsv_graph_monitor``, the recorder,
    DDS participants without a node: ``_NODE_NAME_UNKNOWN_``) left out."""
    return {f"{i.node_namespace.rstrip('/')}/{i.node_name}" for i in infos if not i.node_name.startswith("_")}


@dataclass
class TopicStats:
    type_name: str
    count: int = 0
    bytes: int = 0
    first_s: float | None = None
    last_s: float | None = None
    # every node seen on the topic during the run (kept after the node has exited)
    publishers: set[str] = field(default_factory=set)
    subscribers: set[str] = field(default_factory=set)
    not_counted: str = ""  # why the messages were not counted ('' = counted): NOT_COUNTED_*

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
        """``topic_stats``: count the messages of every topic, ``LARGE_TYPES`` included (False: all
        but those)."""
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self.node = Node("_lsv_graph_monitor", context=self._context, start_parameter_services=False)
        # rclpy's C++ EventsExecutor: the Python one rebuilds its wait set of every subscription for each
        # message (the launcher spent ~15 % of a core here with the whole stack running)
        self._executor = EventsExecutor(context=self._context)
        self._executor.add_node(self.node)
        self._lock = threading.Lock()
        self._topics: dict[str, TopicStats] = {}
        self._diag: dict[str, DiagnosticStats] = {}
        self._subs = []
        self._qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
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
        """Every pass: new topics (subscribed to unless not counted) and the nodes on each topic."""
        for topic, types in self.node.get_topic_names_and_types():
            if not types:
                continue
            stats = self._topics.get(topic) or self._add_topic(topic, types[0])
            publishers = endpoint_nodes(self.node.get_publishers_info_by_topic(topic))
            subscribers = endpoint_nodes(self.node.get_subscriptions_info_by_topic(topic))
            with self._lock:
                stats.publishers |= publishers
                stats.subscribers |= subscribers

    def _add_topic(self, topic: str, type_name: str) -> TopicStats:
        stats = TopicStats(type_name, not_counted=not_counted_reason(type_name, self._topic_stats))
        if not stats.not_counted:
            try:
                cls = message_class(type_name)
            except (ImportError, AttributeError, ValueError):
                stats.not_counted = NOT_COUNTED_NO_CLASS
            else:
                self._subs.append(self.node.create_subscription(
                    cls, topic, lambda raw, s=stats: self._count(s, raw), self._qos, raw=True))
        with self._lock:
            self._topics[topic] = stats
        return stats

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
            topics = {k: replace(v, publishers=set(v.publishers), subscribers=set(v.subscribers))
                      for k, v in self._topics.items()}
            diags = {k: DiagnosticStats(**vars(v)) for k, v in self._diag.items()}
        return GraphSnapshot(sorted(names), topics, diags)

    def close(self) -> None:
        if self._context.ok():
            rclpy.shutdown(context=self._context)
        self._thread.join(2.0)
        self.node.destroy_node()
