"""``lsv anonymize``: a copy of a rosbag2 recording that can leave the vehicle (desensitised data).

- Camera images (every ``sensor_msgs/msg/Image`` topic, or ``--image-topics``): the regions of
  people (pedestrians, cyclists/riders) are blurred whole; of every vehicle (car, truck, bus,
  motorcycle, emergency vehicle) the lower part of its box, where licence plates are, is blurred
  (the bottom ``PLATE_FRACTION`` of the box height, full box width: the plate of a car seen from
  the front or the back sits on its bumper).
- Box source: the camera detector (``lsv_perception.camera.detector``, the committed ONNX model
  unless ``--model``) run on each image, or ``--boxes-topic``: a ``lsv_msgs/DetectedObjectArray``
  topic of the bag with image boxes (``has_box_2d``), matched to each image by header stamp (the
  nearest within ``--match-tolerance``). With a boxes topic an image with no matching boxes
  message is blurred whole (nothing is known about it, so nothing is let through).
- GNSS (``sensor_msgs/msg/NavSatFix`` topics): ``--gnss drop`` removes them, ``coarsen:METERS``
  snaps latitude/longitude to a grid of that many metres (covariance raised to match, type
  APPROXIMATED), ``keep`` leaves them.
- Everything else is copied unchanged: other topics, time stamps, offered QoS, message
  definitions. Other position data (odometry in the local map frame, ground truth) is not a
  GNSS fix and is kept: drop it with ``--drop-topics`` if the rules ask.

The pure parts (``blur_regions``, ``regions_for``, ``coarsen_fix``) take numpy arrays and numbers;
the command reads and writes bags with ``rosbags`` (no rclpy). Cheap to import.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

EXIT_USAGE = 2
EXIT_FAILED = 1
PLATE_FRACTION = 0.4  # lower part of a vehicle box that is blurred (plates sit on the bumper)
PERSON_CLASSES = frozenset({4, 6})  # lsv_msgs/DetectedObject CLASS_CYCLIST, CLASS_PEDESTRIAN
VEHICLE_CLASSES = frozenset({1, 2, 3, 5, 8})  # CAR, TRUCK, BUS, MOTORCYCLE, EMERGENCY_VEHICLE
EARTH_M_PER_DEG = 111_320.0  # m per degree of latitude (and of longitude at the equator)
NS = 1_000_000_000
IMAGE_ENCODINGS = {"rgb8": 3, "bgr8": 3, "mono8": 1, "rgba8": 4, "bgra8": 4}


class AnonymizeError(Exception):
    """The bag cannot be anonymized: bad option, unsupported image encoding, no box source."""


# -- pure core ----------------------------------------------------------------------------------


def regions_for(boxes: np.ndarray, classes: np.ndarray, width: int, height: int,
                plate_fraction: float = PLATE_FRACTION, margin_px: int = 4) -> np.ndarray:
    """Pixel regions to blur: (M, 4) int32 x0, y0, x1, y1 (exclusive ends), clipped to the image.

    ``boxes`` (N, 4) float x_min, y_min, x_max, y_max; ``classes`` (N,) DetectedObject CLASS_*.
    People: the whole box; vehicles: the bottom ``plate_fraction`` of the box; other classes: none.
    Each region grows by ``margin_px`` on every side (detector boxes are tight).
    """
    import numpy as np

    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    classes = np.asarray(classes).reshape(-1)
    person = np.isin(classes, list(PERSON_CLASSES))
    vehicle = np.isin(classes, list(VEHICLE_CLASSES))
    out = boxes.copy()
    out[vehicle, 1] = boxes[vehicle, 3] - plate_fraction * (boxes[vehicle, 3] - boxes[vehicle, 1])
    out = out[person | vehicle]
    out[:, :2] = np.floor(out[:, :2]) - margin_px
    out[:, 2:] = np.ceil(out[:, 2:]) + margin_px
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    out = out.astype(np.int32)
    return out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]


def blur_regions(image: np.ndarray, regions: np.ndarray, method: str = "pixelate", block_px: int = 12) -> int:
    """Blur ``regions`` (M, 4) of ``image`` (H, W[, C]) uint8 in place; returns pixels changed.

    ``pixelate``: blocks of ``block_px`` take their mean (no detail smaller than a block survives);
    ``gaussian``: a Gaussian blur with sigma of a quarter of the region's shorter side (at least 6 px).
    """
    import cv2
    import numpy as np

    changed = 0
    for x0, y0, x1, y1 in np.asarray(regions, np.int64).reshape(-1, 4):
        roi = image[y0:y1, x0:x1]
        h, w = roi.shape[:2]
        if h == 0 or w == 0:
            continue
        if method == "pixelate":
            small = cv2.resize(roi, (max(1, w // block_px), max(1, h // block_px)), interpolation=cv2.INTER_AREA)
            roi[...] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).reshape(roi.shape)
        elif method == "gaussian":
            sigma = max(6.0, min(h, w) / 4.0)
            roi[...] = cv2.GaussianBlur(roi, (0, 0), sigma).reshape(roi.shape)
        else:
            raise AnonymizeError(f"unknown blur method '{method}': expected pixelate or gaussian")
        changed += h * w
    return changed


def coarsen_fix(lat_deg: float, lon_deg: float, grid_m: float) -> tuple[float, float]:
    """Latitude/longitude snapped to the centre of a ``grid_m`` x ``grid_m`` metre cell."""
    dlat = grid_m / EARTH_M_PER_DEG
    lat = (math.floor(lat_deg / dlat) + 0.5) * dlat
    dlon = grid_m / (EARTH_M_PER_DEG * max(math.cos(math.radians(lat)), 1e-6))
    lon = (math.floor(lon_deg / dlon) + 0.5) * dlon
    return lat, lon


@dataclass(frozen=True)
class GnssPolicy:
    mode: str  # 'drop' | 'coarsen' | 'keep'
    grid_m: float = 0.0


def parse_gnss(text: str) -> GnssPolicy:
    """'drop' | 'keep' | 'coarsen:METERS' -> GnssPolicy."""
    if text in ("drop", "keep"):
        return GnssPolicy(text)
    mode, _, value = text.partition(":")
    if mode == "coarsen":
        try:
            grid = float(value)
        except ValueError:
            grid = -1.0
        if grid > 0.0:
            return GnssPolicy("coarsen", grid)
    raise AnonymizeError(f"bad --gnss '{text}': expected drop, keep or coarsen:METERS (METERS > 0)")


# -- box sources --------------------------------------------------------------------------------


def _stamp_ns(header: Any) -> int:
    return header.stamp.sec * NS + header.stamp.nanosec


class TopicBoxes:
    """Boxes from a DetectedObjectArray topic of the bag, looked up by the image's header stamp."""

    def __init__(self, messages: Iterable[tuple[int, Any]], tolerance_s: float):
        import numpy as np

        self.stamps: list[int] = []
        self.boxes: list[tuple[np.ndarray, np.ndarray]] = []
        for _, msg in sorted(messages, key=lambda m: _stamp_ns(m[1].header)):
            objs = [o for o in msg.objects if o.has_box_2d]
            self.stamps.append(_stamp_ns(msg.header))
            xyxy = np.array([[o.x_min, o.y_min, o.x_max, o.y_max] for o in objs], np.float64).reshape(-1, 4)
            self.boxes.append((xyxy, np.array([o.classification for o in objs], np.int64)))
        self._stamps = np.array(self.stamps, np.int64)
        self.tolerance_ns = round(tolerance_s * NS)

    def __call__(self, stamp_ns: int, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        import numpy as np

        if not len(self._stamps):
            return None
        i = int(np.searchsorted(self._stamps, stamp_ns))
        best = min((j for j in (i - 1, i) if 0 <= j < len(self._stamps)),
                   key=lambda j: abs(int(self._stamps[j]) - stamp_ns))
        if abs(int(self._stamps[best]) - stamp_ns) > self.tolerance_ns:
            return None
        return self.boxes[best]


class DetectorBoxes:
    """Boxes from the camera detector run on the image."""

    def __init__(self, model: Path | None, score_threshold: float):
        import numpy as np

        from lsv_perception.camera.detector import CameraDetector, DetectorConfig, default_model_path
        from lsv_perception.camera.labels import classification_of

        path = model or default_model_path()
        if not Path(path).is_file():
            raise AnonymizeError(f"camera detector model not found: {path} (train or pass --model, or use "
                                 "--boxes-topic with a DetectedObjectArray topic of the bag)")
        self.detector = CameraDetector(DetectorConfig(model_path=str(path), score_threshold=score_threshold))
        self.class_of_id = np.array([classification_of(n) for n in self.detector.labels], np.int64)

    def __call__(self, stamp_ns: int, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        det = self.detector.detect(rgb)
        return det.boxes.astype(np.float64), self.class_of_id[det.class_ids]


# -- the bag pass -------------------------------------------------------------------------------


@dataclass
class AnonymizeStats:
    images: int = 0
    regions: int = 0
    whole_images: int = 0  # images blurred whole (no boxes known for them)
    gnss_dropped: int = 0
    gnss_coarsened: int = 0
    copied: int = 0


def _image_view(msg: Any) -> np.ndarray:
    import numpy as np

    channels = IMAGE_ENCODINGS.get(msg.encoding)
    if channels is None:
        raise AnonymizeError(f"image encoding '{msg.encoding}' is not supported (supported: "
                             f"{', '.join(IMAGE_ENCODINGS)})")
    data = np.asarray(msg.data, np.uint8)
    rows = data[: msg.height * msg.step].reshape(msg.height, msg.step)
    return rows[:, : msg.width * channels].reshape(msg.height, msg.width, channels)


def _rgb(view: np.ndarray, encoding: str) -> np.ndarray:
    import cv2

    if encoding == "rgb8":
        return view
    if encoding == "bgr8":
        return view[..., ::-1]
    if encoding == "mono8":
        return cv2.cvtColor(view[..., 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(view, cv2.COLOR_RGBA2RGB if encoding == "rgba8" else cv2.COLOR_BGRA2RGB)


def anonymize_bag(src_path: Path, out: Path, gnss: GnssPolicy, boxes_topic: str | None = None,
                  image_topics: Iterable[str] | None = None, model: Path | None = None,
                  score_threshold: float = 0.3, method: str = "pixelate", match_tolerance_s: float = 0.05,
                  drop_topics: Iterable[str] = (), storage: str = "mcap",
                  progress: Callable[[int, int], None] | None = None) -> AnonymizeStats:
    """Read ``src_path``, write the anonymized copy to ``out`` (must not exist). See the module docstring."""
    import numpy as np
    from rosbags.rosbag2 import StoragePlugin, Writer

    from lsv_bringup.player import BagSource, PlayerError

    if out.exists():
        raise AnonymizeError(f"output {out} exists already; choose a new folder")
    if method not in ("pixelate", "gaussian"):
        raise AnonymizeError(f"unknown blur method '{method}': expected pixelate or gaussian")
    stats = AnonymizeStats()
    try:
        src = BagSource(src_path)
    except PlayerError as err:
        raise AnonymizeError(str(err)) from err
    with src:
        types = {t: i.type_name for t, i in src.topics.items()}
        images = set(image_topics) if image_topics is not None else \
            {t for t, n in types.items() if n == "sensor_msgs/msg/Image"}
        for t in images:
            if types.get(t) != "sensor_msgs/msg/Image":
                raise AnonymizeError(f"image topic {t} is not a sensor_msgs/msg/Image topic of the bag "
                                     f"({types.get(t, 'not in the bag')})")
        fixes = {t for t, n in types.items() if n == "sensor_msgs/msg/NavSatFix"}
        dropped = set(drop_topics) | (fixes if gnss.mode == "drop" else set())
        if boxes_topic is not None:
            if types.get(boxes_topic) != "lsv_msgs/msg/DetectedObjectArray":
                raise AnonymizeError(f"boxes topic {boxes_topic} is not a lsv_msgs/msg/DetectedObjectArray topic "
                                     f"of the bag ({types.get(boxes_topic, 'not in the bag')})")
            source: Callable = TopicBoxes(src.read_all([boxes_topic]).get(boxes_topic, []), match_tolerance_s)
        else:
            source = DetectorBoxes(model, score_threshold) if images else (lambda *_: None)
        writer = Writer(out, version=9, storage_plugin=StoragePlugin.MCAP if storage == "mcap"
                        else StoragePlugin.SQLITE3)
        total = src.message_count
        with writer:
            conns = {}
            for topic, info in src.topics.items():
                if topic in dropped:
                    continue
                try:  # the definition and offered QoS as recorded
                    store = src.typestore_for(topic)
                except PlayerError as err:
                    raise AnonymizeError(f"{err}: cannot write it") from err
                conns[topic] = writer.add_connection(topic, info.type_name, typestore=store,
                                                     offered_qos_profiles=src.offered_qos(topic))
            for n, (topic, ts, raw) in enumerate(src.messages()):
                if topic in dropped:
                    stats.gnss_dropped += topic in fixes
                    continue
                if topic in images:
                    raw = _anonymize_image(src, topic, raw, source, method, stats)
                elif topic in fixes and gnss.mode == "coarsen":
                    msg = src.decode(topic, raw)
                    msg.latitude, msg.longitude = coarsen_fix(msg.latitude, msg.longitude, gnss.grid_m)
                    var = max(gnss.grid_m ** 2 / 12.0, float(msg.position_covariance[0]))  # uniform in the cell
                    cov = np.array(msg.position_covariance, np.float64)
                    cov[0] = cov[4] = var
                    msg.position_covariance = cov
                    msg.position_covariance_type = 1  # COVARIANCE_TYPE_APPROXIMATED
                    raw = src.encode(topic, msg)
                    stats.gnss_coarsened += 1
                else:
                    stats.copied += 1
                writer.write(conns[topic], ts, raw)
                if progress is not None and n % 200 == 0:
                    progress(n, total)
    return stats


def _anonymize_image(src: Any, topic: str, raw: bytes, source: Callable, method: str,
                     stats: AnonymizeStats) -> bytes:
    import numpy as np

    msg = src.decode(topic, raw)
    view = _image_view(msg)
    found = source(_stamp_ns(msg.header), np.ascontiguousarray(_rgb(view, msg.encoding)))
    pixels = np.array(msg.data, np.uint8)  # a writable copy
    image = pixels[: msg.height * msg.step].reshape(msg.height, msg.step)[:, : msg.width * view.shape[2]]
    image = image.reshape(msg.height, msg.width, view.shape[2])
    if found is None:  # nothing known about this frame: let nothing through
        regions = np.array([[0, 0, msg.width, msg.height]], np.int32)
        stats.whole_images += 1
    else:
        regions = regions_for(found[0], found[1], msg.width, msg.height)
    blur_regions(image, regions, method)
    stats.images += 1
    stats.regions += len(regions)
    msg.data = pixels
    return src.encode(topic, msg)


# -- command line -------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write a copy of a rosbag2 recording with people and licence-plate-like regions blurred in the "
        "camera images and the GNSS fixes dropped or coarsened. People (pedestrians, cyclists) are blurred "
        f"whole; of each vehicle box (car, truck, bus, motorcycle, emergency vehicle) the bottom "
        f"{PLATE_FRACTION:.0%} of its height, where the plates are. Boxes come from the camera detector, or "
        "from a DetectedObjectArray topic of the bag (--boxes-topic; an image without a matching boxes "
        "message is then blurred whole). Every other topic, time stamp and QoS is copied unchanged.")
    parser.add_argument("bag", type=Path, metavar="BAG", help="rosbag2 folder or .mcap/.db3 file")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                        help="new bag folder (must not exist)")
    parser.add_argument("--gnss", default="drop", metavar="drop|coarsen:METERS|keep",
                        help="NavSatFix topics: drop them (default), snap them to a METERS grid, or keep them")
    parser.add_argument("--boxes-topic", metavar="TOPIC",
                        help="take the boxes from this lsv_msgs/DetectedObjectArray topic (has_box_2d) instead of "
                             "running the camera detector")
    parser.add_argument("--image-topics", nargs="+", metavar="TOPIC",
                        help="image topics to blur (default: every sensor_msgs/msg/Image topic)")
    parser.add_argument("--model", type=Path, help="camera detector ONNX model (default: models/camera_detector.onnx)")
    parser.add_argument("--score-threshold", type=float, default=0.25,
                        help="detector score from which a box is blurred (default 0.25: err on blurring)")
    parser.add_argument("--method", choices=["pixelate", "gaussian"], default="pixelate",
                        help="pixelate (12 px blocks, default) or a strong Gaussian blur")
    parser.add_argument("--match-tolerance", type=float, default=0.05, metavar="S",
                        help="--boxes-topic: largest header-stamp difference between an image and its boxes (s)")
    parser.add_argument("--drop-topics", nargs="+", default=[], metavar="TOPIC", help="topics left out of the copy")
    parser.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap", help="output storage (default mcap)")


def run(ns: argparse.Namespace) -> int:
    try:
        gnss = parse_gnss(ns.gnss)
        print(f"lsv anonymize: {ns.bag} -> {ns.output}", flush=True)
        stats = anonymize_bag(ns.bag, ns.output, gnss, boxes_topic=ns.boxes_topic, image_topics=ns.image_topics,
                              model=ns.model, score_threshold=ns.score_threshold, method=ns.method,
                              match_tolerance_s=ns.match_tolerance, drop_topics=ns.drop_topics, storage=ns.storage)
    except AnonymizeError as err:
        print(f"lsv anonymize: error: {err}", file=sys.stderr)
        return EXIT_USAGE if "exists already" in str(err) or "bad --gnss" in str(err) else EXIT_FAILED
    print(f"lsv anonymize: {stats.images} image(s), {stats.regions} region(s) blurred"
          + (f" ({stats.whole_images} image(s) blurred whole: no boxes for them)" if stats.whole_images else "")
          + f"; GNSS fixes: {stats.gnss_dropped} dropped, {stats.gnss_coarsened} coarsened; "
          f"{stats.copied} other message(s) copied; written to {ns.output}", flush=True)
    return 0
