"""``lsv play``: publish a rosbag2 recording with its original timing, what ``ros2 bag play`` does.

Two layers, usable in-process by tests:

- ``BagSource`` (no rclpy): opens a rosbag2 folder (MCAP or sqlite3, ours or one written by a
  real ``ros2 bag record`` of any distro from Humble on) or a single ``.mcap`` / ``.db3`` file
  with the ``rosbags`` library, lists the topics with their offered QoS, registers the message
  definitions embedded in the bag (``ros2msg`` or ``ros2idl``; a bag without any, such as a
  Humble sqlite3 one, falls back on the Kilted standard types and the workspace's ``lsv_msgs``)
  and yields ``(topic, timestamp_ns, raw CDR)`` in time order.
- ``BagPlayer`` (rclpy, its own context and hidden node, like the recorder): one publisher per
  topic with the recorded QoS, the raw CDR bytes published as they are (no decode/encode round
  trip), timing from the bag's time stamps scaled by ``rate``, optional ``/clock`` from the bag's
  time so that nodes with ``use_sim_time`` follow the recording, and ``wait_for_subscribers``
  before the first message so that nothing is lost to discovery.

A topic whose type has no installed Python message class, or whose first message the installed
class cannot deserialize (the bag's definition differs), is skipped with the reason; the
others play. This module stays cheap to import (``lsv --help`` imports it): rclpy and rosbags
are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NS = 1_000_000_000
EXIT_USAGE = 2
EXIT_FAILED = 1
DEFAULT_CLOCK_HZ = 100.0  # Hz (per wall second), /clock publication rate of --clock
DEFAULT_WAIT_S = 3.0  # s, longest wait for subscribers before the first message
SETTLE_S = 0.3  # s after the last subscriber matched: its side of the discovery completes too
DEFAULT_DEPTH = 100  # history depth of the publishers (a reliable writer keeps this many un-acked)
BAG_SUFFIXES = (".mcap", ".db3")


class PlayerError(Exception):
    """A bag cannot be played: missing, truncated, unknown format, nothing to play."""


@dataclass(frozen=True)
class TopicInfo:
    """One topic of a bag: its type, message count and offered QoS (as recorded, if recorded)."""

    topic: str
    type_name: str
    count: int
    reliable: bool | None = None  # None: the bag does not say (our recorder, old bags)
    transient_local: bool | None = None
    has_definition: bool = False


def _qos_of(conn: Any) -> tuple[bool | None, bool | None]:
    """(reliable, transient_local) from a rosbags connection's offered QoS profiles."""
    from rosbags.interfaces import QosDurability, QosReliability

    profiles = getattr(conn.ext, "offered_qos_profiles", None) or []
    if not profiles:
        return None, None
    reliable = all(p.reliability == QosReliability.RELIABLE for p in profiles)
    latched = all(p.durability == QosDurability.TRANSIENT_LOCAL for p in profiles)
    return reliable, latched


def _bag_path(path: Path) -> Path:
    """The path rosbags should open, or a PlayerError that says what is wrong with ``path``."""
    if not path.exists():
        raise PlayerError(f"bag not found: {path}")
    if path.is_dir():
        if (path / "metadata.yaml").is_file():
            return path
        files = sorted(p for p in path.iterdir() if p.suffix in BAG_SUFFIXES)
        hint = (f"; it holds {', '.join(p.name for p in files)}: an interrupted recording? "
                f"play a file directly, e.g. `lsv play {files[0]}`") if files else ""
        raise PlayerError(f"{path} is not a rosbag2 folder: no metadata.yaml{hint}")
    if path.suffix in BAG_SUFFIXES:
        return path
    raise PlayerError(f"unknown bag format: {path} (expected a rosbag2 folder with metadata.yaml, "
                      f"or a {' or '.join(BAG_SUFFIXES)} file)")


