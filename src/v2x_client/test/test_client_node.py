"""Node test over UDP on loopback: the node and a test node in one process and one executor."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.executors import SingleThreadedExecutor

from lsv_common.testing import MessageRecorder, spin_until
from lsv_msgs.msg import DetectedObjectArray, TrafficSignalArray, V2xHint, V2xHintArray
from lsv_v2x_client import samples, timeref
from lsv_v2x_client.client_node import V2xClientNode
from lsv_v2x_client.codec import Codec
from lsv_v2x_client.projection import LocalProjection

PARAMS = os.path.join(os.path.dirname(__file__), "..", "config", "v2x_client.param.yaml")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shut_down(ctx, clients: list, others: list) -> None:
    """Close and destroy the client nodes (their sockets too) and the test nodes, then the context."""
    for n in clients:
        if n is not None:
            n.close()
            n.destroy_node()
    for n in others:
        if n is not None:
            n.destroy_node()
    rclpy.shutdown(context=ctx)


@contextlib.contextmanager
def one_client(test_name: str, *params: str):
    """A client node on a free UDP port (``params``: extra ``name:=value``) and a test node in one
    executor of a private context: yields (client, test node, executor, port); shuts all down."""
    port = free_udp_port()
    ctx = rclpy.Context()
    args = ["--ros-args", "--params-file", PARAMS, "-p", f"port:={port}"]
    for p in params:
        args += ["-p", p]
    rclpy.init(context=ctx, args=args)
    node = test = None
    try:
        node = V2xClientNode(context=ctx)
        test = rclpy.create_node(test_name, context=ctx)
        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        executor.add_node(test)
        yield node, test, executor, port
    finally:
        shut_down(ctx, [node], [test])


def time_fields(now_ns: int) -> tuple[int, int]:
    """(MinuteOfTheYear, ms in the minute) of a UTC time."""
    import datetime as dt

    year = dt.datetime.fromtimestamp(now_ns / 1e9, tz=dt.UTC).year
    since = now_ns - timeref.year_start_ns(year)
    return since // timeref.MINUTE_NS, (since % timeref.MINUTE_NS) // timeref.MS


def test_node_over_udp() -> None:
    with one_client("v2x_client_test") as (node, test, executor, port):
        hints = MessageRecorder(test, V2xHintArray, "/v2x_client/output/hints")
        signals = MessageRecorder(test, TrafficSignalArray, "/v2x_client/output/traffic_signals")
        objects = MessageRecorder(test, DetectedObjectArray, "/v2x_client/output/objects")
        diags = MessageRecorder(test, DiagnosticArray, "/diagnostics")
        odom_pub = test.create_publisher(Odometry, "/v2x_client/input/odometry", 10)
        proj = LocalProjection(samples.CENTRE.lat_deg, samples.CENTRE.lon_deg)
        ego_p = samples.offset_point(samples.CENTRE, 1.75, -30.0)
        ego_x, ego_y = proj.forward_point(ego_p.lat_deg, ego_p.lon_deg)
        codec = Codec()
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.sendto(b"\xff\x00garbage", ("127.0.0.1", port))  # malformed: counted, never raised
        counter = [0]

        def feed() -> None:
            now = node.get_clock().now().nanoseconds
            odom = Odometry()
            odom.header.stamp.sec, odom.header.stamp.nanosec = divmod(now, 1_000_000_000)
            odom.header.frame_id = "map"
            odom.pose.pose.position.x, odom.pose.pose.position.y = ego_x, ego_y
            odom.pose.pose.orientation.z, odom.pose.pose.orientation.w = math.sin(math.pi / 4), math.cos(math.pi / 4)
            odom.twist.twist.linear.x = 4.0
            odom_pub.publish(odom)
            moy, ms = time_fields(now)
            n = counter[0] = (counter[0] + 1) % 128
            for msg in (samples.map_message(), samples.spat_message(n, moy, ms, red_phases=(1, 3)),
                        samples.bsm_message(n, ms, samples.offset_point(samples.CENTRE, 60.0, 0.5), heading_deg=270.0,
                                            emergency=True),
                        samples.rsm_message(n, ms), samples.rsi_message(n, moy)):
                tx.sendto(codec.encode(msg), ("127.0.0.1", port))

        wanted = {V2xHint.TYPE_RED_LIGHT_WARNING, V2xHint.TYPE_EMERGENCY_VEHICLE, V2xHint.TYPE_PEDESTRIAN_CROSSING,
                  V2xHint.TYPE_ROAD_HAZARD, V2xHint.TYPE_SPEED_LIMIT}

        def done() -> bool:
            last = hints.last
            return last is not None and wanted <= {h.type for h in last.hints} and bool(diags.messages)

        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and not done():
            feed()
            spin_until(executor, lambda: False, 0.2)
        tx.close()
        assert done(), f"hint types seen: {sorted({h.type for m in hints.messages for h in m.hints})}"
        last = hints.last
        assert last.header.frame_id == "map"
        red = next(h for h in last.hints if h.type == V2xHint.TYPE_RED_LIGHT_WARNING)
        assert red.lane_id == 2 and red.intersection_id == 101 and 0 < red.distance < 20
        assert any(len(m.signals) == 8 for m in signals.messages)
        assert any({o.classification for o in m.objects} >= {6, 8} for m in objects.messages)
        values = {kv.key: kv.value for s in diags.last.status for kv in s.values}
        assert int(values["dropped.malformed"]) >= 1
        assert int(values["received"]) >= 6


def test_node_warns_when_datagrams_are_undecodable() -> None:
    """A wrong OBU framing (here: 4 header bytes the node does not expect) shows as a WARN naming the fix."""
    with one_client("v2x_client_test_framing") as (_node, test, executor, port):
        diags = MessageRecorder(test, DiagnosticArray, "/diagnostics")
        payload = b"OBU1" + Codec().encode(samples.spat_message())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            def warned() -> bool:
                for _ in range(5):
                    tx.sendto(payload, ("127.0.0.1", port))
                return any(s.level == b"\x01" and "header_length" in s.message
                           for m in diags.messages for s in m.status)

            assert spin_until(executor, warned, 10.0)


def test_node_warns_when_the_road_side_unit_falls_silent_and_recovers() -> None:
    """SPaT datagrams, then none for longer than silence_warn_s: WARN 'no datagrams for N s'; they come
    back: the warning goes."""
    with one_client("v2x_client_test_silence", "silence_warn_s:=1.0") as (node, test, executor, port):
        diags = MessageRecorder(test, DiagnosticArray, "/diagnostics")
        payload = Codec().encode(samples.spat_message())

        def udp() -> list:
            return [s for m in diags.messages for s in m.status if s.name.startswith("v2x_client: udp")]

        def silent(since: int) -> bool:
            return any(s.level == b"\x01" and "no datagrams for" in s.message for s in udp()[since:])

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            # 1. the RSU talks: no silence warning
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                tx.sendto(payload, ("127.0.0.1", port))
                spin_until(executor, lambda: False, 0.1)
            assert udp() and not silent(0) and node.core.received >= 20
            # 2. it falls silent: WARN within the threshold + a report period or two
            n0 = len(udp())
            assert spin_until(executor, lambda: silent(n0), 5.0), [s.message for s in udp()]
            warn = next(s for s in udp()[n0:] if "no datagrams for" in s.message)
            assert float(next(kv.value for kv in warn.values if kv.key == "silent_s")) >= 1.0
            # 3. it talks again: the warning goes
            n1 = len(udp())

            def recovered() -> bool:
                tx.sendto(payload, ("127.0.0.1", port))
                return any("no datagrams for" not in s.message for s in udp()[n1 + 1:])

            assert spin_until(executor, recovered, 5.0)


def test_datagrams_are_republished_and_a_second_client_replays_them() -> None:
    """What the OBU sent is on ~/output/datagrams byte for byte; a client with ``datagram_source: topic``
    fed from that topic (a recording replayed) decodes the same signals without a socket."""
    from rclpy.parameter import Parameter

    from lsv_msgs.msg import V2xDatagram

    port = free_udp_port()
    ctx = rclpy.Context()
    rclpy.init(context=ctx, args=["--ros-args", "--params-file", PARAMS, "-p", f"port:={port}"])
    live = replay = test = None
    try:
        live = V2xClientNode(context=ctx)
        replay = V2xClientNode(context=ctx, cli_args=[
            "--ros-args", "-r", "__node:=v2x_replay", "-r", "~/input/datagrams:=/v2x_client/output/datagrams"],
            parameter_overrides=[Parameter("datagram_source", Parameter.Type.STRING, "topic")])
        test = rclpy.create_node("v2x_replay_test", context=ctx)
        executor = SingleThreadedExecutor(context=ctx)
        for n in (live, replay, test):
            executor.add_node(n)
        assert replay._sock is None  # no UDP socket in topic mode
        datagrams = MessageRecorder(test, V2xDatagram, "/v2x_client/output/datagrams", 100)
        live_signals = MessageRecorder(test, TrafficSignalArray, "/v2x_client/output/traffic_signals")
        replayed = MessageRecorder(test, TrafficSignalArray, "/v2x_replay/output/traffic_signals")
        assert spin_until(executor, lambda: test.count_subscribers("/v2x_client/output/datagrams") >= 2, 5.0)
        codec = Codec()
        sent = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            last_send = [0.0]

            def fed() -> bool:
                if time.monotonic() - last_send[0] >= 0.1:  # the RSU's 10 Hz
                    last_send[0] = time.monotonic()
                    moy, ms = time_fields(live.get_clock().now().nanoseconds)
                    for msg in (samples.map_message(), samples.spat_message(len(sent) % 128, moy, ms,
                                                                            red_phases=(1, 3))):
                        sent.append(codec.encode(msg))
                        tx.sendto(sent[-1], ("127.0.0.1", port))
                return any(len(m.signals) == 8 for m in replayed.messages)

            assert spin_until(executor, fed, 10.0, step_s=0.1), (datagrams.count, replayed.count)
        first = datagrams.messages[0]
        assert bytes(first.data) in sent and first.source.startswith("127.0.0.1:")
        assert first.header.stamp.sec > 0
        assert replay._pub_datagrams is None  # a replaying client never echoes the recording

        def states(msgs):
            return sorted((s.intersection_id, s.phase_id, s.state) for s in msgs[-1].signals)
        assert any(len(m.signals) == 8 for m in live_signals.messages)
        assert states([m for m in replayed.messages if len(m.signals) == 8]) == \
            states([m for m in live_signals.messages if len(m.signals) == 8])
    finally:
        shut_down(ctx, [live, replay], [test])


def test_node_under_a_v2x_flood_warns_and_neither_decodes_nor_records_the_excess() -> None:
    """2 000 datagrams/s from one sender: at most its rate limit is decoded and republished on
    ~/output/datagrams, the rest is counted as source_rate_limited, and /diagnostics says V2X flood."""
    from lsv_msgs.msg import V2xDatagram

    with one_client("v2x_client_test_flood") as (node, test, executor, port):
        diags = MessageRecorder(test, DiagnosticArray, "/diagnostics")
        recorded = MessageRecorder(test, V2xDatagram, "/v2x_client/output/datagrams", 1000)
        payload = Codec().encode(samples.bsm_message())
        start = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            def flooded() -> bool:
                for _ in range(100):  # every 50 ms: 2 000/s
                    tx.sendto(payload, ("127.0.0.1", port))
                return any(s.level == b"\x01" and "V2X flood" in s.message for m in diags.messages for s in m.status)

            assert spin_until(executor, flooded, 10.0, step_s=0.05)
        spin_until(executor, lambda: False, 0.3)
        elapsed = time.monotonic() - start
        core, p = node.core, node.params
        assert core.drop_counts()["dropped.source_rate_limited"] > core.received // 2
        assert core.decoded <= p.source_burst + p.source_rate_hz * elapsed
        assert recorded.count <= core.decoded  # only what was admitted is recorded


def test_ego_odometry_with_a_bad_quaternion_is_dropped_not_read_as_a_heading() -> None:
    """Hazard (safety review, quaternions): the client read the ego heading with the unchecked formula, so
    a zero quaternion became heading 0 and position-dependent V2X (BSM, RSM, RSI) was judged against it."""
    with one_client("v2x_bad_odometry_test") as (node, test, executor, _port):
        pub = test.create_publisher(Odometry, "/v2x_client/input/odometry", 10)
        odom = Odometry()
        odom.header.frame_id = "map"
        odom.pose.pose.orientation.w = 0.0  # all zero
        for _ in range(20):
            pub.publish(odom)
            executor.spin_once(timeout_sec=0.05)
        assert node._bad_odometry > 0
        assert node.core.ego(node.get_clock().now().nanoseconds) is None
        odom.pose.pose.orientation.w = 1.0
        assert spin_until(executor, lambda: (pub.publish(odom), node.core.ego(
            node.get_clock().now().nanoseconds))[1] is not None, 5.0)
