"""Train the lidar point-set classifier (a small PointNet) on simulator clusters and export it to ONNX.

    .venv/bin/python tools/train_point_classifier.py            # what `make models` runs

Makes the data first when ``build/datasets/lidar`` has none (``tools/lidar_dataset.py``), trains on
the CPU with fixed seeds (torch==2.13.0, 2 threads), evaluates on the held-out split (places the
training scans never visit), exports ``models/point_classifier.onnx`` (opset 17), checks that ONNX
Runtime gives the same scores as torch, and writes ``models/point_classifier.labels`` and the model
card ``models/point_classifier.md`` with per-class accuracy and the confusion matrix.

Training-only dependency: torch (not a runtime dependency of the stack).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import lidar_dataset  # noqa: E402
from dataset_common import progress  # noqa: E402

MODELS = REPO / "models"
SEED = 0
OPSET = 17


def build_model(num_features: int, num_classes: int):
    import torch
    from torch import nn

    class PointNetSmall(nn.Module):
        """Shared per-point MLP (F -> 32 -> 64 -> 128), max-pool over the points, MLP head -> softmax."""

        def __init__(self) -> None:
            super().__init__()
            self.point = nn.Sequential(nn.Linear(num_features, 32), nn.ReLU(), nn.Linear(32, 64), nn.ReLU(),
                                       nn.Linear(64, 128), nn.ReLU())
            self.head = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, num_classes))

        def forward(self, points: torch.Tensor) -> torch.Tensor:  # (B, P, F) -> logits (B, K)
            return self.head(self.point(points).amax(dim=1))

    class WithSoftmax(nn.Module):
        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, points: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.net(points), dim=1)

    net = PointNetSmall()
    return net, WithSoftmax


def augment(x, gen):
    """Mirror the box frame (dx -> -dx, dy -> -dy: a box looks the same from its other end or side)
    and jitter the points by 2 cm."""
    import torch

    b = x.shape[0]
    sx = torch.where(torch.rand(b, 1, generator=gen) < 0.5, -1.0, 1.0)
    sy = torch.where(torch.rand(b, 1, generator=gen) < 0.5, -1.0, 1.0)
    x = x.clone()
    x[:, :, 0] *= sx
    x[:, :, 1] *= sy
    x[:, :, :3] += 0.02 * torch.randn(x[:, :, :3].shape, generator=gen)
    return x


def confusion(labels: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    m = np.zeros((k, k), np.int64)
    np.add.at(m, (labels, pred), 1)
    return m


def write_card(path: Path, classes: tuple[str, ...], meta: dict, cm: np.ndarray, info: dict) -> None:
    per_class = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    precision = cm.diagonal() / np.maximum(cm.sum(axis=0), 1)
    rows = "\n".join(f"| {c} | {int(cm[i].sum())} | {per_class[i]:.3f} | {precision[i]:.3f} |"
                     for i, c in enumerate(classes))
    head = "| true \\ predicted | " + " | ".join(classes) + " |"
    sep = "|---" * (len(classes) + 1) + "|"
    cm_rows = "\n".join(f"| {c} | " + " | ".join(str(int(v)) for v in cm[i]) + " |" for i, c in enumerate(classes))
    tr, va = meta["splits"]["train"], meta["splits"]["val"]
    n_tr, n_va = tr["clusters"] - tr["mixed"], va["clusters"] - va["mixed"]
    per_tr = ", ".join(f"{k} {v}" for k, v in tr["per_class"].items())
    per_va = ", ".join(f"{k} {v}" for k, v in va["per_class"].items())
    text = f"""# point_classifier.onnx: lidar point-set classifier

Classifies each cluster of the lidar pipeline (`lsv_perception.lidar`) into one of
{", ".join(f"`{c}`" for c in classes)} with a score (softmax probability).

## Data

