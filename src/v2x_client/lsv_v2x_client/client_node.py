"""``v2x_client`` node: C-V2X messages from the OBU over UDP -> signals, hints and objects.

1. Receive: a non-blocking UDP socket drained by a short-period timer (no thread), each
   datagram admitted by the core (sizes and rate limits, before any decoding: a flood costs
   little), an admitted one, with ``publish_datagrams``, republished undecoded on
   ``~/output/datagrams`` (lsv_msgs/V2xDatagram) so that a recording holds what the client
   decoded, then decoded, checked and stored. ``datagram_source: topic`` takes the datagrams
   from ``~/input/datagrams`` instead (a recording replayed, with ``use_sim_time``): no socket.
   Signed datagrams are checked against the ``trust_store`` file (loaded at start-up; its
   ``test_only`` keys - the simulator's - only on simulated time, ``use_sim_time``).
2. Ego: ``~/input/odometry`` (nav_msgs/Odometry in the map frame). Without a fresh pose the
   position-dependent messages (BSM, RSM, RSI) are dropped and counted as ``no_ego_pose``
   and a WARN is raised: V2X is advice, never permission, and a position that cannot be
   checked is not advice we can vouch for. SPaT and MAP do not depend on the ego pose.
3. Publish every ``publish_period_s``: ``~/output/traffic_signals``
   (lsv_msgs/TrafficSignalArray), ``~/output/hints`` (lsv_msgs/V2xHintArray),
   ``~/output/objects`` (lsv_msgs/DetectedObjectArray, frame "map", source V2X; signal states of
   an authenticated SPaT with ``source = SOURCE_V2X_AUTHENTICATED``), and
   ``/diagnostics`` at 1 Hz with the drop counts by reason.
"""

from __future__ import annotations

import socket
import time

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, Vector3
from nav_msgs.msg import Odometry
from rclpy.node import Node

from lsv_common.convert import yaw_quaternion_msg
from lsv_common.geometry import QuaternionError, yaw_of
from lsv_common.node import OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import ParameterError
from lsv_common.share import resolve_package_url
from lsv_msgs.msg import (
    DetectedObject,
    DetectedObjectArray,
    TrafficSignal,
    TrafficSignalArray,
    V2xDatagram,
    V2xHint,
    V2xHintArray,
)
from lsv_v2x_client import hints as H
from lsv_v2x_client import security
from lsv_v2x_client.checks import EgoState
from lsv_v2x_client.core import V2xClientCore
from lsv_v2x_client.params import V2xClientParams

NS = 1_000_000_000
MAP_FRAME = "map"
MAX_UDP = 65535  # bytes read per recvfrom; longer ones are truncated by the kernel and dropped as oversized
RECEIVE_BUDGET_S = 0.02  # s of decoding per receive tick, so that a flood cannot starve publishing
FLOOD_KEYS = ("dropped.source_rate_limited", "dropped.over_budget", "dropped.decode_budget")


def load_trust_store(value: str, allow_test_only: bool) -> tuple[security.TrustStore, list[str]]:
    """Parameter 'trust_store' -> the store and the test-only keys left out; ParameterError when unusable."""
    if not value:
        return security.TrustStore(), []
    path, looked = resolve_package_url(value)
    if path is None or not path.is_file():
        raise ParameterError(f"parameter 'trust_store': {value} not found (looked in "
                             f"{', '.join(str(c) for c in looked) or value})")
    try:
        return security.load_trust_store(path, allow_test_only)
    except security.SecurityError as err:
        raise ParameterError(f"parameter 'trust_store': {err}") from err


