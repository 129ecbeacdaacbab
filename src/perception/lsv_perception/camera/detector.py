"""The camera detector: ONNX Runtime session + letterbox + layout decoder + class-wise NMS.

    det = CameraDetector(DetectorConfig(model_path="models/camera_detector.onnx",
                                        labels_path="models/camera_detector.labels", layout="yolov8"))
    dets = det.detect(rgb)  # rgb (H, W, 3) uint8 -> Detections in the original image's pixels

Start-up checks (``ModelLoadError``, a ``ValueError``): the model file exists and loads; it has one
(1, 3, H, W) float input; its first output has the shape the configured layout needs for the
number of classes in the labels file. The messages name the file, the expected and the actual shape.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lsv_common import share
from lsv_common.params import ParameterError, spec
from lsv_perception.camera.decode import (
    LAYOUTS,
    decode_yolov5,
    decode_yolov8,
    decode_yolox,
    nms_classwise,
    yolox_grid,
)
from lsv_perception.camera.labels import LabelsError, load_labels
from lsv_perception.camera.preprocess import Letterbox

log = logging.getLogger(__name__)

MODEL_NAME = "camera_detector.onnx"
LABELS_NAME = "camera_detector.labels"
DEFAULT_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


class ModelLoadError(ParameterError):
    """The model or labels file is missing, malformed, or does not match the configured layout."""


def models_dir() -> Path:
    """``$LSV_MODELS_DIR``, else ``models/`` of lsv_perception's share folder (``lsv_common.share``; in a
    source checkout the repository's ``models/``)."""
    env = os.environ.get("LSV_MODELS_DIR")
    if env:
        return Path(env)
    looked = share.candidates("lsv_perception", "models")
    return next((c for c in looked if (c / MODEL_NAME).is_file() or (c / LABELS_NAME).is_file()),
                looked[0] if looked else Path("models"))


def default_model_path() -> Path:
    """The committed model, ``models/camera_detector.onnx``."""
    return models_dir() / MODEL_NAME


def default_labels_path() -> Path:
    """The committed labels, ``models/camera_detector.labels``."""
    return models_dir() / LABELS_NAME


@dataclass(frozen=True)
class DetectorConfig:
    model_path: str = field(default="", metadata=spec(
        "ONNX model file ('' = the committed models/camera_detector.onnx)", optional=True))
    labels_path: str = field(default="", metadata=spec(
        "labels file, one class name per line in class-id order ('' = models/camera_detector.labels)",
        optional=True))
    layout: str = field(default="yolov8", metadata=spec(
        "output layout of the model", choices=LAYOUTS, optional=True))
    score_threshold: float = field(default=0.3, metadata=spec(
        "minimum class score of a detection", min=0.0, max=1.0, optional=True))
    nms_iou: float = field(default=0.5, metadata=spec(
        "IoU above which NMS drops the lower-scored box of the same class", min=0.0, max=1.0, optional=True))
    max_detections: int = field(default=100, metadata=spec(
        "most detections per frame (best scores kept)", min=1, max=1000, optional=True))
    intra_op_threads: int = field(default=1, metadata=spec(
        "ONNX Runtime threads inside an operator (0 = one per core)", min=0, max=64, optional=True))
    inter_op_threads: int = field(default=1, metadata=spec(
        "ONNX Runtime threads across operators (0 = one per core)", min=0, max=64, optional=True))
    providers: tuple[str, ...] = field(default=DEFAULT_PROVIDERS, metadata=spec(
        "ONNX Runtime execution providers in order of preference; those not installed are skipped "
        "(CPU is always the last resort)", optional=True))
    input_width: int = field(default=640, metadata=spec(
        "model input width when the model's is dynamic", unit="px", min=32, max=4096, optional=True))
    input_height: int = field(default=640, metadata=spec(
        "model input height when the model's is dynamic", unit="px", min=32, max=4096, optional=True))
    pixel_scale: float = field(default=1.0 / 255.0, metadata=spec(
        "factor from 0..255 pixel values to the model's input (1/255 YOLOv5/v8, 1.0 YOLOX)", min=0.0, max=1.0,
        optional=True))
    bgr_input: bool = field(default=False, metadata=spec(
        "the model takes BGR channels (YOLOX trained with OpenCV loaders) instead of RGB", optional=True))
    letterbox_centre: bool = field(default=True, metadata=spec(
        "pad on both sides (YOLOv5/v8); false pads right and bottom only (YOLOX)", optional=True))

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout '{self.layout}' is not one of {list(LAYOUTS)}")


@dataclass(frozen=True)
class Detections:
    """Detections of one frame, best score first, in the original image's pixels."""

    boxes: np.ndarray  # (N, 4) float32 x_min, y_min, x_max, y_max
    scores: np.ndarray  # (N,) float32 in [0, 1]
    class_ids: np.ndarray  # (N,) int64, index into CameraDetector.labels

    def __len__(self) -> int:
        return len(self.scores)

    @staticmethod
    def empty() -> Detections:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def _dim(d: object) -> int | None:
    return d if isinstance(d, int) and d > 0 else None


def _shape_text(shape: list) -> str:
    return "(" + ", ".join(str(d) if d is not None else "?" for d in shape) + ")"


