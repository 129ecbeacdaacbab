"""rosbag2 recording without the rosbag2 wheels: ``lsv record`` and ``lsv sim --record``.

``BagWriter`` (no rclpy) writes raw CDR messages into a rosbag2 folder with the ``rosbags``
library: MCAP by default, sqlite3 on request, every message type's definition embedded so
that any rosbag2 reader (``ros2 bag``, rosbags, Foxglove) decodes the messages by type name.
``Recorder`` is the ROS shell: a hidden rclpy node on a background thread (like
``GraphMonitor``) that discovers topics every 0.5 s, subscribes with ``raw=True`` and hands
each message to a ``BagWriter``.

Time: every message is stamped with the wall-clock (system) time at which the recorder
received it, ``time.time_ns()``, as ``ros2 bag record`` does by default. The graph's ROS
clock (``/clock`` in simulation) is not used; it is recorded as a topic like any other.

Folder layout, as rosbag2 writes it: ``DIR/metadata.yaml`` and ``DIR/<name>_0.mcap``,
``DIR/<name>_1.mcap``, ... (``.db3`` for sqlite3) where ``<name>`` is DIR's name; a new file
starts when the message bytes written to the current one reach ``split_size_bytes``.
``metadata.yaml`` is rewritten each time a file is closed, so after a crash every file
but the last one is readable.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore
from ruamel.yaml import YAML

from lsv_bringup.graph_monitor import message_class
from lsv_bringup.packages import PackageIndex, PackageNotFoundError

log = logging.getLogger(__name__)

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
SUFFIXES = {"mcap": ".mcap", "sqlite3": ".db3"}
BASE_STORE = Stores.ROS2_KILTED  # the ROS 2 wheels are Kilted
BAG_VERSION = 9  # rosbag2 metadata version (Jazzy and later)
RECORDER_CLOSE_S = 10.0  # s the writer thread may take to write what is queued when recording stops


class RecorderError(Exception):
    """A bag cannot be written: folder exists, unknown message type, bad storage."""


def _share_prefixes() -> list[Path]:
    env = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return [*env, Path(sys.prefix)]


class TypeResolver:
    """Message definitions by type name ('lsv_msgs/msg/VehicleStatus').

    Starts from rosbags' Kilted typestore (std_msgs, sensor_msgs, nav_msgs, ...). A type it
    does not know is looked up in ``<package share>/msg/*.msg`` of its package (workspace
    ``src/`` first, then ``AMENT_PREFIX_PATH`` and the venv prefix), and every .msg file of that
    package is registered at once so that nested types of the same package resolve.
    """

    def __init__(self, typestore: Typestore | None = None, msg_dirs: Iterable[Path] = ()):
        self.typestore = typestore if typestore is not None else get_typestore(BASE_STORE)
        self._tried: set[str] = set()
        for d in msg_dirs:
            self.register_msg_dir(Path(d))

    def register_msg_dir(self, msg_dir: Path, package: str | None = None) -> int:
        """Register every ``*.msg`` in ``msg_dir`` as ``<package>/msg/<stem>``; returns how many."""
        package = package or msg_dir.parent.name
        types = {}
        for path in sorted(msg_dir.glob("*.msg")):
            types.update(get_types_from_msg(path.read_text(), f"{package}/msg/{path.stem}"))
        self.typestore.register(types)
        return len(types)

    def _msg_dir(self, package: str) -> Path | None:
        try:
            share = PackageIndex(prefixes=_share_prefixes()).get(package).share
        except PackageNotFoundError:
            return None
        return share / "msg" if (share / "msg").is_dir() else None

    def resolve(self, type_name: str) -> bool:
        """True when ``type_name`` is (or can now be made) known to the typestore."""
        if type_name in self.typestore.fielddefs:
            return True
        package = type_name.split("/")[0]
        if package in self._tried:
            return False
        self._tried.add(package)
        msg_dir = self._msg_dir(package)
        if msg_dir is not None:
            self.register_msg_dir(msg_dir, package)
        return type_name in self.typestore.fielddefs


@dataclass
class _Split:
    """One storage file being written, through its own rosbags Writer in a staging folder."""

    writer: Writer
    staging: Path
    connections: dict[str, object] = field(default_factory=dict)  # topic -> rosbags Connection
    bytes: int = 0


class BagWriter:
    """Writes raw CDR messages into a rosbag2 folder (see the module docstring for the layout).

    ``path``: the bag folder, which must not exist. ``storage``: 'mcap' or 'sqlite3'.
    ``split_size_bytes``: start a new file once this many message bytes went into the
    current one (None: one file). Not thread-safe: call ``write`` and ``close`` from one
    thread (the sqlite3 storage refuses any thread but the one that opened the file).
    """

    def __init__(self, path: Path, resolver: TypeResolver | None = None, storage: str = "mcap",
                 split_size_bytes: int | None = None):
        if storage not in STORAGES:
            raise RecorderError(f"unknown storage '{storage}': expected one of {', '.join(STORAGES)}")
        if split_size_bytes is not None and split_size_bytes <= 0:
            raise RecorderError(f"split size must be positive, got {split_size_bytes} bytes")
        self.path = Path(path)
        if self.path.exists():
            raise RecorderError(f"bag folder {self.path} exists already; rosbag2 writers never overwrite")
        self.path.mkdir(parents=True)
        self.resolver = resolver or TypeResolver()
        self.storage = storage
        self.split_size_bytes = split_size_bytes
        self.counts: dict[str, int] = {}
        self.types: dict[str, str] = {}
        self.files: list[Path] = []
        self._metadata: list[dict] = []  # rosbag2_bagfile_information of each closed file
        self._split: _Split | None = None
        self._closed = False

    def _open_split(self) -> _Split:
        name = f"{self.path.name}_{len(self.files)}"
        staging = self.path / f".{name}"
        writer = Writer(staging, version=BAG_VERSION, storage_plugin=STORAGES[self.storage])
        writer.open()
        return _Split(writer, staging)

    def write(self, topic: str, type_name: str, data: bytes | memoryview, timestamp_ns: int) -> None:
        """Append one serialised (CDR) message received at ``timestamp_ns`` (ns since the epoch)."""
        if self._closed:
            raise RecorderError(f"bag {self.path} is closed")
        known = self.types.setdefault(topic, type_name)
        if known != type_name:
            raise RecorderError(f"topic {topic} is recorded as {known}, got a message of type {type_name}")
        if self._split is None:
            self._split = self._open_split()
        split = self._split
        conn = split.connections.get(topic)
        if conn is None:
            if not self.resolver.resolve(type_name):
                del self.types[topic]
                raise RecorderError(f"no message definition for {type_name} (topic {topic}): "
                                    "not a standard type and no share/<pkg>/msg/*.msg found")
            conn = split.writer.add_connection(topic, type_name, typestore=self.resolver.typestore)
            split.connections[topic] = conn
        split.writer.write(conn, timestamp_ns, data)
        split.bytes += len(data)
        self.counts[topic] = self.counts.get(topic, 0) + 1
        if self.split_size_bytes is not None and split.bytes >= self.split_size_bytes:
            self._close_split()

    def _close_split(self) -> None:
        split, self._split = self._split, None
        if split is None:
            return
        split.writer.close()
        meta = YAML(typ="safe").load((split.staging / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        final_name = split.staging.name.lstrip(".")
        (src,) = [p for p in split.staging.iterdir() if p.name != "metadata.yaml"]
        dst = self.path / f"{final_name}{SUFFIXES[self.storage]}"
        src.replace(dst)
        shutil.rmtree(split.staging)
        meta["relative_file_paths"] = [dst.name]
        for f in meta["files"]:
            f["path"] = dst.name
        self._metadata.append(meta)
        self.files.append(dst)
        self._write_metadata()

    def _write_metadata(self) -> None:
        """metadata.yaml of every closed file: the files' lists joined, the topics' counts summed."""
        parts = self._metadata
        topics: dict[tuple[str, str], dict] = {}
        for meta in parts:
            for entry in meta["topics_with_message_count"]:
                key = (entry["topic_metadata"]["name"], entry["topic_metadata"]["type"])
                if key in topics:
                    topics[key]["message_count"] += entry["message_count"]
                else:
                    topics[key] = {"topic_metadata": entry["topic_metadata"], "message_count": entry["message_count"]}
        nonempty = [m for m in parts if m["message_count"]]
        start = min((m["starting_time"]["nanoseconds_since_epoch"] for m in nonempty), default=0)
        end = max((m["starting_time"]["nanoseconds_since_epoch"] + m["duration"]["nanoseconds"]
                   for m in nonempty), default=0)
        info = dict(parts[0])
        info.update({
            "relative_file_paths": [p for m in parts for p in m["relative_file_paths"]],
            "files": [f for m in parts for f in m["files"]],
            "message_count": sum(m["message_count"] for m in parts),
            "starting_time": {"nanoseconds_since_epoch": start},
            "duration": {"nanoseconds": max(0, end - start)},
            "topics_with_message_count": list(topics.values()),
            "ros_distro": "kilted",
        })
        yaml = YAML(typ="safe")
        yaml.default_flow_style = False
        tmp = self.path / "metadata.yaml.tmp"
        with tmp.open("w") as out:
            yaml.dump({"rosbag2_bagfile_information": info}, out)
        tmp.replace(self.path / "metadata.yaml")

    def close(self) -> None:
        """Finish the current file and write metadata.yaml. A bag with no message gets one
        empty file, so that it is still a valid (empty) rosbag2 folder."""
        if self._closed:
            return
        if self._split is None and not self._metadata:
            self._split = self._open_split()
        self._close_split()
        self._closed = True

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Recorder:
    """Records topics of the running graph into a ``BagWriter`` from a background thread.

    ``topics``: the topics to record (None: every topic, the ones that appear later too).
    A topic is subscribed once it has a publisher, with the publishers' QoS adapted the way
    ``ros2 bag record`` does: reliable only if every publisher is reliable, transient-local
    only if every publisher is (so latched topics such as /planning/mission_goal deliver their
    last message). A topic whose type has no definition is skipped with one warning.
    """

    def __init__(self, writer: BagWriter, topics: Iterable[str] | None = None,
                 discover_period_s: float = 0.5, node_name: str = "_lsv_recorder"):
        self.writer = writer
        self.wanted = None if topics is None else {t if t.startswith("/") else f"/{t}" for t in topics}
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self.node = Node(node_name, context=self._context, start_parameter_services=False)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self.node)
        self._lock = threading.Lock()  # around the writer: callbacks vs close()
        self._subs: dict[str, object] = {}
        self.skipped: dict[str, str] = {}  # topic -> type it could not record
        self.received = 0
        self.error: Exception | None = None  # why recording stopped early (disk full, ...)
        self._stopping = threading.Event()
        self.node.create_timer(discover_period_s, self._discover)
        self._thread = threading.Thread(target=self._spin, daemon=True, name="recorder")
        self._thread.start()

    def _spin(self) -> None:
        """Every writer call happens on this thread (the sqlite3 storage allows no other)."""
        try:
            while self._context.ok() and not self._stopping.is_set():
                self._executor.spin_once(timeout_sec=0.1)
            # drain: take what the middleware has queued until nothing arrives for 0.2 s (max 2 s)
            deadline = time.monotonic() + 2.0
            quiet_since, seen = time.monotonic(), self.received
            while self._context.ok() and time.monotonic() < deadline and time.monotonic() - quiet_since < 0.2:
                self._executor.spin_once(timeout_sec=0.05)
                if self.received != seen:
                    quiet_since, seen = time.monotonic(), self.received
        except (RecorderError, OSError) as err:  # the bag cannot take more: keep what it has
            self.error = err
            self.node.get_logger().error(f"recording into {self.writer.path} stopped: {err}")
        finally:
            with self._lock:
                self.writer.close()

    def _qos(self, topic: str) -> QoSProfile | None:
        """The publishers' QoS, adapted (None while the topic has no publisher)."""
        pubs = self.node.get_publishers_info_by_topic(topic)
        if not pubs:
            return None
        reliable = all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in pubs)
        latched = all(p.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in pubs)
        return QoSProfile(depth=100,
                          reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                          durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)

    def _discover(self) -> None:
        for topic, types in self.node.get_topic_names_and_types():
            if topic in self._subs or topic in self.skipped or not types:
                continue
            if self.wanted is not None and topic not in self.wanted:
                continue
            type_name = types[0]
            try:
                cls = message_class(type_name)
            except (ImportError, AttributeError, ValueError):
                cls = None
            with self._lock:
                resolved = self.writer.resolver.resolve(type_name)
            if cls is None or not resolved or len(types) > 1:
                why = ("several types on one topic: " + ", ".join(types) if len(types) > 1
                       else "no Python message class" if cls is None else "no message definition")
                self.skipped[topic] = type_name
                self.node.get_logger().warning(f"not recording {topic} ({type_name}): {why}")
                continue
            qos = self._qos(topic)
            if qos is None:
                continue  # no publisher yet: the QoS to match is not known, try again later
            self._subs[topic] = self.node.create_subscription(
                cls, topic, lambda raw, t=topic, n=type_name: self._on_message(t, n, raw), qos, raw=True)

    def _on_message(self, topic: str, type_name: str, raw: bytes) -> None:
        now_ns = time.time_ns()
        with self._lock:
            self.writer.write(topic, type_name, raw, now_ns)
            self.received += 1

    @property
    def topics(self) -> list[str]:
        """The topics subscribed so far."""
        return sorted(self._subs)

    @property
    def running(self) -> bool:
        """False once the recorder thread has ended (after ``close()``, or on a write error)."""
        return self._thread.is_alive()

    def counts(self) -> dict[str, int]:
        """Messages written so far, per topic."""
        with self._lock:
            return dict(self.writer.counts)

    def close(self) -> dict[str, int]:
        """Take every queued message, close the bag, stop the node; returns messages per topic."""
        self._stopping.set()
        self._thread.join(RECORDER_CLOSE_S)
        if self._thread.is_alive():
            raise RecorderError(f"the recorder thread did not finish the bag {self.writer.path} "
                                f"in {RECORDER_CLOSE_S:g} s")
        if self._context.ok():
            rclpy.shutdown(context=self._context)
        self.node.destroy_node()
        with self._lock:
            return dict(self.writer.counts)