class BagSource:
    """Reads a rosbag2 bag (see the module docstring). Use as a context manager or call ``close``."""

    def __init__(self, path: str | Path):
        from rosbags.rosbag2 import Reader
        from rosbags.rosbag2.errors import ReaderError

        self.path = Path(path)
        try:
            self._reader = Reader(_bag_path(self.path))
            self._reader.open()
        except PlayerError:
            raise
        except (ReaderError, FileNotFoundError) as err:
            raise PlayerError(f"cannot read bag {self.path}: {_explain(err)}") from err
        except (OSError, ValueError, KeyError, IndexError) as err:  # a storage file cut short mid-record
            raise PlayerError(f"cannot read bag {self.path}: {type(err).__name__}: {err} "
                              "(truncated or damaged file?)") from err
        self._conns = {c.topic: c for c in self._reader.connections}
        self.topics: dict[str, TopicInfo] = {}
        self.definition_errors: dict[str, str] = {}
        self.typestore, self._fallback = self._typestores()
        for topic, conn in sorted(self._conns.items()):
            reliable, latched = _qos_of(conn)
            self.topics[topic] = TopicInfo(topic, conn.msgtype, conn.msgcount, reliable, latched,
                                           conn.msgtype in self.typestore.fielddefs)

    def _typestores(self) -> tuple[Any, Any]:
        """(store of the bag's embedded definitions, fallback store: Kilted + workspace lsv_msgs)."""
        from rosbags.interfaces import MessageDefinitionFormat
        from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore
        from rosbags.typesys.base import TypesysError

        store = get_typestore(Stores.EMPTY)
        for conn in self._reader.connections:
            fmt, text = conn.msgdef.format, conn.msgdef.data
            if fmt == MessageDefinitionFormat.NONE or not text or conn.msgtype in store.fielddefs:
                continue
            try:
                types = (get_types_from_msg(text, conn.msgtype) if fmt == MessageDefinitionFormat.MSG
                         else get_types_from_idl(text))
                store.register(types)
            except (TypesysError, ValueError) as err:
                self.definition_errors[conn.topic] = f"unusable embedded definition of {conn.msgtype}: {err}"
        return store, None

    def _fallback_store(self) -> Any:
        if self._fallback is None:
            from lsv_bringup.recorder import TypeResolver  # imports rclpy: only when a bag lacks definitions

            self._fallback = TypeResolver()
        return self._fallback

    @property
    def start_ns(self) -> int:
        return self._reader.start_time if self._reader.message_count else 0

    @property
    def end_ns(self) -> int:
        """Time stamp of the last message (rosbags' end_time is one past it)."""
        return self._reader.end_time - 1 if self._reader.message_count else 0

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / NS

    @property
    def message_count(self) -> int:
        return self._reader.message_count

    def messages(self, topics: Iterable[str] | None = None, start_ns: int | None = None,
                 stop_ns: int | None = None) -> Iterator[tuple[str, int, bytes]]:
        """``(topic, timestamp_ns, raw CDR)`` of ``topics`` (None: all) in the bag's order."""
        from rosbags.rosbag2.errors import ReaderError

        wanted = None if topics is None else set(topics)
        conns = [c for t, c in self._conns.items() if wanted is None or t in wanted]
        if not conns:
            return
        try:
            for conn, ts, raw in self._reader.messages(conns, start=start_ns, stop=stop_ns):
                yield conn.topic, ts, raw
        except ReaderError as err:
            raise PlayerError(f"bag {self.path} is damaged: {_explain(err)}") from err

    def offered_qos(self, topic: str) -> list:
        """The offered QoS profiles of ``topic`` as recorded (rosbags ``Qos``; empty if not recorded)."""
        return list(getattr(self._conns[topic].ext, "offered_qos_profiles", None) or [])

    def typestore_for(self, topic: str) -> Any:
        """The rosbags typestore that knows ``topic``'s type: the bag's own definitions first, then
        Kilted + the workspace's lsv_msgs. PlayerError when neither has it."""
        type_name = self.topics[topic].type_name
        if type_name in self.typestore.fielddefs:
            return self.typestore
        resolver = self._fallback_store()
        if not resolver.resolve(type_name):
            raise PlayerError(f"no definition of {type_name} (topic {topic}) in the bag or installed")
        return resolver.typestore

    def decode(self, topic: str, raw: bytes) -> Any:
        """Deserialize with the bag's own definition (fallback: Kilted + lsv_msgs); rosbags objects."""
        return self.typestore_for(topic).deserialize_cdr(raw, self.topics[topic].type_name)

    def encode(self, topic: str, msg: Any) -> bytes:
        """Serialize a (decoded, changed) message of ``topic`` back to CDR with the same definition."""
        return bytes(self.typestore_for(topic).serialize_cdr(msg, self.topics[topic].type_name))

    def read_all(self, topics: Iterable[str] | None = None) -> dict[str, list[tuple[int, Any]]]:
        """{topic: [(timestamp_ns, decoded message)]}: for tests and offline tools (small bags)."""
        out: dict[str, list[tuple[int, Any]]] = {}
        for topic, ts, raw in self.messages(topics):
            out.setdefault(topic, []).append((ts, self.decode(topic, raw)))
        return out

    def close(self) -> None:
        if self._reader.is_open:
            self._reader.close()

    def __enter__(self) -> BagSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _explain(err: Exception) -> str:
    text = str(err)
    if "magic" in text.lower() or "truncat" in text.lower() or "unexpected end" in text.lower():
        return f"{text} (truncated or not a bag file: a recording that did not end cleanly?)"
    if "malformed" in text.lower() or "database disk image" in text.lower():
        return f"{text} (damaged file)"
    return text


