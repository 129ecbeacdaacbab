"""BagWriter (no ROS graph): what it writes reads back with rosbags alone, decoded with the
definitions embedded in the bag only (what ``ros2 bag``, Foxglove or another machine without
lsv_msgs would have)."""

from pathlib import Path

import pytest
from builtin_interfaces.msg import Time
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from std_msgs.msg import String

from lsv_bringup.recorder import BagWriter, RecorderError
from lsv_msgs.msg import TrackedObject, TrackedObjectArray, VehicleStatus


def read_back(bag: Path) -> dict[str, list]:
    """{topic: [(timestamp_ns, decoded message)]} using only the bag's embedded definitions."""
    store = get_typestore(Stores.EMPTY)
    out: dict[str, list] = {}
    with Reader(bag) as reader:
        for conn in reader.connections:
            assert conn.msgdef.data, f"no definition embedded for {conn.msgtype}"
            store.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
        for conn, ts, raw in reader.messages():
            out.setdefault(conn.topic, []).append((ts, store.deserialize_cdr(raw, conn.msgtype)))
    return out


def status(i: int) -> VehicleStatus:
    msg = VehicleStatus(speed_mps=0.5 * i, mode=VehicleStatus.MODE_AUTO, fault_bits=i, stale=i % 2 == 1)
    msg.header.stamp = Time(sec=100 + i, nanosec=7)
    msg.header.frame_id = "base_link"
    msg.wheel_speeds_mps = [1.0, 2.0, 3.0, float(i)]
    return msg


def write_some(writer: BagWriter, n: int = 5) -> None:
    for i in range(n):
        writer.write("/vehicle/status", "lsv_msgs/msg/VehicleStatus", serialize_message(status(i)), 1_000 + i)
        writer.write("/chatter", "std_msgs/msg/String", serialize_message(String(data=f"hello {i}")), 1_000 + i)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_std_and_lsv_messages_read_back_by_type_name(tmp_path, storage):
    bag = tmp_path / "bag"
    with BagWriter(bag, storage=storage) as writer:
        write_some(writer)
        arr = TrackedObjectArray(objects=[TrackedObject(), TrackedObject()])  # nested lsv type
        arr.objects[1].object_id = 42
        writer.write("/objects", "lsv_msgs/msg/TrackedObjectArray", serialize_message(arr), 2_000)
    assert writer.counts == {"/vehicle/status": 5, "/chatter": 5, "/objects": 1}
    suffix = ".mcap" if storage == "mcap" else ".db3"
    assert [p.name for p in writer.files] == [f"bag_0{suffix}"]
    msgs = read_back(bag)
    assert [ts for ts, _ in msgs["/vehicle/status"]] == [1_000 + i for i in range(5)]
    got = msgs["/vehicle/status"][3][1]
    assert got.speed_mps == pytest.approx(1.5) and got.fault_bits == 3 and got.stale
    assert got.mode == 1 and got.header.stamp.sec == 103 and got.header.frame_id == "base_link"
    assert list(got.wheel_speeds_mps) == [1.0, 2.0, 3.0, 3.0]
    assert [m.data for _, m in msgs["/chatter"]] == [f"hello {i}" for i in range(5)]
    assert [o.object_id for o in msgs["/objects"][0][1].objects] == [0, 42]


def test_split_by_size_gives_several_files_that_read_back_complete(tmp_path):
    bag = tmp_path / "split"
    with BagWriter(bag, split_size_bytes=300) as writer:
        write_some(writer, 20)
    assert len(writer.files) >= 3
    assert all(p.is_file() and p.parent == bag for p in writer.files)
    assert not [p for p in bag.iterdir() if p.name.startswith(".")], "staging folders left behind"
    msgs = read_back(bag)
    assert [m.data for _, m in msgs["/chatter"]] == [f"hello {i}" for i in range(20)]
    assert [m.fault_bits for _, m in msgs["/vehicle/status"]] == list(range(20))
    with Reader(bag) as reader:
        assert reader.message_count == 40
        assert {c.topic: c.msgcount for c in reader.connections} == {"/vehicle/status": 20, "/chatter": 20}
        assert reader.start_time == 1_000 and reader.end_time == 1_020


def test_empty_bag_is_still_a_valid_bag(tmp_path):
    BagWriter(tmp_path / "empty").close()
    with Reader(tmp_path / "empty") as reader:
        assert reader.message_count == 0


def test_unknown_type_and_existing_folder_are_errors(tmp_path):
    with BagWriter(tmp_path / "bag") as writer:
        with pytest.raises(RecorderError, match="no_such_msgs/msg/Thing"):
            writer.write("/x", "no_such_msgs/msg/Thing", b"\0\1\0\0", 1)
        writer.write("/x", "std_msgs/msg/String", serialize_message(String(data="ok")), 2)
        with pytest.raises(RecorderError, match="recorded as std_msgs/msg/String"):
            writer.write("/x", "lsv_msgs/msg/VehicleStatus", serialize_message(status(0)), 3)
    with pytest.raises(RecorderError, match="exists already"):
        BagWriter(tmp_path / "bag")
    with pytest.raises(RecorderError, match="unknown storage"):
        BagWriter(tmp_path / "other", storage="rosbag1")
