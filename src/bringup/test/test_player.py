"""``lsv play`` / ``BagPlayer``: bags of ours (MCAP, sqlite3), bags shaped like a real ``ros2 bag
record`` writes them (Humble sqlite3 without definitions, QoS as a YAML string; MCAP with
``ros2msg`` schemas and offered QoS), damaged bags, and in-process playback to a subscriber."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rclpy.serialization import serialize_message
from std_msgs.msg import String

from lsv_bringup.player import BagPlayer, BagSource, PlayerError, parse_remaps
from lsv_bringup.recorder import BagWriter, TypeResolver
from lsv_msgs.msg import VehicleStatus

NS = 1_000_000_000
T0 = 1_700_000_000 * NS

# offered_qos_profiles as Humble's ros2 bag record writes it into metadata.yaml and the db3
HUMBLE_QOS = ("- history: 3\n  depth: 0\n  reliability: 1\n  durability: {durability}\n  deadline:\n"
              "    sec: 2147483647\n    nsec: 4294967295\n  lifespan:\n    sec: 2147483647\n"
              "    nsec: 4294967295\n  liveliness: 1\n  liveliness_lease_duration:\n    sec: 2147483647\n"
              "    nsec: 4294967295\n  avoid_ros_namespace_conventions: false")


def ours(path: Path, storage: str = "mcap", n: int = 10, period_ns: int = NS // 10) -> Path:
    """A bag from our BagWriter: /chatter (String) and /vehicle/status (lsv_msgs) every period."""
    with BagWriter(path, storage=storage) as writer:
        for i in range(n):
            writer.write("/chatter", "std_msgs/msg/String", serialize_message(String(data=f"m{i}")),
                         T0 + i * period_ns)
            writer.write("/vehicle/status", "lsv_msgs/msg/VehicleStatus",
                         serialize_message(VehicleStatus(speed_mps=float(i))), T0 + i * period_ns + 1000)
    return path


def humble_sqlite3(path: Path) -> Path:
    """A bag laid out as Humble's `ros2 bag record` writes it: metadata version 5, db3 schema 3
    (no message_definitions table), offered QoS as a YAML string; /goal latched."""
    path.mkdir()
    db = path / "rosbag2_2024_05_01-10_00_00_0.db3"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE schema(schema_version INTEGER PRIMARY KEY,ros_distro TEXT NOT NULL);
        CREATE TABLE metadata(id INTEGER PRIMARY KEY,metadata_version INTEGER NOT NULL,metadata TEXT NOT NULL);
        CREATE TABLE topics(id INTEGER PRIMARY KEY,name TEXT NOT NULL,type TEXT NOT NULL,
                            serialization_format TEXT NOT NULL,offered_qos_profiles TEXT NOT NULL);
        CREATE TABLE messages(id INTEGER PRIMARY KEY,topic_id INTEGER NOT NULL,timestamp INTEGER NOT NULL,
                              data BLOB NOT NULL);
        CREATE INDEX timestamp_idx ON messages (timestamp ASC);
        INSERT INTO schema VALUES (3, 'humble');""")
    con.execute("INSERT INTO topics VALUES (1, '/chatter', 'std_msgs/msg/String', 'cdr', ?)",
                (HUMBLE_QOS.format(durability=2),))
    con.execute("INSERT INTO topics VALUES (2, '/goal', 'std_msgs/msg/String', 'cdr', ?)",
                (HUMBLE_QOS.format(durability=1),))
    for i in range(5):
        con.execute("INSERT INTO messages(topic_id, timestamp, data) VALUES (1, ?, ?)",
                    (T0 + i * NS // 20, serialize_message(String(data=f"h{i}"))))
    con.execute("INSERT INTO messages(topic_id, timestamp, data) VALUES (2, ?, ?)",
                (T0, serialize_message(String(data="goal"))))
    con.commit()
    con.close()

    def qos_yaml(durability: int) -> str:
        return '"' + HUMBLE_QOS.format(durability=durability).replace("\n", "\\n") + '"'

    (path / "metadata.yaml").write_text(f"""rosbag2_bagfile_information:
  version: 5
  storage_identifier: sqlite3
  duration:
    nanoseconds: {4 * NS // 20}
  starting_time:
    nanoseconds_since_epoch: {T0}
  message_count: 6
  topics_with_message_count:
    - topic_metadata:
        name: /chatter
        type: std_msgs/msg/String
        serialization_format: cdr
        offered_qos_profiles: {qos_yaml(2)}
      message_count: 5
    - topic_metadata:
        name: /goal
        type: std_msgs/msg/String
        serialization_format: cdr
        offered_qos_profiles: {qos_yaml(1)}
      message_count: 1
  compression_format: ""
  compression_mode: ""
  relative_file_paths:
    - {db.name}
  files:
    - path: {db.name}
      starting_time:
        nanoseconds_since_epoch: {T0}
      duration:
        nanoseconds: {4 * NS // 20}
      message_count: 6
  custom_data: ~
""")
    return path


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_source_reads_our_bags_with_their_embedded_definitions(tmp_path, storage):
    with BagSource(ours(tmp_path / "bag", storage)) as src:
        assert set(src.topics) == {"/chatter", "/vehicle/status"}
        assert src.topics["/vehicle/status"].type_name == "lsv_msgs/msg/VehicleStatus"
        assert src.topics["/vehicle/status"].count == 10 and src.topics["/vehicle/status"].has_definition
        assert src.start_ns == T0 and src.duration_s == pytest.approx(0.9, abs=1e-5)
        msgs = src.read_all()
    assert [m.data for _, m in msgs["/chatter"]] == [f"m{i}" for i in range(10)]
    assert [m.speed_mps for _, m in msgs["/vehicle/status"]] == [float(i) for i in range(10)]


def test_source_reads_a_humble_ros2_bag_without_definitions(tmp_path):
    with BagSource(humble_sqlite3(tmp_path / "humble")) as src:
        assert not src.topics["/chatter"].has_definition  # Humble stores none: installed types decode
        assert src.topics["/goal"].transient_local and not src.topics["/chatter"].transient_local
        assert src.topics["/chatter"].reliable
        msgs = src.read_all()
    assert [m.data for _, m in msgs["/chatter"]] == [f"h{i}" for i in range(5)]
    assert msgs["/goal"][0][1].data == "goal"


def test_damaged_missing_and_unknown_bags_are_clear_errors(tmp_path):
    with pytest.raises(PlayerError, match="bag not found"):
        BagSource(tmp_path / "nope")
    bag = ours(tmp_path / "bag")
    (mcap,) = bag.glob("*.mcap")
    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    data = mcap.read_bytes()
    (interrupted / "x_0.mcap").write_bytes(data[: len(data) // 2])  # recording killed mid-file
    with pytest.raises(PlayerError, match=r"no metadata\.yaml.*interrupted recording"):
        BagSource(interrupted)
    with pytest.raises(PlayerError, match="truncated"):
        BagSource(interrupted / "x_0.mcap")
    mcap.write_bytes(data[: len(data) - 100])  # listed in metadata.yaml but cut short
    with pytest.raises(PlayerError, match="truncated"):
        BagSource(bag)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(PlayerError, match="unknown bag format"):
        BagSource(tmp_path / "notes.txt")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "metadata.yaml").write_text("rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: rosbag1\n"
                                       "  relative_file_paths: []\n  topics_with_message_count: []\n"
                                       "  duration: {nanoseconds: 0}\n  starting_time: {nanoseconds_since_epoch: 0}\n"
                                       "  message_count: 0\n")
    with pytest.raises(PlayerError, match="rosbag1"):
        BagSource(odd)


def _undecodable_bag(path: Path) -> Path:
    """/chatter fine; /foo of a type with no Python class; /bad a String whose bytes are not one."""
    resolver = TypeResolver()
    from rosbags.typesys import get_types_from_msg

    resolver.typestore.register(get_types_from_msg("int32 x", "foo_msgs/msg/Foo"))
    with BagWriter(path, resolver=resolver) as writer:
        for i in range(3):
            writer.write("/chatter", "std_msgs/msg/String", serialize_message(String(data=f"c{i}")), T0 + i * 1000)
            writer.write("/foo", "foo_msgs/msg/Foo", b"\x00\x01\x00\x00" + bytes([i, 0, 0, 0]), T0 + i * 1000)
            writer.write("/bad", "std_msgs/msg/String", b"\x00\x01\x00\x00\xff\xff\xff\x7f", T0 + i * 1000)
    return path


def _play_to(player: BagPlayer, topic: str, cls: type, **play_kwargs) -> tuple[list, object]:
    """Play in a thread; collect ``topic`` in this process's own rclpy node."""
    import rclpy
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    from lsv_common.testing import spin_until

    rclpy.init()
    node = rclpy.create_node("player_test")
    got = []
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
    node.create_subscription(cls, topic, got.append, qos)
    result = {}
    try:
        assert player.wait_for_subscribers(10.0, topics=[t for t in player.topics if t == topic]) == []
        thread = threading.Thread(target=lambda: result.setdefault("stats", player.play(**play_kwargs)))
        thread.start()
        spin_until(node, lambda: not thread.is_alive(), 30.0)
        spin_until(node, lambda: False, 0.3)  # the last messages in flight
        thread.join(5.0)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    return got, result.get("stats")


def test_player_skips_what_it_cannot_decode_and_plays_the_rest(tmp_path):
    with BagPlayer(_undecodable_bag(tmp_path / "bag")) as player:
        assert player.topics == ["/chatter"]
        assert "no message class" in player.skipped["/foo"]
        assert "cannot decode std_msgs/msg/String" in player.skipped["/bad"]
        got, stats = _play_to(player, "/chatter", String)
    assert [m.data for m in got] == ["c0", "c1", "c2"]
    assert stats.published == {"/chatter": 3} and not stats.stopped


def test_player_publishes_in_order_with_clock_offset_filter_and_remap(tmp_path):
    from rosgraph_msgs.msg import Clock

    bag = ours(tmp_path / "bag", n=20, period_ns=NS // 50)  # 0.38 s of bag
    with BagPlayer(bag, topics=["/chatter"], rate=2.0, clock_hz=50.0, start_offset_s=0.1,
                   remaps={"/chatter": "/talk"}) as player:
        assert player.topics == ["/chatter"]
        import rclpy

        from lsv_common.testing import spin_until

        rclpy.init()
        node = rclpy.create_node("player_test2")
        talk, clock = [], []
        node.create_subscription(String, "/talk", talk.append, 100)
        node.create_subscription(Clock, "/clock", clock.append, 100)
        progress = []
        try:
            assert player.wait_for_subscribers(10.0) == []
            done = threading.Event()
            threading.Thread(target=lambda: (player.play(lambda e, t: progress.append((e, t))), done.set())).start()
            spin_until(node, done.is_set, 30.0)
            spin_until(node, lambda: False, 0.3)
        finally:
            node.destroy_node()
            rclpy.shutdown()
    assert [m.data for m in talk] == [f"m{i}" for i in range(5, 20)]  # from 0.1 s on, nothing lost
    stamps = [m.clock.sec * NS + m.clock.nanosec for m in clock]
    step = round(2.0 * NS / 50.0)  # bag time between ticks at rate 2
    assert stamps[0] == T0 + NS // 10 and all(b - a == step for a, b in itertools.pairwise(stamps))
    assert stamps[-1] >= T0 + 19 * NS // 50 - step  # /clock runs to the bag's last stamp
    assert progress[-1] == (pytest.approx(0.28, abs=1e-3), pytest.approx(0.28, abs=1e-3))


def test_player_keeps_the_recorded_qos_latched_topic_reaches_a_late_subscriber(tmp_path):
    with BagPlayer(humble_sqlite3(tmp_path / "humble"), topics=["/goal"]) as player:
        player.play()
        import rclpy
        from rclpy.qos import DurabilityPolicy, QoSProfile

        from lsv_common.testing import spin_until

        rclpy.init()
        node = rclpy.create_node("late")
        got = []
        node.create_subscription(String, "/goal", got.append,
                                 QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        try:
            assert spin_until(node, lambda: got, 10.0)
        finally:
            node.destroy_node()
            rclpy.shutdown()
    assert got[0].data == "goal"


def test_player_argument_errors(tmp_path):
    bag = ours(tmp_path / "bag")
    with pytest.raises(PlayerError, match="past the end"):
        BagPlayer(bag, start_offset_s=5.0)
    with pytest.raises(PlayerError, match="rate must be positive"):
        BagPlayer(bag, rate=0.0)
    with pytest.raises(PlayerError, match="nothing to play"):
        BagPlayer(bag, topics=["/elsewhere"])
    with pytest.raises(PlayerError, match="bad remap"):
        parse_remaps(["/a=/b"])


def test_lsv_play_command_plays_and_reports(tmp_path):
    bag = ours(tmp_path / "bag", n=5)
    run = subprocess.run([sys.executable, "-m", "lsv_bringup.cli", "play", str(bag), "--rate", "5",
                          "--wait-for-subscribers", "0", "--clock"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "/vehicle/status (lsv_msgs/msg/VehicleStatus)" in run.stdout
    assert "done: 10 messages on 2 topic(s)" in run.stdout
    missing = subprocess.run([sys.executable, "-m", "lsv_bringup.cli", "play", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "lsv play: error: bag not found" in missing.stderr


def test_offset_republishes_latched_topics_and_duration_ends_early(tmp_path):
    with BagPlayer(humble_sqlite3(tmp_path / "humble"), start_offset_s=0.1, duration_s=0.06) as player:
        import rclpy
        from rclpy.qos import DurabilityPolicy, QoSProfile

        from lsv_common.testing import spin_until

        rclpy.init()
        node = rclpy.create_node("offset_test")
        goal, chatter = [], []
        node.create_subscription(String, "/goal", goal.append,
                                 QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        node.create_subscription(String, "/chatter", chatter.append, 10)
        try:
            assert player.wait_for_subscribers(10.0) == []
            stats = player.play()
            assert spin_until(node, lambda: goal and len(chatter) >= 2, 10.0)
            spin_until(node, lambda: False, 0.2)
        finally:
            node.destroy_node()
            rclpy.shutdown()
    assert [m.data for m in goal] == ["goal"]  # recorded at 0 s, before the offset: re-offered
    assert [m.data for m in chatter] == ["h2", "h3"]  # 0.10 and 0.15 s; 0.20 s is past the duration
    assert stats.published == {"/chatter": 2, "/goal": 1}
