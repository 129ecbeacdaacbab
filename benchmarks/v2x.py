"""V2X client hot path: UPER decode throughput per message type, receive-path latency, 10-intersection MAP.

    .venv/bin/python benchmarks/v2x.py [--repeat N]

Progress goes to stderr; the last stdout line is one JSON object:
{"name": "v2x", "n": ..., "median_ms": ..., "p95_ms": ...,   # core.receive (decode + checks + store), mixed traffic
 "msgs_per_s": {"bsm": ..., ...}, "decode_p95_ms": {...},      # codec.decode only, per message type
 "map10_bytes": ..., "map10_p95_ms": ..., "outputs_p95_ms": ...}
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from lsv_v2x_client import samples, timeref
from lsv_v2x_client.checks import EgoState
from lsv_v2x_client.codec import Codec
from lsv_v2x_client.core import V2xClientCore
from lsv_v2x_client.params import V2xClientParams, params_from_yaml

MOY = 470_000
MSG_NS = timeref.year_start_ns(2026) + MOY * timeref.MINUTE_NS + 12_000 * timeref.MS


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(fn, data: bytes, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter_ns()
        fn(data)
        out[i] = time.perf_counter_ns() - t0
    return out / 1e6


def params() -> V2xClientParams:
    return params_from_yaml(rate_limit_hz=1e3, rate_burst=1e3)  # measure the work, not the limiter


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2000, help="decodes per message type")
    args = ap.parse_args()
    codec = Codec()
    msgs = {"bsm": samples.bsm_message(), "spat": samples.spat_message(), "rsm": samples.rsm_message(),
            "rsi": samples.rsi_message(), "map1": samples.map_message(1)}
    data = {k: codec.encode(m) for k, m in msgs.items()}
    msgs_per_s, decode_p95 = {}, {}
    for kind, payload in data.items():
        n = args.repeat if kind != "map1" else max(50, args.repeat // 10)
        lat = timed(codec.decode, payload, n)
        msgs_per_s[kind] = round(1e3 / float(lat.mean()), 1)
        decode_p95[kind] = round(float(np.percentile(lat, 95)), 4)
        log(f"decode {kind:5s} {len(payload):5d} B  {msgs_per_s[kind]:9.1f} msg/s  p95 {decode_p95[kind]:.3f} ms")
    map10 = codec.encode(samples.map_message(10))
    lat10 = timed(codec.decode, map10, max(20, args.repeat // 50))
    map10_p95 = float(np.percentile(lat10, 95))
    log(f"decode map10 {len(map10)} B  p95 {map10_p95:.2f} ms  median {float(np.median(lat10)):.2f} ms")

    # receive path: decode + checks + store, a realistic mix at 10 Hz per source (1 MAP per 100)
    core = V2xClientCore(params())
    core.set_ego(EgoState(0.0, -30.0, math.pi / 2, 4.0, MSG_NS))
    core.receive(data["map1"], "127.0.0.1:1", MSG_NS)
    n = args.repeat * 2
    lat = np.empty(n)
    for i in range(n):
        now = MSG_NS + i * 25 * timeref.MS  # each source sends every 100 ms
        since_year = now - timeref.year_start_ns(2026)
        moy, ms = since_year // timeref.MINUTE_NS, since_year % timeref.MINUTE_NS // timeref.MS
        kind = i % 4
        c = (i // 4) % 128
        if kind == 0:
            m = samples.bsm_message(msg_count=c, sec_mark_ms=ms)
        elif kind == 1:
            m = samples.spat_message(msg_count=c, moy=moy, timestamp_ms=ms)
        elif kind == 2:
            m = samples.rsm_message(msg_count=c, sec_mark_ms=ms)
        else:
            m = samples.rsi_message(msg_count=c, moy=moy)
        payload = codec.encode(m)
        core.set_ego(EgoState(0.0, -30.0, math.pi / 2, 4.0, now))
        t0 = time.perf_counter_ns()
        core.receive(payload, "127.0.0.1:1", now)
        lat[i] = (time.perf_counter_ns() - t0) / 1e6
    accepted = sum(core.accepted_counts().values())
    log(f"receive path n={n} median {np.median(lat):.3f} ms p95 {np.percentile(lat, 95):.3f} ms accepted {accepted}")
    out_lat = np.empty(200)
    for i in range(200):
        t0 = time.perf_counter_ns()
        core.outputs(now)
        out_lat[i] = (time.perf_counter_ns() - t0) / 1e6
    log(f"outputs (signals + hints + objects) p95 {np.percentile(out_lat, 95):.3f} ms")
    print(json.dumps({
        "name": "v2x", "n": n, "median_ms": round(float(np.median(lat)), 4),
        "p95_ms": round(float(np.percentile(lat, 95)), 4), "accepted": accepted,
        "msgs_per_s": msgs_per_s, "decode_p95_ms": decode_p95, "map10_bytes": len(map10),
        "map10_p95_ms": round(map10_p95, 3), "map10_median_ms": round(float(np.median(lat10)), 3),
        "outputs_p95_ms": round(float(np.percentile(out_lat, 95)), 4),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