def to_time(ns: int) -> Time:
    return Time(sec=ns // NS, nanosec=ns % NS) if ns > 0 else Time()


def hint_msg(h: H.Hint) -> V2xHint:
    return V2xHint(type=int(h.type), source_id=h.source_id, hint_id=h.hint_id, position=Point(x=h.x, y=h.y),
                   radius=float(h.radius), zone=[Point(x=x, y=y) for x, y in h.zone],
                   velocity=Vector3(x=h.vx, y=h.vy), heading=float(h.heading),
                   speed_limit_mps=float(h.speed_limit_mps), event_code=h.event_code,
                   valid_until=to_time(h.valid_until_ns), confidence=float(h.confidence),
                   code_kind=int(h.code_kind), distance=float(h.distance), time_to_path=float(h.time_to_path),
                   intersection_id=h.intersection_id, lane_id=h.lane_id)


def signal_msg(s: H.SignalState) -> TrafficSignal:
    return TrafficSignal(region_id=s.region, intersection_id=s.intersection_id, phase_id=s.phase_id,
                         lane_id=s.lane_id, connecting_lane_id=s.connecting_lane_id, state=int(s.state),
                         min_end_time=to_time(s.min_end_ns), likely_end_time=to_time(s.likely_end_ns),
                         max_end_time=to_time(s.max_end_ns), confidence=float(s.confidence),
                         source=TrafficSignal.SOURCE_V2X_AUTHENTICATED if s.authenticated else TrafficSignal.SOURCE_V2X)


def object_msg(o: H.RemoteObject) -> DetectedObject:
    msg = DetectedObject(classification=int(o.classification), score=float(o.score),
                         source=DetectedObject.SOURCE_V2X, has_box_3d=True, has_box_2d=False)
    msg.pose.position = Point(x=o.x, y=o.y, z=o.height / 2)
    msg.pose.orientation = yaw_quaternion_msg(o.yaw)
    msg.dimensions = Vector3(x=o.length, y=o.width, z=o.height)
    return msg


class V2xClientNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("v2x_client", **node_kwargs)
        self.params = load_params(self, V2xClientParams)
        p = self.params
        sim_time = bool(self.get_parameter("use_sim_time").value)
        trust_store, self._ignored_test_keys = load_trust_store(p.trust_store, allow_test_only=sim_time)
        self.core = V2xClientCore(self.params, trust_store)
        if self._ignored_test_keys:
            self.get_logger().error(
                f"trust store {p.trust_store}: test-only keys {self._ignored_test_keys} ignored on system time: "
                f"set 'trust_store' to the site's file (no V2X message can be authenticated until then)")
        self._sock: socket.socket | None = None
        self._pub_datagrams = None
        if p.datagram_source == "udp":
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                self._sock.bind((p.bind_address, p.port))
            except OSError as err:  # address in use / not on this host: a configuration problem, said in one line
                self._sock.close()
                raise ParameterError(f"cannot receive UDP on {p.bind_address}:{p.port}: {err.strerror} "
                                     "(parameters 'bind_address' and 'port')") from err
            self._sock.setblocking(False)
            if p.publish_datagrams:
                self._pub_datagrams = self.create_publisher(V2xDatagram, "~/output/datagrams", 100)
        else:
            self.create_subscription(V2xDatagram, "~/input/datagrams", self._on_datagram, 100)
        self._internal_errors = 0
        self._bad_odometry = 0  # odometry dropped: its orientation is not a rotation
        self._last_received = self._last_bad = self._last_flood = 0
        self._last_datagram_ns: int | None = None  # ROS clock at the diagnostics report that saw the last one
        self._pub_signals = self.create_publisher(TrafficSignalArray, "~/output/traffic_signals", 10)
        self._pub_hints = self.create_publisher(V2xHintArray, "~/output/hints", 10)
        self._pub_objects = self.create_publisher(DetectedObjectArray, "~/output/objects", 10)
        self.create_subscription(Odometry, "~/input/odometry", self._on_odometry, 10)
        if self._sock is not None:
            self.create_timer(p.receive_period_s, self._on_receive)
        self.create_timer(p.publish_period_s, self._on_publish)
        self._diagnostics = Diagnostics(self, self._collect)
        where = f"udp://{p.bind_address}:{p.port}" if self._sock is not None else "~/input/datagrams (replay)"
        self.get_logger().info(f"receiving {p.profile} V2X on {where}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    # 1. receive
    def _on_receive(self) -> None:
        now_ns = self._now_ns()
        deadline = time.monotonic() + RECEIVE_BUDGET_S
        for _ in range(self.params.max_datagrams_per_tick):
            if time.monotonic() > deadline:  # the rest waits in the socket buffer for the next tick
                return
            try:
                data, addr = self._sock.recvfrom(MAX_UDP)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # e.g. ICMP errors reported on the socket: keep receiving
                self.get_logger().warning(f"UDP receive error: {err}", throttle_duration_sec=1.0)
                return
            self._handle(data, f"{addr[0]}:{addr[1]}", now_ns)

    def _on_datagram(self, msg: V2xDatagram) -> None:
        self._handle(bytes(msg.data), msg.source or "replay", self._now_ns())

    def _handle(self, data: bytes, source: str, now_ns: int) -> None:
        try:
            admitted = self.core.admit(data, source, now_ns)
            if admitted is None:  # dropped before decoding (counted): a flood is neither decoded nor recorded
                return
            if self._pub_datagrams is not None:
                msg = V2xDatagram(source=source, data=data)
                msg.header.stamp = to_time(now_ns)
                self._pub_datagrams.publish(msg)
            self.core.process(admitted, now_ns)
        except Exception as err:  # noqa: BLE001 - the loop must survive a core bug; counted and logged
            self._internal_errors += 1
            self.get_logger().error(f"V2X datagram from {source} raised {type(err).__name__}: {err}",
                                    throttle_duration_sec=1.0)

    # 2. ego
    def _on_odometry(self, msg: Odometry) -> None:
        try:
            yaw = yaw_of(msg.pose.pose.orientation)
        except QuaternionError as err:  # not stored: the ego pose ages, position-dependent messages wait
            self._bad_odometry += 1
            self.get_logger().warning(f"odometry dropped: {err} ({self._bad_odometry} so far)",
                                      throttle_duration_sec=1.0)
            return
        stamp = msg.header.stamp.sec * NS + msg.header.stamp.nanosec
        self.core.set_ego(EgoState(msg.pose.pose.position.x, msg.pose.pose.position.y, yaw,
                                   max(0.0, msg.twist.twist.linear.x), stamp if stamp > 0 else self._now_ns()))

    # 3. publish
    def _on_publish(self) -> None:
        now_ns = self._now_ns()
        out = self.core.outputs(now_ns)
        stamp = to_time(now_ns)
        signals = TrafficSignalArray(signals=[signal_msg(s) for s in out.signals])
        signals.header.stamp = stamp
        signals.header.frame_id = MAP_FRAME
        hints = V2xHintArray(hints=[hint_msg(h) for h in out.hints])
        hints.header.stamp = stamp
        hints.header.frame_id = MAP_FRAME
        objects = DetectedObjectArray(objects=[object_msg(o) for o in out.objects])
        objects.header.stamp = stamp
        objects.header.frame_id = MAP_FRAME
        self._pub_signals.publish(signals)
        self._pub_hints.publish(hints)
        self._pub_objects.publish(objects)

    def _collect(self) -> list:
        core = self.core
        values: dict[str, object] = {"received": core.received, "decoded": core.decoded,
                                     "map_cache_hits": core.map_cache_hits, "authenticated": core.authenticated,
                                     "trusted_signers": len(core.trust_store),
                                     "internal_errors": self._internal_errors,
                                     "odometry_bad_orientation": self._bad_odometry}
        values.update({f"accepted.{k.value}": n for k, n in core.accepted_counts().items()})
        values.update(core.drop_counts())
        ego_ok = core.ego(self._now_ns()) is not None
        # most datagrams of the last period undecodable: the OBU framing (header_length) or profile is wrong
        bad = values["dropped.malformed"] + values["dropped.header"] + values["dropped.unsupported"]
        recent_received, recent_bad = core.received - self._last_received, bad - self._last_bad
        self._last_received, self._last_bad = core.received, bad
        # dropped before decoding by the rate limits: a flood (or limits too tight for this OBU)
        flood = sum(values[k] for k in FLOOD_KEYS)
        recent_flood, self._last_flood = flood - self._last_flood, flood
        now_ns = self._now_ns()
        if recent_received:
            self._last_datagram_ns = now_ns
        silent_s = None if self._last_datagram_ns is None else (now_ns - self._last_datagram_ns) / 1e9
        if silent_s is not None:
            values["silent_s"] = round(silent_s, 1)
        if recent_received >= 10 and recent_bad > recent_received // 2:
            level, text = WARN, (f"{recent_bad} of {recent_received} datagrams undecodable: check 'header_length' "
                                 f"and 'profile'")
        elif recent_flood:
            level, text = WARN, (f"V2X flood: {recent_flood} of {recent_received} datagrams over the rate limits, "
                                 f"not decoded (dropped.source_rate_limited / over_budget / decode_budget)")
        elif self._internal_errors:
            level, text = WARN, "internal errors while handling datagrams (see log)"
        elif silent_s is not None and silent_s >= self.params.silence_warn_s:
            level, text = WARN, (f"no datagrams for {silent_s:.0f} s: road-side unit or OBU silent (no V2X signal "
                                 f"states, hints or objects)")
        elif not ego_ok:
            level, text = WARN, "no fresh odometry: BSM/RSM/RSI dropped (no_ego_pose)"
        elif self._ignored_test_keys:
            level, text = WARN, (f"trust store has test-only keys {self._ignored_test_keys}, ignored on system "
                                 f"time: set 'trust_store' to the site's file")
        else:
            level, text = OK, "receiving"
        return [status("udp", level, text, values)]


def main(args: list[str] | None = None) -> int:
    return run_node(V2xClientNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
