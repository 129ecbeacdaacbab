"""Per-cluster point-set classification: fixed-size point sampling, features, the ONNX model
wrapper (validated at start-up) and a geometric fallback.

Model layout (checked when the model is loaded):

- input ``points``: float32 ``[batch, num_points, NUM_FEATURES]``, one row per cluster; each point
  is ``FEATURES`` (box-frame coordinates, height above ground, intensity, then the cluster's box
  size, point count and range repeated on every point);
- output: float32 ``[batch, num_classes]`` class probabilities (softmax), in the order of the
  ``.labels`` file next to the model (one ``lsv_msgs/DetectedObject`` class name a line, e.g.
  ``pedestrian``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from lsv_common.params import ParameterError

log = logging.getLogger(__name__)

#: lsv_msgs/DetectedObject CLASS_* values by lower-case name (the core does not import messages;
#: test_lidar_node checks this table against the generated message class)
CLASS_IDS: dict[str, int] = {"unknown": 0, "car": 1, "truck": 2, "bus": 3, "cyclist": 4, "motorcycle": 5,
                             "pedestrian": 6, "animal": 7, "emergency_vehicle": 8, "static_obstacle": 9}

FEATURES = ("dx_m", "dy_m", "height_m", "intensity", "length_m", "width_m", "box_height_m", "log_points",
            "range_m")
NUM_FEATURES = len(FEATURES)
INTENSITY_SCALE = 1.0 / 255.0
RANGE_SCALE = 1.0 / 50.0  # 1/m
LOG_POINTS_SCALE = 1.0 / 6.0


class ModelLoadError(ParameterError):
    """The classifier's model or labels file is missing, malformed or has the wrong layout."""


def sample_indices(starts: np.ndarray, counts: np.ndarray, num_points: int) -> np.ndarray:
    """(M, num_points) indices into the cluster-sorted points: ``num_points`` spread evenly over each
    cluster's points in scan order (repeats when a cluster has fewer). Deterministic."""
    j = np.arange(num_points, dtype=np.int64)
    return starts[:, None] + (j[None, :] * counts[:, None]) // num_points


def cluster_features(points: np.ndarray, above: np.ndarray, starts: np.ndarray, counts: np.ndarray,
                     centers: np.ndarray, dimensions: np.ndarray, yaws: np.ndarray,
                     num_points: int) -> np.ndarray:
    """(M, num_points, NUM_FEATURES) float32 classifier input.

    ``points`` (K, 4) x, y, z, intensity and ``above`` (K,) height above ground of the cluster
    points sorted by cluster; boxes from ``fit_boxes``. x/y are rotated into the box frame (x along
    the length) so the network does not have to learn headings.
    """
    m = starts.shape[0]
    out = np.empty((m, num_points, NUM_FEATURES), dtype=np.float32)
    if m == 0:
        return out
    idx = sample_indices(starts, counts, num_points)
    p = points[idx]  # (M, P, 4)
    dx = p[..., 0] - centers[:, None, 0]
    dy = p[..., 1] - centers[:, None, 1]
    c, s = np.cos(yaws)[:, None], np.sin(yaws)[:, None]
    out[..., 0] = dx * c + dy * s
    out[..., 1] = dy * c - dx * s
    out[..., 2] = above[idx]
    out[..., 3] = p[..., 3] * INTENSITY_SCALE
    out[..., 4] = dimensions[:, None, 0]
    out[..., 5] = dimensions[:, None, 1]
    out[..., 6] = dimensions[:, None, 2]
    out[..., 7] = (np.log(counts) * LOG_POINTS_SCALE)[:, None]
    out[..., 8] = (np.hypot(centers[:, 0], centers[:, 1]) * RANGE_SCALE)[:, None]
    return out