Simulator scans only (no external data set): `tools/lidar_dataset.py` places the ego on random
road lanelets of the built-in district (pitched with the road grade), 2-16 random actors around it
(cars, trucks, pedestrians, cyclists, emergency vehicles, small static obstacles; sizes drawn from
ranges around the simulator's defaults), scans with the simulator's lidar (32 beams x 1800 steps,
`src/sim/config/sensors.param.yaml`, range noise and dropout), runs the lidar pipeline's own
clustering (default `LidarConfig`) and labels every cluster with the class of the object most of
its points hit (`static_obstacle` for the static world: walls, poles, light heads, building
corners). Clusters with less than {meta["min_purity"]:.0%} of their points on one object are not trained on.

| split | scans | labelled clusters | per class |
|---|---|---|---|
| train (4 of 5 road lanelets, seed {meta["seeds"]["train"]}) | {tr["scans"]} | {n_tr} | {per_tr} |
| held-out val (every 5th road lanelet, seed {meta["seeds"]["val"]}) | {va["scans"]} | {n_va} | {per_va} |

The held-out lanelets are places the training scans never visit.

## Training

    make models        # or, after `pip install torch==2.13.0`:
    .venv/bin/python tools/train_point_classifier.py

torch {info["torch"]} on the CPU, {info["threads"]} threads, seed {SEED}; {info["epochs"]} epochs of Adam
(lr {info["lr"]}, batch {info["batch"]}), cross-entropy weighted by 1/sqrt(class frequency), mirror and
2 cm jitter augmentation; each epoch takes every cluster of the road-user classes and {info["bg_per_epoch"]}
`static_obstacle` clusters drawn anew (of {info["bg_total"]}).
Data generation took {info["data_s"]:.0f} s and training {info["train_s"]:.0f} s on
this 2-core machine (shared with other jobs, so these times are noisy); the whole command stays well
under 30 minutes.

## Metrics (held-out split, {int(cm.sum())} clusters)

Accuracy {info["accuracy"]:.3f}; mean per-class accuracy {float(per_class.mean()):.3f}.

| class | clusters | accuracy (recall) | precision |
|---|---|---|---|
{rows}

Confusion matrix (rows: true class, columns: predicted):

{head}
{sep}
{cm_rows}

ONNX Runtime and torch scores agree to {info["max_diff"]:.1e} on the held-out split.

## Input / output

- input `points`: float32 `[batch, {info["num_points"]}, {info["num_features"]}]`: per cluster,
  {info["num_points"]} of its points spread evenly in scan order, each with the features
  `{", ".join(info["features"])}` (box-frame x/y in m, height above the local ground in m,
  intensity / 255, then the cluster's box length, width, height in m, log(points) / 6 and
  range / 50 m repeated on every point); see `lsv_perception/lidar/classifier.py`.
- output `scores`: float32 `[batch, {len(classes)}]` class probabilities in the order of
  `point_classifier.labels` ({", ".join(classes)}).
- ONNX opset {OPSET}, {info["params"]} parameters, {info["size_kb"]:.0f} kB.

## Limits

Trained on simulated boxes: actors in the simulator are boxes, so the network has learnt box
sizes, heights and intensities (reflectivity per class), not real human or vehicle shapes. Real
sensor data needs retraining on labelled real scans.

## Licence

Apache-2.0, like the rest of the repository (weights trained here from simulator data only).
"""
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=lidar_dataset.DEFAULT_OUT, help="dataset folder")
    ap.add_argument("--out", type=Path, default=MODELS, help="where the model, labels and card go")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: deterministic, and the fastest on a "
                                                             "shared 2-core machine)")
    ap.add_argument("--background-per-epoch", type=int, default=3000,
                    help="static_obstacle clusters drawn (anew) for each epoch; the other classes all go in")
    args = ap.parse_args(argv)

    import torch
    from torch import nn

    t_data = time.monotonic()
    if not ((args.data / "train.npz").is_file() and (args.data / "val.npz").is_file()
            and (args.data / "meta.json").is_file()):
        print(f"no dataset in {args.data}: generating it (tools/lidar_dataset.py)", file=sys.stderr)
        lidar_dataset.generate(args.data, 400, 100)
    data_s = time.monotonic() - t_data
    meta = json.loads((args.data / "meta.json").read_text())
    data_s = float(meta.get("generation_s", data_s))  # the data may come from an earlier run
    classes = tuple(meta["classes"])
    with np.load(args.data / "train.npz") as z:
        xtr, ytr = z["features"], z["labels"]
    with np.load(args.data / "val.npz") as z:
        xva, yva = z["features"], z["labels"]
    xtr, ytr = xtr[ytr >= 0], ytr[ytr >= 0]
    xva, yva = xva[yva >= 0], yva[yva >= 0]

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(SEED)
    net, with_softmax = build_model(xtr.shape[2], len(classes))
    bg = np.flatnonzero(ytr == 0)
    fg = np.flatnonzero(ytr != 0)
    n_bg = min(args.background_per_epoch, len(bg))
    freq = np.bincount(ytr, minlength=len(classes)).astype(np.float64)
    freq[0] = n_bg
    weights = 1.0 / np.sqrt(np.maximum(freq, 1.0))
    weights *= len(classes) / weights.sum()
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
    lr, batch = 3e-3, 128
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    xv = torch.from_numpy(xva)

    def predict(x: torch.Tensor) -> np.ndarray:
        net.eval()
        with torch.no_grad():
            return torch.cat([net(x[i:i + 2048]) for i in range(0, len(x), 2048)]).argmax(1).numpy()

    t0 = time.monotonic()
    for epoch in range(args.epochs):
        net.train()
        chosen = torch.from_numpy(np.concatenate([fg, bg[torch.randperm(len(bg), generator=gen)[:n_bg].numpy()]]))
        perm = chosen[torch.randperm(len(chosen), generator=gen)]
        total = 0.0
        for b in range(0, len(perm), batch):
            idx = perm[b:b + batch]
            opt.zero_grad()
            loss = loss_fn(net(augment(xt[idx], gen)), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        acc = float(np.mean(predict(xv) == yva))
        progress("train", epoch + 1, args.epochs, t0, f"loss {total / len(perm):.3f} val acc {acc:.3f}")
    train_s = time.monotonic() - t0

    pred = predict(xv)
    cm = confusion(yva, pred, len(classes))
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "point_classifier.onnx"
    model = with_softmax(net).eval()
    example = torch.from_numpy(xva[:2])
    torch.onnx.export(model, (example,), str(onnx_path), input_names=["points"], output_names=["scores"],
                      dynamic_axes={"points": {0: "batch"}, "scores": {0: "batch"}}, opset_version=OPSET,
                      dynamo=False)
    (args.out / "point_classifier.labels").write_text("\n".join(classes) + "\n")

    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ort_scores = sess.run(None, {"points": xva})[0]
    with torch.no_grad():
        torch_scores = model(torch.from_numpy(xva)).numpy()
    max_diff = float(np.abs(ort_scores - torch_scores).max())
    if max_diff > 1e-4:
        print(f"error: ONNX Runtime and torch disagree by {max_diff}", file=sys.stderr)
        return 1
    from lsv_perception.lidar.classifier import FEATURES

    info = {"torch": torch.__version__, "threads": args.threads, "epochs": args.epochs, "lr": lr, "batch": batch,
            "data_s": data_s, "bg_per_epoch": n_bg, "bg_total": len(bg), "train_s": train_s,
            "accuracy": float(np.mean(pred == yva)), "max_diff": max_diff,
            "num_points": xva.shape[1], "num_features": xva.shape[2], "features": FEATURES,
            "params": sum(p.numel() for p in net.parameters()), "size_kb": onnx_path.stat().st_size / 1024}
    write_card(args.out / "point_classifier.md", classes, meta, cm, info)
    print(json.dumps({"accuracy": round(info["accuracy"], 4),
                      "per_class_accuracy": {c: round(float(cm[i, i] / max(cm[i].sum(), 1)), 4)
                                             for i, c in enumerate(classes)},
                      "train_s": round(train_s, 1), "model": str(onnx_path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
