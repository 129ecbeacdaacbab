"""Train the camera detector on simulator frames, export it to ONNX (YOLOv8 layout), evaluate it.

    .venv/bin/pip install torch==2.13.0   # CPU build; torch is only needed here, not by the stack
    .venv/bin/python tools/train_camera_detector.py [--epochs 10] [--regenerate]

1. Data: ``build/datasets/camera`` (``tools/camera_dataset.py``), generated when missing.
2. Model: a small anchor-free single-stage detector (plain 3x3 conv-BN-SiLU backbone down to
   stride 32, a top-down feature pyramid, one shared-weight-free head per stride 8/16/32 giving
   per grid point the distances to the box sides and the class scores), trained with
   FCOS-style centre sampling + scale ranges, quality focal loss (score target = IoU of the
   predicted box) and GIoU loss; fixed seeds, AdamW, cosine schedule, on the CPU.
3. Export: ``models/camera_detector.onnx``, opset 17, input ``images`` (1, 3, 256, 320) float32
   RGB / 255 letterboxed (centred, grey 114), output ``output0`` (1, 4 + C, A) = cx, cy, w, h in
   input pixels + C sigmoid class scores: the YOLOv8 layout (``layout: yolov8``).
4. Evaluation: the exported model through ``lsv_perception.camera.CameraDetector`` (the node's code
   path) on the held-out 640 x 480 frames: mAP@0.5 (VOC all-point AP per class, averaged), and
   precision / recall at the node's default score threshold; written into ``models/camera_detector.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
from camera_dataset import CLASSES, DEFAULT_OUT, generate
from dataset_common import progress

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "camera_detector.onnx"
LABELS = REPO / "models" / "camera_detector.labels"
CARD = REPO / "models" / "camera_detector.md"
INPUT_H, INPUT_W = 256, 320
STRIDES = (8, 16, 32)
RANGES = ((0.0, 48.0), (48.0, 112.0), (112.0, 1e9))  # input px: max side distance handled by each stride
SEED = 0
OPERATING_THRESHOLD = 0.3  # the node's default score_threshold
CROP_H, CROP_W = 128, 160  # training crops of the letterboxed input (4x cheaper than whole frames)
CROP_Y_WEIGHTS = (0.1, 0.25, 0.3, 0.25, 0.1)  # crop top at 0, 32, 64, 96, 128 px


def import_torch():
    try:
        import torch
    except ImportError:
        sys.exit("torch is needed to train: .venv/bin/pip install torch==2.13.0 (CPU build; `make models` does it)")
    return torch


torch = import_torch()
nn = torch.nn
F = torch.nn.functional


def conv(ci: int, co: int, stride: int = 1, k: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(ci, co, k, stride, k // 2, bias=False), nn.BatchNorm2d(co), nn.SiLU(inplace=True))


class Detector(nn.Module):
    """Input (B, 3, H, W) in [0, 1]. ``forward`` -> per stride (ltrb raw (B, 4, h, w), class logits
    (B, C, h, w)); ``export`` mode -> (B, 4 + C, A) YOLOv8 layout."""

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (8, 16, 24, 32, 48), neck: int = 24):
        super().__init__()
        w = widths
        self.stem = nn.Sequential(conv(3, w[0], 2), conv(w[0], w[1], 2), conv(w[1], w[1]))
        self.s8 = nn.Sequential(conv(w[1], w[2], 2), conv(w[2], w[2]), conv(w[2], w[2]))
        self.s16 = nn.Sequential(conv(w[2], w[3], 2), conv(w[3], w[3]), conv(w[3], w[3]))
        self.s32 = nn.Sequential(conv(w[3], w[4], 2), conv(w[4], w[4]), conv(w[4], w[4]))
        self.lat = nn.ModuleList([conv(c, neck, k=1) for c in (w[2], w[3], w[4])])
        self.smooth = nn.ModuleList([conv(neck, neck) for _ in STRIDES])
        self.head = nn.ModuleList([conv(neck, neck) for _ in STRIDES])
        self.reg = nn.ModuleList([nn.Conv2d(neck, 4, 1) for _ in STRIDES])
        self.cls = nn.ModuleList([nn.Conv2d(neck, num_classes, 1) for _ in STRIDES])
        for c in self.cls:
            nn.init.constant_(c.bias, -4.6)  # prior 1 %: stable focal-loss start
        self.export = False

    def forward(self, x):
        c3 = self.s8(self.stem(x))
        c4 = self.s16(c3)
        c5 = self.s32(c4)
        p5 = self.lat[2](c5)
        p4 = self.lat[1](c4) + F.interpolate(p5, scale_factor=2.0, mode="nearest")
        p3 = self.lat[0](c3) + F.interpolate(p4, scale_factor=2.0, mode="nearest")
        outs = []
        for i, p in enumerate((p3, p4, p5)):
            f = self.head[i](self.smooth[i](p))
            outs.append((self.reg[i](f), self.cls[i](f)))
        return self.to_yolov8(outs) if self.export else outs

    @staticmethod
    def to_yolov8(outs):
        """Per-stride raw outputs -> (B, 4 + C, A): cx, cy, w, h (input px), sigmoid class scores."""
        cols = []
        for (reg, cls), s in zip(outs, STRIDES, strict=True):
            h, w = reg.shape[2:]
            ys = (torch.arange(h, dtype=reg.dtype) + 0.5) * s
            xs = (torch.arange(w, dtype=reg.dtype) + 0.5) * s
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            ltrb = torch.exp(reg.clamp(max=8.0)) * s
            x1, y1 = gx - ltrb[:, 0], gy - ltrb[:, 1]
            x2, y2 = gx + ltrb[:, 2], gy + ltrb[:, 3]
            box = torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], 1)
            cols.append(torch.cat([box, torch.sigmoid(cls)], 1).flatten(2))
        return torch.cat(cols, 2)


def grid_points(h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, 2) centres (px), (A,) stride, (A, 2) scale range of every grid point of an h x w input, stride by stride."""
    pts, st, rng = [], [], []
    for s, r in zip(STRIDES, RANGES, strict=True):
        gy, gx = np.meshgrid((np.arange(h // s) + 0.5) * s, (np.arange(w // s) + 0.5) * s, indexing="ij")
        pts.append(np.stack([gx.reshape(-1), gy.reshape(-1)], 1))
        st.append(np.full(gx.size, s, np.float32))
        rng.append(np.tile(np.asarray(r, np.float32), (gx.size, 1)))
    return np.concatenate(pts).astype(np.float32), np.concatenate(st), np.concatenate(rng)


CROP_POINTS = grid_points(CROP_H, CROP_W)


def assign(points: tuple[np.ndarray, np.ndarray, np.ndarray], boxes: np.ndarray, classes: np.ndarray,
           ignore: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets of one image for the grid ``points`` (``grid_points``): class (A,) int (-1 background), box
    (A, 4) xyxy, weight (A,) of the class loss (0 on points inside an ignored box that are not positive)."""
    pts, point_stride, point_range = points
    a = len(pts)
    cls_t = np.full(a, -1, np.int64)
    box_t = np.zeros((a, 4), np.float32)
    weight = np.ones(a, np.float32)
    if len(boxes) == 0:
        return cls_t, box_t, weight
    px, py = pts[:, 0:1], pts[:, 1:2]
    ltrb = np.stack([px - boxes[:, 0], py - boxes[:, 1], boxes[:, 2] - px, boxes[:, 3] - py], 2)  # (A, M, 4)
    inside = ltrb.min(2) > 0.0
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    radius = 2.5 * point_stride[:, None]
    central = (np.abs(px - cx) < radius) & (np.abs(py - cy) < radius)
    m = ltrb.max(2)
    in_range = (m >= point_range[:, 0:1]) & (m <= point_range[:, 1:2])
    ok = inside & central & in_range & ~ignore[None, :]
    area = np.where(ok, ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None, :], np.inf)
    best = area.argmin(1)
    pos = np.isfinite(area[np.arange(a), best])
    cls_t[pos] = classes[best[pos]]
    box_t[pos] = boxes[best[pos]]
    if ignore.any():
        weight[~pos & (inside[:, ignore].any(1))] = 0.0
    return cls_t, box_t, weight


def load_split(root: Path, split: str) -> tuple[np.ndarray, list[dict]]:
    images = np.load(root / f"{split}_images.npy", mmap_mode="r")
    labels = json.loads((root / f"{split}_labels.json").read_text())
    if tuple(labels["classes"]) != CLASSES:
        raise SystemExit(f"{root}: classes {labels['classes']} differ from {CLASSES}: regenerate (--regenerate)")
    return images, labels["frames"]


def frame_targets(frame: dict, scale: float, pad_y: float, flip: bool) -> tuple[np.ndarray, ...]:
    boxes = np.asarray(frame["boxes"], np.float32).reshape(-1, 4) * scale
    boxes[:, 1::2] += pad_y
    if flip:
        boxes[:, [0, 2]] = INPUT_W - boxes[:, [2, 0]]
    classes = np.asarray([CLASSES.index(c) for c in frame["classes"]], np.int64)
    return boxes, classes, np.asarray(frame["ignore"], bool).reshape(-1)


def giou_loss(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 4) xyxy -> (1 - GIoU per box, IoU per box (detached))."""
    ix1, iy1 = torch.max(p[:, 0], t[:, 0]), torch.max(p[:, 1], t[:, 1])
    ix2, iy2 = torch.min(p[:, 2], t[:, 2]), torch.min(p[:, 3], t[:, 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    ap = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    at = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    union = ap + at - inter + 1e-6
    iou = inter / union
    ex1, ey1 = torch.min(p[:, 0], t[:, 0]), torch.min(p[:, 1], t[:, 1])
    ex2, ey2 = torch.max(p[:, 2], t[:, 2]), torch.max(p[:, 3], t[:, 3])
    enclose = (ex2 - ex1) * (ey2 - ey1) + 1e-6
    giou = iou - (enclose - union) / enclose
    return 1.0 - giou, iou.detach()


def loss_fn(outs, cls_t: torch.Tensor, box_t: torch.Tensor, weight: torch.Tensor,
            points: tuple[np.ndarray, ...]) -> tuple[torch.Tensor, dict]:
    pts = torch.from_numpy(points[0])
    strides = torch.from_numpy(points[1])[:, None]
    reg = torch.cat([r.flatten(2) for r, _ in outs], 2).transpose(1, 2)  # (B, A, 4)
    logits = torch.cat([c.flatten(2) for _, c in outs], 2).transpose(1, 2)  # (B, A, C)
    pos = cls_t >= 0
    n_pos = max(int(pos.sum()), 1)
    ltrb = torch.exp(reg[pos].clamp(max=8.0)) * strides.expand(reg.shape[0], -1, -1)[pos]
    p = pts.expand(reg.shape[0], -1, -1)[pos]
    pred = torch.cat([p - ltrb[:, :2], p + ltrb[:, 2:]], 1)
    lbox, iou = giou_loss(pred, box_t[pos])
    target = torch.zeros_like(logits)
    target[pos, cls_t[pos]] = iou.clamp(min=0.05)
    prob = torch.sigmoid(logits)
    qfl = F.binary_cross_entropy_with_logits(logits, target, reduction="none") * (prob - target).abs().pow(2.0)
    lcls = (qfl.sum(2) * weight).sum() / n_pos
    lbox = lbox.sum() / n_pos
    return lcls + 2.0 * lbox, {"cls": float(lcls.detach()), "box": float(lbox.detach()), "pos": n_pos}


def batch_tensors(images: np.ndarray, frames: list[dict], idx: np.ndarray, rng: np.random.Generator):
    """A training batch: CROP_H x CROP_W crops (at multiples of 32 px, so that every stride's grid lines up
    with the full input's) of the letterboxed images, in [0, 1], with flips and colour gain; targets."""
    b = len(idx)
    h, w = images.shape[1:3]
    scale = w / 640.0  # training frames are 320 x 240: boxes are stored in 640 x 480 px
    pad_y = (INPUT_H - h) // 2
    canvas = np.full((INPUT_H, INPUT_W, 3), 114, np.uint8)
    x = np.empty((b, CROP_H, CROP_W, 3), np.uint8)
    cls_t, box_t, wt = [], [], []
    for k, i in enumerate(idx):
        flip = bool(rng.random() < 0.5)
        img = images[i]
        canvas[pad_y:pad_y + h] = img[:, ::-1] if flip else img
        y0 = 32 * int(rng.choice(5, p=CROP_Y_WEIGHTS))  # mostly around the horizon, where the objects are
        x0 = 32 * int(rng.integers(0, (INPUT_W - CROP_W) // 32 + 1))
        x[k] = canvas[y0:y0 + CROP_H, x0:x0 + CROP_W]
        boxes, classes, ignore = frame_targets(frames[i], scale, pad_y, flip)
        boxes -= np.array([x0, y0, x0, y0], np.float32)
        c, bx, wg = assign(CROP_POINTS, boxes, classes, ignore)
        cls_t.append(c)
        box_t.append(bx)
        wt.append(wg)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(255.0)
    gain = torch.from_numpy(rng.uniform(0.75, 1.25, (b, 3, 1, 1)).astype(np.float32))
    xt = (xt * gain + torch.from_numpy(rng.uniform(-0.06, 0.06, (b, 1, 1, 1)).astype(np.float32))).clamp_(0, 1)
    return xt, torch.from_numpy(np.stack(cls_t)), torch.from_numpy(np.stack(box_t)), torch.from_numpy(np.stack(wt))


def train(data: Path, epochs: int, batch: int, threads: int) -> tuple[Detector, dict]:
    torch.manual_seed(SEED)
    random.seed(SEED)
    rng = np.random.default_rng(SEED)
    torch.set_num_threads(threads)
    images, frames = load_split(data, "train")
    images = np.ascontiguousarray(images)  # into memory (about 370 MB)
    model = Detector(len(CLASSES))
    steps_per_epoch = len(frames) // batch
    total = epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    warmup = min(25, total // 10)

    def lr_factor(s: int) -> float:
        return (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    model.train()
    t0 = time.monotonic()
    step = 0
    stats = {}
    for epoch in range(epochs):
        order = rng.permutation(len(frames))
        run = {"cls": 0.0, "box": 0.0}
        for k in range(steps_per_epoch):
            x, cls_t, box_t, wt = batch_tensors(images, frames, order[k * batch:(k + 1) * batch], rng)
            loss, parts = loss_fn(model(x), cls_t, box_t, wt, CROP_POINTS)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            sched.step()
            step += 1
            run["cls"] += parts["cls"]
            run["box"] += parts["box"]
            progress(f"epoch {epoch + 1}/{epochs} cls {run['cls'] / (k + 1):.3f} box {run['box'] / (k + 1):.3f}",
                     step, total, t0)
        stats = {k: v / steps_per_epoch for k, v in run.items()}
    return model, {"final_loss": stats, "train_s": time.monotonic() - t0, "train_frames": len(frames)}


def export(model: Detector, path: Path) -> None:
    model.eval()
    model.export = True
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 3, INPUT_H, INPUT_W)
    torch.onnx.export(model, (dummy,), str(path), opset_version=17, input_names=["images"], output_names=["output0"],
                      dynamo=False)
    model.export = False
    import onnx

    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    m.doc_string = "LSV camera detector (YOLOv8 layout); see models/camera_detector.md"
    onnx.save(m, str(path))


def average_precision(scores: np.ndarray, tp: np.ndarray, n_gt: int) -> float:
    """VOC all-point interpolated AP of detections (``scores``, true-positive flags) against ``n_gt`` objects."""
    if n_gt == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    tp = tp[order].astype(np.float64)
    ctp, cfp = np.cumsum(tp), np.cumsum(1.0 - tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, 1e-12)
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    i = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[i + 1] - r[i]) * p[i + 1]))


def match_frame(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, gt_boxes: np.ndarray,
                gt_classes: np.ndarray, gt_ignore: np.ndarray, iou_thr: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching (best score first) of one frame's detections to ground truth of the same class.

    Returns (tp (N,) bool, keep (N,) bool): a detection matching an ignored object (or a second
    detection of an ignored one) is neither a true nor a false positive (``keep`` False).
    """
    from lsv_perception.camera.decode import iou_matrix

    n = len(scores)
    tp = np.zeros(n, bool)
    keep = np.ones(n, bool)
    if n == 0 or len(gt_boxes) == 0:
        return tp, keep
    iou = iou_matrix(boxes, gt_boxes)
    iou[class_ids[:, None] != gt_classes[None, :]] = 0.0
    used = np.zeros(len(gt_boxes), bool)
    for d in np.argsort(-scores, kind="stable"):
        cand = np.where(~used & ~gt_ignore & (iou[d] >= iou_thr), iou[d], 0.0)
        j = int(cand.argmax())
        if cand[j] >= iou_thr:
            tp[d] = used[j] = True
        elif np.any(gt_ignore & (iou[d] >= iou_thr)):
            keep[d] = False
    return tp, keep


def evaluate(model_path: Path, labels_path: Path, images, frames: list[dict], label: str = "evaluating") -> dict:
    """mAP@0.5 and precision / recall at the operating threshold of the ONNX model on full-resolution frames."""
    from lsv_perception.camera.detector import CameraDetector, DetectorConfig

    det = CameraDetector(DetectorConfig(model_path=str(model_path), labels_path=str(labels_path), layout="yolov8",
                                        score_threshold=0.05, nms_iou=0.5, intra_op_threads=1,
                                        providers=("CPUExecutionProvider",)))
    nc = len(det.labels)
    all_scores, all_tp, all_cls = [], [], []
    n_gt = np.zeros(nc, int)
    t0 = time.monotonic()
    for i, frame in enumerate(frames):
        d = det.detect(np.asarray(images[i]))
        gt_boxes = np.asarray(frame["boxes"], np.float32).reshape(-1, 4)
        gt_classes = np.asarray([CLASSES.index(c) for c in frame["classes"]], np.int64)
        gt_ignore = np.asarray(frame["ignore"], bool).reshape(-1)
        tp, keep = match_frame(d.boxes, d.scores, d.class_ids, gt_boxes, gt_classes, gt_ignore)
        all_scores.append(d.scores[keep])
        all_tp.append(tp[keep])
        all_cls.append(d.class_ids[keep])
        n_gt += np.bincount(gt_classes[~gt_ignore], minlength=nc)
        if i % 20 == 19 or i == len(frames) - 1:
            progress(label, i + 1, len(frames), t0)
    scores, tp, cls = np.concatenate(all_scores), np.concatenate(all_tp), np.concatenate(all_cls)
    ap = {CLASSES[c]: average_precision(scores[cls == c], tp[cls == c], int(n_gt[c])) for c in range(nc)}
    valid = [v for v in ap.values() if not math.isnan(v)]
    at = scores >= OPERATING_THRESHOLD
    n_tp = int(tp[at].sum())
    return {"map50": float(np.mean(valid)), "ap50": ap, "objects": {CLASSES[c]: int(n_gt[c]) for c in range(nc)},
            "frames": len(frames), "precision": n_tp / max(int(at.sum()), 1), "recall": n_tp / max(int(n_gt.sum()), 1)}


CARD_TEMPLATE = """# Camera detector (`camera_detector.onnx`)

A small anchor-free single-stage detector for the LSV stack's camera detector node
(`lsv_perception.camera_node`, docs in `src/perception/doc/camera_detector.md`), trained only on
frames of the LSV simulator's camera. **Not for real camera images**: the simulator draws actors
as flat-shaded boxes with a colour per class; on a vehicle, drop in a model trained on real data
(any YOLOv5 / YOLOv8 / YOLOX export, see the node docs).

## Input / output

- input `images`: (1, 3, {input_h}, {input_w}) float32, RGB / 255, letterboxed (aspect kept, centred,
  grey 114 padding): a 640 x 480 frame becomes 320 x 240 with 8 px above and below.
- output `output0`: (1, {ch}, {anchors}) float32, **YOLOv8 layout** (node parameter `layout: yolov8`):
  rows 0-3 = box centre x, centre y, width, height in input pixels; rows 4-{last} = sigmoid
  class scores in the order of `camera_detector.labels`; columns = grid points of strides 8, 16, 32.
  No NMS inside (the node does class-wise NMS).
- classes (`camera_detector.labels`, mapped to `lsv_msgs/DetectedObject` CLASS_*): {classes}.
- ONNX opset 17, {size_kb} kB, {params} parameters.

## Data

`tools/camera_dataset.py`: the simulator's district map (`src/sim/maps/district.osm`) rendered by
`lsv_sim.sensors.camera.Camera` (640 x 480, 90 deg horizontal field of view, default extrinsics),
ego on a random road lanelet (either direction, yaw noise), 2-13 actors per frame (pedestrians,
cyclists, cars, trucks, emergency vehicles, static obstacles; sizes varied) on and beside the road
3-45 m ahead, time of day 06:48-17:12 and 0-80 % overcast, random traffic-light states, sensor
noise. Boxes = extent of the actor's visible pixels (the renderer's object-id image); boxes under
8 px tall, under 40 px, or with less than 30 % of their projected 3D box visible are *ignored*
(neither a miss nor a false positive). Training frames ({train_frames}) are rendered at 320 x 240
on 4/5 of the road lanelets (seed 1); the **held-out** frames ({val_frames}) at 640 x 480 on the
other 1/5 (every 5th lanelet id, places never seen in training; seed 2).

## Training

    make models    # = .venv/bin/pip install torch==2.13.0 && .venv/bin/python tools/train_camera_detector.py

torch {torch_version} (CPU), {epochs} epochs, batch {batch}, AdamW lr 3e-3 cosine, horizontal flips and
colour gain, FCOS-style centre sampling with scale ranges per stride, quality focal loss + GIoU loss,
seeds fixed (0 for training, 1 / 2 for the data). This model: `{command}`, run of {date} on
{machine} with {threads} torch thread(s):
data generation {gen_s:.0f} s, training {train_s:.0f} s, evaluation {eval_s:.0f} s (total {total_s:.0f} s wall,
{cpu_s:.0f} s CPU time of the process).

## Metrics (held-out split, {val_frames} frames at 640 x 480, through the node's code path)

| metric | value |
|---|---|
| mAP@0.5 (VOC all-point, mean over classes) | **{map50:.3f}** |
{ap_rows}
| precision at score >= {thr} | {precision:.3f} |
| recall at score >= {thr} | {recall:.3f} |

Objects per class in the held-out split (not ignored): {objects}.

## Licence

Apache-2.0, like the rest of the repository. Trained only on synthetic frames this repository
generates; no third-party data or weights.
"""


def write_card(metrics: dict, info: dict) -> None:
    import onnx

    m = onnx.load(str(MODEL))
    params = sum(int(np.prod(t.dims)) for t in m.graph.initializer)
    out = m.graph.output[0].type.tensor_type.shape.dim
    ap_rows = "\n".join(f"| AP@0.5 {k} | {v:.3f} |" for k, v in metrics["ap50"].items() if not math.isnan(v))
    CARD.write_text(CARD_TEMPLATE.format(
        input_h=INPUT_H, input_w=INPUT_W, ch=out[1].dim_value, anchors=out[2].dim_value, last=out[1].dim_value - 1,
        classes=", ".join(f"`{c}`" for c in CLASSES), size_kb=MODEL.stat().st_size // 1024, params=params,
        map50=metrics["map50"], ap_rows=ap_rows, thr=OPERATING_THRESHOLD, precision=metrics["precision"],
        recall=metrics["recall"], objects=", ".join(f"{k} {v}" for k, v in metrics["objects"].items()),
        torch_version=torch.__version__, **info))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--regenerate", action="store_true", help="render the data again even if present")
    ap.add_argument("--train-frames", type=int, default=1600)
    ap.add_argument("--val-frames", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--out", type=Path, default=MODEL, help="ONNX file to write")
    args = ap.parse_args(argv)
    t_start = time.monotonic()
    cpu_start = time.process_time()
    gen_s = 0.0
    if args.regenerate or not (args.data / "val_labels.json").is_file():
        generate(args.data, args.train_frames, args.val_frames)
        gen_s = time.monotonic() - t_start
    model, info = train(args.data, args.epochs, args.batch, args.threads)
    export(model, args.out)
    LABELS.write_text("# camera_detector.onnx class names, class id = line order; names are lsv_msgs/DetectedObject "
                      "classes (lsv_perception.camera.labels)\n" + "\n".join(CLASSES) + "\n")
    t_eval = time.monotonic()
    images, frames = load_split(args.data, "val")
    metrics = evaluate(args.out, LABELS, images, frames)
    eval_s = time.monotonic() - t_eval
    info.update(epochs=args.epochs, batch=args.batch, threads=args.threads, gen_s=gen_s, eval_s=eval_s,
                total_s=time.monotonic() - t_start, cpu_s=time.process_time() - cpu_start, val_frames=len(frames),
                date=time.strftime("%Y-%m-%d", time.gmtime()), command=" ".join(["python", *sys.argv]),
                machine=f"{platform.machine()} {platform.processor()}")
    if args.out == MODEL:
        write_card(metrics, info)
    print(json.dumps({"model": str(args.out), **metrics, **{k: v for k, v in info.items() if k != "final_loss"}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