def parse_remaps(items: Iterable[str]) -> dict[str, str]:
    """['/a:=/b', ...] -> {'/a': '/b'}."""
    out = {}
    for item in items:
        src, sep, dst = item.partition(":=")
        if not sep or not src or not dst:
            raise PlayerError(f"bad remap '{item}': expected FROM:=TO")
        out[src] = dst
    return out


@dataclass
class PlayStats:
    """What one ``play()`` did."""

    published: dict[str, int]
    clock_ticks: int = 0
    loops: int = 0
    stopped: bool = False  # ended by stop(), not by the end of the bag


class BagPlayer:
    """Publishes a bag (see the module docstring). Its own rclpy context: usable next to a test's.

    ``topics``: the topics to play (None: all). ``rate``: playback speed (2.0 = twice as fast).
    ``clock_hz``: publish /clock at this rate (per wall second) from the bag's time; None: no
    /clock (a recorded /clock topic then plays like any other; with ``clock_hz`` it is skipped).
    ``start_offset_s``: start this far into the bag; the last message before that point of every
    transient-local (latched) topic is published first, as its publisher would have re-offered it.
    ``duration_s``: play only this much of the bag (None: to its end). ``loop``: start again at
    the end until ``stop()``. ``remaps``: {recorded topic: published topic}.
    """

    def __init__(self, path: str | Path, topics: Iterable[str] | None = None, rate: float = 1.0,
                 clock_hz: float | None = None, start_offset_s: float = 0.0, loop: bool = False,
                 remaps: dict[str, str] | None = None, node_name: str = "_lsv_player",
                 duration_s: float | None = None):
        if not rate > 0.0:
            raise PlayerError(f"rate must be positive, got {rate}")
        if clock_hz is not None and not clock_hz > 0.0:
            raise PlayerError(f"clock rate must be positive, got {clock_hz} Hz")
        if start_offset_s < 0.0:
            raise PlayerError(f"start offset must not be negative, got {start_offset_s} s")
        self.source = BagSource(path)
        self.rate, self.clock_hz, self.loop = rate, clock_hz, loop
        self.start_offset_s = start_offset_s
        if duration_s is not None and not duration_s > 0.0:
            raise PlayerError(f"duration must be positive, got {duration_s} s")
        self.duration_s = duration_s
        self.remaps = dict(remaps or {})
        self.skipped: dict[str, str] = {}  # topic -> why it is not played
        wanted = set(self.source.topics) if topics is None else {t if t.startswith("/") else f"/{t}" for t in topics}
        for topic in sorted(wanted - set(self.source.topics)):
            self.skipped[topic] = "not in the bag"
        if clock_hz is not None and "/clock" in wanted & set(self.source.topics):
            self.skipped["/clock"] = "the bag's /clock is replaced by the player's (--clock)"
        self.topics = sorted(t for t in wanted & set(self.source.topics) if t not in self.skipped)
        if self.source.message_count and self.start_offset_s * NS > self.source.end_ns - self.source.start_ns:
            raise PlayerError(f"start offset {start_offset_s:g} s is past the end of the bag "
                              f"({self.source.duration_s:.1f} s)")
        self._stop = threading.Event()
        self._classes = self._check_types()
        if not self.topics and clock_hz is None:
            raise PlayerError(f"nothing to play in {path}: " + ("; ".join(f"{t}: {why}" for t, why in
                                                                        sorted(self.skipped.items())) or "no topics"))
        self._open_node(node_name)

    def _check_types(self) -> dict[str, type]:
        """The Python class of every topic; a topic it cannot decode is moved to ``skipped``."""
        from rclpy.serialization import deserialize_message

        from lsv_bringup.graph_monitor import message_class

        classes: dict[str, type] = {}
        first: dict[str, bytes] = {}
        for topic in list(self.topics):
            type_name = self.source.topics[topic].type_name
            try:
                classes[topic] = message_class(type_name)
            except (ImportError, AttributeError, ValueError):
                self.skipped[topic] = f"cannot decode {type_name}: no message class installed"
        if classes:  # one message per topic through the installed class: does the bag's layout fit it?
            for topic, _, raw in self.source.messages(classes):
                first.setdefault(topic, raw)
                if len(first) == len(classes):
                    break
        for topic, raw in first.items():
            try:
                deserialize_message(raw, classes[topic])
            except Exception as err:  # noqa: BLE001 - rclpy raises whatever the C deserializer reports
                type_name = self.source.topics[topic].type_name
                self.skipped[topic] = (f"cannot decode {type_name} with the installed definition "
                                       f"({type(err).__name__}: {err}); the bag's definition differs")
                del classes[topic]
        self.topics = [t for t in self.topics if t in classes]
        return classes

    def _open_node(self, node_name: str) -> None:
        import rclpy
        from rclpy.node import Node
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from rosgraph_msgs.msg import Clock

        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self.node = Node(node_name, context=self._context, start_parameter_services=False)
        self.publishers: dict[str, Any] = {}
        for topic in self.topics:
            info = self.source.topics[topic]
            # Not recorded (our recorder, old bags): reliable + transient-local, which every
            # subscription accepts (a volatile publisher would not match a latched subscription).
            reliable = True if info.reliable is None else info.reliable
            latched = True if info.transient_local is None else info.transient_local
            qos = QoSProfile(depth=DEFAULT_DEPTH,
                             reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)
            name = self.remaps.get(topic, topic)
            self.publishers[topic] = self.node.create_publisher(self._classes[topic], name, qos)
        self._clock_pub = (self.node.create_publisher(Clock, "/clock", 10) if self.clock_hz is not None else None)

    def wait_for_subscribers(self, timeout_s: float = DEFAULT_WAIT_S, topics: Iterable[str] | None = None) -> list[str]:
        """Wait until every topic in ``topics`` (default: every played topic and /clock) has a
        subscriber, at most ``timeout_s``; returns the (published) names of those that have none."""
        pubs = dict(self.publishers) if topics is None else {t: self.publishers[t] for t in topics}
        if self._clock_pub is not None and topics is None:
            pubs["/clock"] = self._clock_pub
        deadline = time.monotonic() + timeout_s
        while not self._stop.is_set():
            missing = [t for t, p in pubs.items() if p.get_subscription_count() == 0]
            if not missing:
                if pubs:
                    self._stop.wait(SETTLE_S)
                return []
            if time.monotonic() >= deadline:
                return sorted(self.remaps.get(t, t) for t in missing)
            self._stop.wait(0.05)
        return []

    def stop(self) -> None:
        """Ends ``play()`` (from another thread or a signal handler)."""
        self._stop.set()

    def _publish_clock(self, bag_ns: int) -> None:
        from builtin_interfaces.msg import Time
        from rosgraph_msgs.msg import Clock

        self._clock_pub.publish(Clock(clock=Time(sec=bag_ns // NS, nanosec=bag_ns % NS)))

    def play(self, progress: Callable[[float, float], None] | None = None,
             progress_period_s: float = 0.2) -> PlayStats:
        """Publish until the end of the bag (every loop with ``loop``) or ``stop()``.

        ``progress(elapsed_s, total_s)`` in bag seconds, every ``progress_period_s`` of wall time.
        """
        stats = PlayStats(published={t: 0 for t in self.topics})
        begin = self.source.start_ns + round(self.start_offset_s * NS)
        end = self.source.end_ns if self.duration_s is None else min(self.source.end_ns,
                                                                      begin + round(self.duration_s * NS))
        total_s = max(0.0, (end - begin) / NS)
        clock_step = None if self.clock_hz is None else max(1, round(self.rate * NS / self.clock_hz))
        while not self._stop.is_set():
            t0 = time.monotonic_ns()
            next_clock = begin
            next_progress = 0.0

            def wait_until(bag_ns: int, t0: int = t0) -> bool:
                """Sleep until the wall time of ``bag_ns``; False when stopped."""
                target = t0 + (bag_ns - begin) / self.rate
                while True:
                    delay = (target - time.monotonic_ns()) / NS
                    if delay <= 0:
                        return not self._stop.is_set()
                    if self._stop.wait(min(delay, 0.1)):
                        return False

            if begin > self.source.start_ns:
                self._publish_latched_before(begin, stats)
            for topic, ts, raw in self.source.messages(self.topics, start_ns=begin, stop_ns=end + 1):
                while clock_step is not None and next_clock <= ts:
                    if not wait_until(next_clock):
                        break
                    self._publish_clock(next_clock)
                    stats.clock_ticks += 1
                    next_clock += clock_step
                if not wait_until(ts):
                    break
                self.publishers[topic].publish(raw)
                stats.published[topic] += 1
                if progress is not None and time.monotonic() >= next_progress:
                    next_progress = time.monotonic() + progress_period_s
                    progress((ts - begin) / NS, total_s)
            if clock_step is not None and not self._stop.is_set():
                while next_clock <= end and wait_until(next_clock):  # /clock up to the bag's last stamp
                    self._publish_clock(next_clock)
                    stats.clock_ticks += 1
                    next_clock += clock_step
            if self._stop.is_set():
                stats.stopped = True
                break
            if progress is not None:
                progress(total_s, total_s)
            stats.loops += 1
            if not self.loop:
                break
        return stats

    def _publish_latched_before(self, begin: int, stats: PlayStats) -> None:
        latched = [t for t in self.topics if self.source.topics[t].transient_local]
        last: dict[str, bytes] = {}
        for topic, _, raw in self.source.messages(latched, stop_ns=begin):
            last[topic] = raw
        for topic, raw in last.items():
            self.publishers[topic].publish(raw)
            stats.published[topic] += 1

    def close(self) -> None:
        import rclpy

        if getattr(self, "node", None) is not None:
            self.node.destroy_node()
            self.node = None
            if self._context.ok():
                rclpy.shutdown(context=self._context)
        self.source.close()

    def __enter__(self) -> BagPlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- command line -------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", type=Path, metavar="BAG",
                        help="rosbag2 folder (metadata.yaml + .mcap/.db3 files), or one .mcap/.db3 file")
    parser.add_argument("--rate", type=float, default=1.0, metavar="R", help="playback speed factor (default 1.0)")
    parser.add_argument("--loop", action="store_true", help="start again at the end, until Ctrl-C")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC", help="play only these topics (default: all)")
    parser.add_argument("--start-offset", type=float, default=0.0, metavar="S",
                        help="start this many seconds into the bag (default 0)")
    parser.add_argument("--duration", type=float, metavar="S", help="play only S seconds of the bag")
    parser.add_argument("--clock", nargs="?", type=float, const=DEFAULT_CLOCK_HZ, default=None, metavar="HZ",
                        help="publish /clock from the bag's time at HZ per wall second (default "
                             f"{DEFAULT_CLOCK_HZ:g}) for nodes with use_sim_time; a recorded /clock is then not played")
    parser.add_argument("--remap", nargs="+", default=[], metavar="FROM:=TO", help="publish topic FROM as TO")
    parser.add_argument("--wait-for-subscribers", type=float, default=DEFAULT_WAIT_S, metavar="S",
                        help="wait up to S seconds before the first message until every topic has a "
                             f"subscriber (default {DEFAULT_WAIT_S:g}; 0: do not wait)")


def _print_info(player: BagPlayer) -> None:
    src = player.source
    print(f"lsv play: {src.path}: {src.message_count} messages, {src.duration_s:.1f} s, "
          f"{len(src.topics)} topic(s)", flush=True)
    for topic in player.topics:
        info = src.topics[topic]
        shown = player.remaps.get(topic, topic)
        print(f"  {info.count:8d}  {shown}" + (f" (from {topic})" if shown != topic else "") + f" ({info.type_name})")
    for topic, why in sorted(player.skipped.items()):
        print(f"  skipped   {topic}: {why}", flush=True)


def run(ns: argparse.Namespace) -> int:
    """``lsv play``: see ``add_arguments``. Exit status 0 at the end of the bag or on Ctrl-C."""
    import signal

    from lsv_common import middleware

    middleware.apply_defaults()
    try:
        remaps = parse_remaps(ns.remap)
        player = BagPlayer(ns.bag, topics=ns.topics, rate=ns.rate, clock_hz=ns.clock,
                           start_offset_s=ns.start_offset, loop=ns.loop, remaps=remaps, duration_s=ns.duration)
    except PlayerError as err:
        print(f"lsv play: error: {err}", file=sys.stderr)
        return EXIT_USAGE if "not found" in str(err) or "must" in str(err) or "remap" in str(err) else EXIT_FAILED
    previous = {sig: signal.signal(sig, lambda *_: player.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _print_info(player)
        if ns.wait_for_subscribers > 0:
            missing = player.wait_for_subscribers(ns.wait_for_subscribers)
            if missing:
                print(f"lsv play: no subscriber after {ns.wait_for_subscribers:g} s on: {', '.join(missing)} "
                      "(playing anyway)", flush=True)
        stats = _play_with_progress(player)
    except PlayerError as err:
        print(f"lsv play: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        middleware.close_within(player.close, middleware.CLOSE_S)
    total = sum(stats.published.values())
    print(f"lsv play: {'stopped' if stats.stopped else 'done'}: {total} messages on {len(stats.published)} "
          f"topic(s)" + (f", {stats.clock_ticks} /clock ticks" if stats.clock_ticks else "")
          + (f", {stats.loops} loop(s)" if ns.loop else ""), flush=True)
    return 0


def _play_with_progress(player: BagPlayer) -> PlayStats:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]playing[/] x{task.fields[rate]:g}"), BarColumn(),
               TextColumn("{task.completed:6.1f} / {task.total:.1f} s"), TimeRemainingColumn())
    total = max(player.source.duration_s - player.start_offset_s, 0.0)
    if player.duration_s is not None:
        total = min(total, player.duration_s)
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("play", total=total or 1.0, rate=player.rate)

        def update(elapsed_s: float, _total_s: float) -> None:
            bar.update(task, completed=elapsed_s)

        return player.play(update)