def geometric_classes(dimensions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fallback classification from box size alone (configuration ``classifier: geometric``):
    (class ids (M,) int64, scores (M,) float32). Pedestrian: footprint <= 1.0 m, 1.0-2.2 m tall;
    cyclist: 1.2-2.4 m long, <= 1.0 m wide, 1.0-2.2 m tall; car: 3-6 m x 1.4-2.4 m, 1.0-2.2 m tall;
    emergency vehicle / large vehicle: 4.5-8 m x 1.8-2.8 m, 2.2-3.5 m tall; else static obstacle.
    Scores are a flat 0.5: the rules carry no confidence."""
    length, width, height = dimensions[:, 0], dimensions[:, 1], dimensions[:, 2]
    cls = np.full(dimensions.shape[0], CLASS_IDS["static_obstacle"], np.int64)
    upright = (height >= 1.0) & (height <= 2.2)
    cls[upright & (length >= 3.0) & (length <= 6.0) & (width >= 1.4) & (width <= 2.4)] = CLASS_IDS["car"]
    cls[(height > 2.2) & (height <= 3.5) & (length >= 4.5) & (length <= 8.0) & (width >= 1.8) & (width <= 2.8)] = \
        CLASS_IDS["emergency_vehicle"]
    cls[upright & (length >= 1.2) & (length <= 2.4) & (width <= 1.0)] = CLASS_IDS["cyclist"]
    cls[upright & (length <= 1.0) & (width <= 1.0)] = CLASS_IDS["pedestrian"]
    return cls, np.full(dimensions.shape[0], 0.5, np.float32)


def read_labels(path: Path) -> list[str]:
    """The class names of a ``.labels`` file (one a line, blank lines and ``#`` comments ignored)."""
    if not path.is_file():
        raise ModelLoadError(f"point classifier labels file not found: {path} "
                             f"(expected next to the model: one class name a line, e.g. 'pedestrian')")
    names = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in CLASS_IDS]
    if not names or unknown:
        raise ModelLoadError(f"{path}: class names must be one of {sorted(CLASS_IDS)}; "
                             f"got {unknown or 'no names'}")
    return names


def _shape(value_info) -> list[int | str]:
    return [d if isinstance(d, int) else (d or "?") for d in value_info.shape]


class PointClassifier:
    """ONNX Runtime session of a point-set classifier, validated against the configured layout."""

    def __init__(self, model_path: str | Path, num_points: int, labels_path: str | Path | None = None,
                 threads: int = 1):
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise ModelLoadError(f"point classifier model not found: {path}")
        labels = Path(labels_path) if labels_path else path.with_suffix(".labels")
        self.names = read_labels(labels)
        self.class_ids = np.array([CLASS_IDS[n] for n in self.names], dtype=np.int64)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own untyped errors for any bad file
            raise ModelLoadError(f"{path}: not a loadable ONNX model: {err}") from err
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        expected_in = ["batch", num_points, NUM_FEATURES]
        expected_out = ["batch", len(self.names)]
        got_in = _shape(inputs[0]) if len(inputs) == 1 else [_shape(i) for i in inputs]
        if (len(inputs) != 1 or len(got_in) != 3 or got_in[1:] != expected_in[1:]
                or inputs[0].type != "tensor(float)"):
            raise ModelLoadError(f"{path}: input layout does not match the configuration: expected one float32 "
                                 f"input of shape {expected_in} (clusters x num_points x features {FEATURES}), "
                                 f"got {len(inputs)} input(s) of shape {got_in}"
                                 + (f" and type {inputs[0].type}" if len(inputs) == 1 else ""))
        got_out = _shape(outputs[0])
        if len(got_out) != 2 or got_out[1] != expected_out[1]:
            raise ModelLoadError(f"{path}: output shape does not match the configuration: expected {expected_out} "
                                 f"(one score per class of {labels}: {self.names}), got {got_out}")
        self.input_name = inputs[0].name
        self.output_name = outputs[0].name
        self.num_points = num_points
        self.path = path

    def __call__(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(M, num_points, NUM_FEATURES) float32 -> (class ids (M,) int64, scores (M,) float32)."""
        if features.shape[0] == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        probs = self.session.run([self.output_name], {self.input_name: features})[0]
        best = np.argmax(probs, axis=1)
        return self.class_ids[best], probs[np.arange(probs.shape[0]), best].astype(np.float32)
