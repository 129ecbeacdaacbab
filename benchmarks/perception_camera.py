"""Camera detector hot path: 640 x 480 RGB frame -> detections (letterbox, ONNX Runtime inference of
the committed ``models/camera_detector.onnx``, YOLOv8 decoding, class-wise NMS, boxes back to the
image), i.e. ``CameraDetector.detect`` as the node calls it, with 1 and 2 ONNX Runtime threads.

Frames: the held-out simulator frames in ``tests/data/perception/camera`` (cycled), so the number of
candidates reaching NMS is realistic. Per configuration: ``--warmup`` calls, then ``--frames``
timed calls; median / p95 / max wall time in ms, and the mean split into preprocess / inference /
postprocess; ``cpu_*``: CPU time of the process per call (all its threads), which other jobs on a
shared machine inflate far less than the wall time.
The last line's ``median_ms`` / ``p95_ms`` are those of the single-thread configuration (the node's
default, ``intra_op_threads: 1``).

    .venv/bin/python benchmarks/perception_camera.py [--frames 200] [--warmup 20]

Prints progress on stderr and one JSON object as the last line of stdout. On a shared machine the
figures are noisy: compare runs made at the same time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from lsv_perception.camera.detector import CameraDetector, DetectorConfig

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "perception" / "camera"


def load_frames() -> list[np.ndarray]:
    import cv2

    frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(DATA.glob("*.jpg"))]
    if not frames:
        sys.exit(f"no frames in {DATA}: run tools/camera_dataset.py --export-test {DATA}")
    return frames


def measure(threads: int, frames: list[np.ndarray], n: int, warmup: int) -> dict:
    det = CameraDetector(DetectorConfig(intra_op_threads=threads, providers=("CPUExecutionProvider",)))
    for i in range(warmup):
        det.detect(frames[i % len(frames)])
    times, cpu, parts, counts = [], [], {"preprocess": [], "inference": [], "postprocess": []}, []
    for i in range(n):
        frame = frames[i % len(frames)]
        c0 = time.process_time()
        t0 = time.perf_counter()
        dets = det.detect(frame)
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        counts.append(len(dets))
        for k, v in det.last_timing_ms.items():
            parts[k].append(v)
        if i % 50 == 49:
            print(f"threads {threads}: {i + 1}/{n}", file=sys.stderr)
    t, c = np.asarray(times), np.asarray(cpu)
    return {"median_ms": float(np.median(t)), "p95_ms": float(np.percentile(t, 95)), "max_ms": float(t.max()),
            "cpu_median_ms": float(np.median(c)), "cpu_p95_ms": float(np.percentile(c, 95)),
            **{f"{k}_mean_ms": float(np.mean(v)) for k, v in parts.items()},
            "detections_mean": float(np.mean(counts)), "input": f"{det.input_w}x{det.input_h}"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args(argv)
    frames = load_frames()
    one = measure(1, frames, args.frames, args.warmup)
    two = measure(2, frames, args.frames, args.warmup)
    result = {"name": "perception_camera", "n": args.frames, "image": "640x480", "median_ms": one["median_ms"],
              "p95_ms": one["p95_ms"], "threads_1": one, "threads_2": two, "target_p95_ms": 50.0}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
