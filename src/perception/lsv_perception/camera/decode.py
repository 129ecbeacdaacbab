"""Decoding of single-stage detector outputs and class-wise NMS (vectorized numpy + OpenCV).

Layouts (``LAYOUTS``), for a model with ``C`` classes and ``A`` candidate boxes (anchors / grid points):

- ``yolov8`` (also YOLOv9/v10-without-NMS/YOLO11, and the model trained here): one output
  (1, 4 + C, A) -- or its transpose (1, A, 4 + C) -- of cx, cy, w, h in input pixels and C class
  scores in [0, 1]; no objectness.
- ``yolov5`` (also YOLOv7): one output (1, A, 5 + C) of cx, cy, w, h in input pixels, objectness,
  C class probabilities; score = objectness x class probability.
- ``yolox``: one output (1, A, 5 + C) of the raw head (exported with ``decode_in_inference=False``):
  x, y offsets in grid cells, log w, log h in cells, objectness and class scores (sigmoid applied);
  the grid points are those of strides 8, 16, 32 over the input, row-major, stride by stride.

Every decoder returns ``(boxes (N, 4) float32 x_min, y_min, x_max, y_max in input pixels,
scores (N,) float32, class_ids (N,) int64)`` of the candidates above the score threshold, best
class per candidate.
"""

from __future__ import annotations

import cv2
import numpy as np

LAYOUTS = ("yolov8", "yolov5", "yolox")
YOLOX_STRIDES = (8, 16, 32)


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)


def _cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    out = np.empty((len(b), 4), np.float32)
    half_w, half_h = 0.5 * b[:, 2], 0.5 * b[:, 3]
    out[:, 0] = b[:, 0] - half_w
    out[:, 1] = b[:, 1] - half_h
    out[:, 2] = b[:, 0] + half_w
    out[:, 3] = b[:, 1] + half_h
    return out


def decode_yolov8(output: np.ndarray, num_classes: int, score_threshold: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(1, 4 + C, A) or (1, A, 4 + C) -> candidates (see the module docstring)."""
    out = output[0] if output.ndim == 3 else output
    if out.shape[0] != 4 + num_classes and out.shape[-1] == 4 + num_classes:
        out = out.T  # (A, 4 + C) -> (4 + C, A)
    cls_scores = out[4:]  # (C, A)
    class_ids = cls_scores.argmax(axis=0)
    scores = np.take_along_axis(cls_scores, class_ids[None], axis=0)[0]
    keep = np.flatnonzero(scores > score_threshold)
    if len(keep) == 0:
        return _empty()
    boxes = _cxcywh_to_xyxy(out[:4, keep].T)
    return boxes, scores[keep].astype(np.float32), class_ids[keep].astype(np.int64)


def decode_yolov5(output: np.ndarray, num_classes: int, score_threshold: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(1, A, 5 + C) -> candidates; score = objectness x class probability."""
    out = output[0] if output.ndim == 3 else output
    obj = out[:, 4]
    pre = np.flatnonzero(obj > score_threshold)  # score <= objectness: cheap first cut
    if len(pre) == 0:
        return _empty()
    cand = out[pre]
    cls = cand[:, 5:5 + num_classes] * cand[:, 4:5]
    class_ids = cls.argmax(axis=1)
    scores = cls[np.arange(len(cand)), class_ids]
    keep = np.flatnonzero(scores > score_threshold)
    if len(keep) == 0:
        return _empty()
    return _cxcywh_to_xyxy(cand[keep, :4]), scores[keep].astype(np.float32), class_ids[keep].astype(np.int64)


def yolox_grid(input_h: int, input_w: int, strides: tuple[int, ...] = YOLOX_STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """(A, 2) float32 grid cell x, y and (A,) float32 stride of every YOLOX candidate."""
    grids, st = [], []
    for s in strides:
        gy, gx = np.meshgrid(np.arange(input_h // s), np.arange(input_w // s), indexing="ij")
        grids.append(np.stack([gx.reshape(-1), gy.reshape(-1)], axis=1))
        st.append(np.full(gx.size, s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(st).astype(np.float32)


def decode_yolox(output: np.ndarray, num_classes: int, score_threshold: float, grid: np.ndarray,
                 strides: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(1, A, 5 + C) raw YOLOX head -> candidates; ``grid``, ``strides`` from ``yolox_grid``."""
    out = output[0] if output.ndim == 3 else output
    obj = out[:, 4]
    pre = np.flatnonzero(obj > score_threshold)
    if len(pre) == 0:
        return _empty()
    cand = out[pre]
    s = strides[pre, None]
    cxcywh = np.empty((len(pre), 4), np.float32)
    cxcywh[:, :2] = (cand[:, :2] + grid[pre]) * s
    cxcywh[:, 2:] = np.exp(np.minimum(cand[:, 2:4], 20.0)) * s
    cls = cand[:, 5:5 + num_classes] * cand[:, 4:5]
    class_ids = cls.argmax(axis=1)
    scores = cls[np.arange(len(cand)), class_ids]
    keep = np.flatnonzero(scores > score_threshold)
    if len(keep) == 0:
        return _empty()
    return _cxcywh_to_xyxy(cxcywh[keep]), scores[keep].astype(np.float32), class_ids[keep].astype(np.int64)


def nms_classwise(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float,
                  max_detections: int = 300) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS done separately per class (OpenCV, C++), best first.

    ``boxes`` (N, 4) x_min, y_min, x_max, y_max; a box suppresses a lower-scored box of the same
    class whose IoU with it exceeds ``iou_threshold``; boxes of different classes never do.
    """
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    xywh = np.empty((len(boxes), 4), np.float64)
    xywh[:, :2] = boxes[:, :2]
    xywh[:, 2:] = boxes[:, 2:] - boxes[:, :2]
    keep = cv2.dnn.NMSBoxesBatched(xywh, scores.astype(np.float32), class_ids.astype(np.int32),
                                   score_threshold=-1.0, nms_threshold=float(iou_threshold))
    keep = np.asarray(keep, np.int64).reshape(-1)
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    return keep[:max_detections]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of boxes ``a`` (N, 4) and ``b`` (M, 4), x_min, y_min, x_max, y_max."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0.0, inter / np.maximum(union, 1e-12), 0.0)
