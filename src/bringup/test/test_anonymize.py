"""``lsv anonymize`` on a bag with known boxes: people blurred whole, the plate part of vehicles
blurred, every other pixel, topic, time stamp and QoS unchanged, GNSS dropped / coarsened / kept."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image, NavSatFix
from std_msgs.msg import String

from lsv_bringup.anonymize import (
    PLATE_FRACTION,
    AnonymizeError,
    anonymize_bag,
    blur_regions,
    coarsen_fix,
    parse_gnss,
    regions_for,
)
from lsv_bringup.player import BagSource
from lsv_bringup.recorder import BagWriter
from lsv_msgs.msg import DetectedObject, DetectedObjectArray

NS = 1_000_000_000
T0 = 1_780_300_800 * NS
W, H = 160, 120
PED = (20, 20, 50, 90)  # x_min, y_min, x_max, y_max
CAR = (80, 40, 150, 100)
CONE = (2, 100, 30, 118)  # a static obstacle: not personal data
LAT, LON = 31.2304, 121.4737


def texture(seed: int) -> np.ndarray:
    """(H, W, 3) uint8 noise: every pixel differs from its neighbours, so any blur shows."""
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _box(cls: int, box: tuple) -> DetectedObject:
    o = DetectedObject(classification=cls, score=0.9, source=DetectedObject.SOURCE_CAMERA, has_box_2d=True)
    o.x_min, o.y_min, o.x_max, o.y_max = map(float, box)
    return o


def make_bag(path: Path) -> Path:
    """3 frames; boxes for frames 0 and 1 only; 3 GNSS fixes 30 m apart; a String topic."""
    with BagWriter(path) as w:
        for i in range(3):
            stamp = Time(sec=T0 // NS + i, nanosec=0)
            img = Image(height=H, width=W, encoding="rgb8", step=W * 3, data=texture(i).tobytes())
            img.header.stamp = stamp
            w.write("/sensing/camera/image_raw", "sensor_msgs/msg/Image", serialize_message(img), T0 + i * NS)
            if i < 2:
                boxes = DetectedObjectArray(objects=[_box(DetectedObject.CLASS_PEDESTRIAN, PED),
                                                     _box(DetectedObject.CLASS_CAR, CAR),
                                                     _box(DetectedObject.CLASS_STATIC_OBSTACLE, CONE)])
                boxes.header.stamp = Time(sec=stamp.sec, nanosec=10_000_000)  # 10 ms later: matched
                w.write("/perception/camera/objects", "lsv_msgs/msg/DetectedObjectArray", serialize_message(boxes),
                        T0 + i * NS + 10_000_000)
            fix = NavSatFix(latitude=LAT + i * 30.0 / 111_320.0, longitude=LON)
            fix.position_covariance[0] = fix.position_covariance[4] = 0.04
            w.write("/sensing/gnss/fix", "sensor_msgs/msg/NavSatFix", serialize_message(fix), T0 + i * NS + 1)
            w.write("/chatter", "std_msgs/msg/String", serialize_message(String(data=f"c{i}")), T0 + i * NS + 2)
    return path


def frames(bag: Path) -> dict[str, list]:
    with BagSource(bag) as src:
        return src.read_all()


def pixels(msg) -> np.ndarray:
    return np.asarray(msg.data, np.uint8).reshape(H, W, 3)


def test_people_and_plates_blurred_the_rest_bit_exact(tmp_path):
    out = tmp_path / "anon"
    stats = anonymize_bag(make_bag(tmp_path / "bag"), out, parse_gnss("keep"), boxes_topic="/perception/camera/objects")
    assert stats.images == 3 and stats.whole_images == 1
    got = frames(out)
    for i in range(2):
        before, after = texture(i), pixels(got["/sensing/camera/image_raw"][i][1])
        changed = np.any(before != after, axis=2)
        x0, y0, x1, y1 = PED
        assert changed[y0:y1, x0:x1].mean() > 0.95  # the whole person
        # pixelated: neighbouring pixels inside a block are equal (no detail left)
        assert (np.abs(np.diff(after[y0:y1, x0:x1].astype(int), axis=1)) == 0).mean() > 0.8
        x0, y0, x1, y1 = CAR
        plate_top = y1 - PLATE_FRACTION * (y1 - y0)
        assert changed[math.ceil(plate_top) + 1:y1, x0:x1].mean() > 0.95  # the lower part: plates
        assert not changed[y0:math.floor(plate_top) - 5, x0:x1].any()  # the upper part of the car is kept
        mask = np.zeros((H, W), bool)  # every pixel outside the (margin-grown) regions is untouched
        for bx0, by0, bx1, by1 in regions_for(np.array([PED, CAR, CONE], float), np.array([6, 1, 9]), W, H):
            mask[by0:by1, bx0:bx1] = True
        assert not changed[~mask].any()
        x0, y0, x1, y1 = CONE
        assert not changed[y0:y1, x0:x1].any()  # a static obstacle is no personal data
    whole = np.any(texture(2) != pixels(got["/sensing/camera/image_raw"][2][1]), axis=2)
    assert whole.mean() > 0.95  # no boxes for frame 2: nothing let through
    src_msgs = frames(tmp_path / "bag")
    assert [(ts, m.data) for ts, m in got["/chatter"]] == [(ts, m.data) for ts, m in src_msgs["/chatter"]]
    assert [ts for ts, _ in got["/sensing/camera/image_raw"]] == [ts for ts, _ in src_msgs["/sensing/camera/image_raw"]]
    assert [m.latitude for _, m in got["/sensing/gnss/fix"]] == [m.latitude for _, m in src_msgs["/sensing/gnss/fix"]]


def test_gnss_drop_and_coarsen(tmp_path):
    bag = make_bag(tmp_path / "bag")
    anonymize_bag(bag, tmp_path / "dropped", parse_gnss("drop"), boxes_topic="/perception/camera/objects")
    got = frames(tmp_path / "dropped")
    assert "/sensing/gnss/fix" not in got and len(got["/chatter"]) == 3
    stats = anonymize_bag(bag, tmp_path / "coarse", parse_gnss("coarsen:100"), boxes_topic="/perception/camera/objects")
    assert stats.gnss_coarsened == 3
    fixes = [m for _, m in frames(tmp_path / "coarse")["/sensing/gnss/fix"]]
    for i, m in enumerate(fixes):
        d_north = (m.latitude - (LAT + i * 30.0 / 111_320.0)) * 111_320.0
        d_east = (m.longitude - LON) * 111_320.0 * math.cos(math.radians(LAT))
        assert math.hypot(d_north, d_east) <= 100.0 / math.sqrt(2) + 1e-6  # within its 100 m cell
        assert m.position_covariance[0] >= 100.0 ** 2 / 12 and m.position_covariance_type == 1
    lat_cells = {round(m.latitude, 9) for m in fixes}
    assert len(lat_cells) <= 2  # 60 m of track falls into one or two 100 m cells: the track is gone


def test_pure_parts():
    assert coarsen_fix(LAT, LON, 1000.0) == coarsen_fix(LAT + 1e-4, LON + 1e-4, 1000.0)  # 11 m: same cell
    r = regions_for(np.array([[10, 10, 20, 30], [0, 0, 5, 5]], float), np.array([1, 7]), 100, 100, margin_px=0)
    assert r.tolist() == [[10, 22, 20, 30]]  # car: bottom 40 % of 20 px; an animal: nothing
    img = np.arange(100 * 100 * 3, dtype=np.uint8).reshape(100, 100, 3)
    before = img.copy()
    assert blur_regions(img, np.array([[0, 0, 40, 40]]), "gaussian") == 1600
    assert np.any(img[:40, :40] != before[:40, :40]) and np.array_equal(img[40:], before[40:])
    for bad in ("coarse", "coarsen:", "coarsen:-3", "coarsen:x"):
        with pytest.raises(AnonymizeError, match="bad --gnss"):
            parse_gnss(bad)


def test_errors_are_clear(tmp_path):
    bag = make_bag(tmp_path / "bag")
    with pytest.raises(AnonymizeError, match="not a lsv_msgs/msg/DetectedObjectArray"):
        anonymize_bag(bag, tmp_path / "o1", parse_gnss("drop"), boxes_topic="/chatter")
    with pytest.raises(AnonymizeError, match="model not found"):
        anonymize_bag(bag, tmp_path / "o2", parse_gnss("drop"), model=tmp_path / "missing.onnx")
    (tmp_path / "o3").mkdir()
    with pytest.raises(AnonymizeError, match="exists already"):
        anonymize_bag(bag, tmp_path / "o3", parse_gnss("drop"), boxes_topic="/perception/camera/objects")


def test_lsv_anonymize_command(tmp_path):
    bag = make_bag(tmp_path / "bag")
    run = subprocess.run([sys.executable, "-m", "lsv_bringup.cli", "anonymize", str(bag), "-o", str(tmp_path / "out"),
                          "--boxes-topic", "/perception/camera/objects", "--gnss", "coarsen:50"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "3 image(s)" in run.stdout and "3 coarsened" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "lsv_bringup.cli", "anonymize", str(bag), "-o", str(tmp_path / "x"),
                          "--gnss", "blur"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "bad --gnss" in bad.stderr