class CameraDetector:
    """See the module docstring. Not thread-safe: one ``detect`` at a time (buffers are reused)."""

    def __init__(self, config: DetectorConfig | None = None):
        import onnxruntime as ort

        self.config = cfg = config or DetectorConfig()
        self.model_path = Path(cfg.model_path) if cfg.model_path else default_model_path()
        self.labels_path = Path(cfg.labels_path) if cfg.labels_path else default_labels_path()
        try:
            self.labels, self.classifications = load_labels(self.labels_path)
        except LabelsError as err:
            raise ModelLoadError(str(err)) from err
        nc = len(self.labels)
        if not self.model_path.is_file():
            raise ModelLoadError(f"camera model file '{self.model_path}' does not exist")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = cfg.intra_op_threads
        opts.inter_op_num_threads = cfg.inter_op_threads
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        available = set(ort.get_available_providers())
        providers = [p for p in cfg.providers if p in available]
        if "CPUExecutionProvider" not in providers:
            providers.append("CPUExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(self.model_path), sess_options=opts, providers=providers)
        except Exception as err:  # onnxruntime raises its own (pybind) types for a malformed file
            raise ModelLoadError(f"camera model file '{self.model_path}' cannot be loaded: {err}") from err
        self.providers = self.session.get_providers()
        log.info("camera model %s on %s", self.model_path, self.providers)

        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelLoadError(f"camera model '{self.model_path}': expected 1 input (1, 3, H, W), "
                                 f"got {len(inputs)}: {[(i.name, i.shape) for i in inputs]}")
        inp = inputs[0]
        shape = list(inp.shape)
        if len(shape) != 4 or _dim(shape[1]) != 3 or _dim(shape[0]) not in (None, 1) or inp.type != "tensor(float)":
            raise ModelLoadError(f"camera model '{self.model_path}': input '{inp.name}' expected float (1, 3, H, W), "
                                 f"got {inp.type} {_shape_text([_dim(d) for d in shape])}")
        self.input_name = inp.name
        self.input_h = _dim(shape[2]) or cfg.input_height
        self.input_w = _dim(shape[3]) or cfg.input_width
        out = self.session.get_outputs()[0]
        self.output_name = out.name
        self._check_output([_dim(d) for d in out.shape], nc)
        self.num_classes = nc
        self.letterbox = Letterbox(self.input_h, self.input_w, cfg.pixel_scale, cfg.bgr_input, cfg.letterbox_centre)
        self._grid, self._strides = (yolox_grid(self.input_h, self.input_w) if cfg.layout == "yolox"
                                     else (None, None))
        self.last_timing_ms = {"preprocess": 0.0, "inference": 0.0, "postprocess": 0.0}

    def _check_output(self, shape: list[int | None], nc: int) -> None:
        layout = self.config.layout
        if layout == "yolov8":
            ok = len(shape) == 3 and (shape[1] == 4 + nc or shape[2] == 4 + nc)
            expected = f"(1, {4 + nc}, A) or (1, A, {4 + nc})"
        else:
            ok = len(shape) == 3 and shape[2] == 5 + nc
            expected = f"(1, A, {5 + nc})"
            if ok and layout == "yolox" and shape[1] is not None:
                a = sum((self.input_h // s) * (self.input_w // s) for s in (8, 16, 32))
                ok = shape[1] == a
                expected = f"(1, {a}, {5 + nc})"
        if not ok:
            raise ModelLoadError(
                f"camera model '{self.model_path}': output '{self.output_name}' has shape {_shape_text(shape)}, "
                f"but layout '{layout}' with {nc} classes (labels file '{self.labels_path}') expects {expected}")

    def detect(self, image: np.ndarray) -> Detections:
        """Detections in ``image`` (H, W, 3) uint8 RGB (BGR if ``bgr_input`` says the model wants BGR and
        the caller passes RGB: the swap is done here). A zero-size image gives no detections."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"the camera detector needs an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
        if image.shape[0] == 0 or image.shape[1] == 0:
            return Detections.empty()
        cfg = self.config
        t0 = time.perf_counter()
        tensor, info = self.letterbox(image)
        t1 = time.perf_counter()
        output = self.session.run([self.output_name], {self.input_name: tensor})[0]
        t2 = time.perf_counter()
        if cfg.layout == "yolov8":
            boxes, scores, class_ids = decode_yolov8(output, self.num_classes, cfg.score_threshold)
        elif cfg.layout == "yolov5":
            boxes, scores, class_ids = decode_yolov5(output, self.num_classes, cfg.score_threshold)
        else:
            boxes, scores, class_ids = decode_yolox(output, self.num_classes, cfg.score_threshold, self._grid,
                                                    self._strides)
        keep = nms_classwise(boxes, scores, class_ids, cfg.nms_iou, cfg.max_detections)
        boxes = info.to_original(boxes[keep])
        # boxes squeezed to nothing by the clipping (entirely in the padding) are dropped
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        dets = Detections(boxes[valid], scores[keep][valid], class_ids[keep][valid])
        t3 = time.perf_counter()
        self.last_timing_ms = {"preprocess": (t1 - t0) * 1e3, "inference": (t2 - t1) * 1e3,
                               "postprocess": (t3 - t2) * 1e3}
        return dets
