"""V2X flood: what 2 000 datagrams/s of valid and invalid traffic cost the stack.

    .venv/bin/python benchmarks/v2x_flood.py [--seconds 10] [--rate 2000] [--realtime-priority 0]

1. In-process: one second of the flood mix (below) through ``V2xClientCore``, once with the
   configured admission limits (rate limits and sizes before decoding, MAP cache) and once with
   them lifted (every datagram decoded: what the client cost before the limits moved in front
   of the decoder). Per-datagram time, CPU seconds per second of flood, drops by reason.
2. Processes: the ``v2x_client`` node (default config, its own process) receives over loopback
   UDP a road-side unit at 10 Hz (SPaT, RSM; MAP and RSI every second) for ``--seconds``, then
   the same plus the flood at ``--rate`` datagrams/s from 4 source ports, for ``--seconds``.
   Meanwhile a 50 Hz ``FixedRateLoop`` like the controller's runs in this process with a busy
   process on the other core (``harness.loop_under_load``). Reported for both phases: the
   v2x_client process's CPU share (its user + system time / wall time, from /proc) and the
   loop's period jitter.

The flood mix, every 100 ms: 60 BSMs (new vehicle ids), 20 SPaT, 20 RSM, 10 RSI, 10 MAPs of 10
intersections (4.5 kB, 10 variants), and invalid: 30 random datagrams of 50-1000 bytes, 10 of
16 000 bytes that start like a MAP, 10 bit-flipped MAPs, 10 truncated SPaT, 10 later-version
frames, 10 "BSM"s padded to 5 kB. No odometry is sent: BSM, RSM and RSI are decoded, then
dropped as no_ego_pose (the decode is the cost).

Progress on stderr; the last stdout line is one JSON object:
{"name": "v2x_flood", "n": ..., "median_ms": ..., "p95_ms": ...,  # core, per datagram of the flood mix
 "core_cpu_share": ..., "core_cpu_share_unlimited": ...,  # core s per s of flood: limits / all decoded
 "cpu_share_idle": ..., "cpu_share_flood": ...,  # the v2x_client process: RSU only / RSU + flood
 "jitter_p99_ms_idle": ..., "jitter_p99_ms_flood": ..., ...}  # the 50 Hz loop
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import loop_under_load

from lsv_common.testing import start_node
from lsv_sim.rsu import SimulatedRsu, time_fields
from lsv_v2x_client import samples
from lsv_v2x_client.codec import Codec
from lsv_v2x_client.core import V2xClientCore
from lsv_v2x_client.params import default_param_file, params_from_yaml

NS = 1_000_000_000
SLOT_S = 0.1  # s, one slot of the mix
UNLIMITED = {"source_rate_hz": 1e5, "source_burst": 1e5, "total_rate_hz": 1e5, "total_burst": 1e5,
             "decode_budget_bytes_per_s": 1e8, "decode_budget_burst_bytes": 1e8}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class FloodMix:
    """The datagrams of one 100 ms slot at UTC ``now_ns`` (valid ones fresh), 200 per slot."""

    def __init__(self, seed: int = 1):
        self.codec = Codec()
        self.rng = np.random.default_rng(seed)
        self.maps = [self.codec.encode(samples.map_message(10, msg_count=k)) for k in range(10)]
        self.slot = 0

    def slot_datagrams(self, now_ns: int) -> list[bytes]:
        c, rng = self.codec, self.rng
        moy, ms = time_fields(now_ns)
        k = self.slot
        self.slot += 1
        out = []
        for i in range(60):
            bsm = dataclasses.replace(samples.bsm_message(msg_count=(k + i) % 128, sec_mark_ms=ms),
                                      vehicle_id=f"F{(k * 60 + i) % 10**7:07d}".encode())
            out.append(c.encode(bsm))
        spat = c.encode(samples.spat_message(msg_count=k % 128, moy=moy, timestamp_ms=ms))
        rsm = c.encode(samples.rsm_message(msg_count=k % 128, sec_mark_ms=ms))
        rsi = c.encode(samples.rsi_message(msg_count=k % 128, moy=moy))
        out += [spat] * 20 + [rsm] * 20 + [rsi] * 10 + self.maps
        for _ in range(30):
            out.append(rng.integers(0, 256, int(rng.integers(50, 1000)), dtype=np.uint8).tobytes())
        for _ in range(10):
            out.append(self.maps[0][:1] + rng.integers(0, 256, 15_999, dtype=np.uint8).tobytes())
        for m in self.maps:
            flipped = bytearray(m)
            flipped[int(rng.integers(1, len(m)))] ^= 0xFF
            out.append(bytes(flipped))
        out += [spat[: int(rng.integers(1, len(spat)))] for _ in range(10)]
        out += [b"\x85" + bytes([len(spat)]) + spat for _ in range(10)]
        out += [out[0] + bytes(5000) for _ in range(10)]
        order = rng.permutation(len(out))
        return [out[i] for i in order]


def bench_core(seconds: float = 1.0) -> tuple[dict, dict]:
    """The flood mix through the core for ``seconds`` of simulated time: configured limits and none."""
    mix = FloodMix()
    t0 = time.time_ns()
    slots = [(t0 + int(k * SLOT_S * NS), mix.slot_datagrams(t0 + int(k * SLOT_S * NS)))
             for k in range(round(seconds / SLOT_S))]
    result = {}
    for label, changes in (("limits", {}), ("unlimited", UNLIMITED)):
        core = V2xClientCore(params_from_yaml(**changes))
        lat = []
        for start, datagrams in slots:
            for i, d in enumerate(datagrams):
                now = start + int(i * SLOT_S * NS / len(datagrams))
                c0 = time.perf_counter_ns()
                core.receive(d, f"10.9.9.9:{4000 + i % 4}", now)
                lat.append((time.perf_counter_ns() - c0) / 1e6)
        lat_a = np.asarray(lat)
        drops = {k.removeprefix("dropped."): v for k, v in core.drop_counts().items()
                 if v and k.startswith("dropped.")}
        result[label] = {"n": len(lat_a), "median_ms": float(np.median(lat_a)),
                         "p95_ms": float(np.percentile(lat_a, 95)), "cpu_share": float(lat_a.sum()) / 1e3 / seconds,
                         "decoded": core.decoded, "map_cache_hits": core.map_cache_hits, "drops": drops}
        log(f"core, {label}: {len(lat_a)} datagrams, median {result[label]['median_ms']:.4f} ms, p95 "
            f"{result[label]['p95_ms']:.4f} ms, {result[label]['cpu_share']:.3f} s per s, decoded {core.decoded}, "
            f"drops {drops}")
    return result["limits"], result["unlimited"]


def _sender(port: int, rate: float, flood_on, stop, counts) -> None:
    """A road-side unit at 10 Hz from one socket; while ``flood_on`` is set, the flood at ``rate``/s from
    4 more. Runs in its own process (on this machine: its CPU is not the stack's, but it shares the cores)."""
    rsu, codec, mix = SimulatedRsu(), Codec(), FloodMix(seed=2)
    rsu_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flooders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
    next_slot = time.monotonic()
    per_slot = max(1, round(rate * SLOT_S))
    while not stop.is_set():
        now_ns = time.time_ns()
        for msg in rsu.messages(now_ns):
            rsu_sock.sendto(codec.encode(msg), ("127.0.0.1", port))
        if flood_on.is_set():
            datagrams = mix.slot_datagrams(now_ns)
            datagrams = (datagrams * (per_slot // len(datagrams) + 1))[:per_slot]
            for batch in range(10):  # spread over the slot in 10 ms batches
                time.sleep(max(0.0, next_slot + batch * SLOT_S / 10 - time.monotonic()))
                for i, d in enumerate(datagrams[batch::10]):
                    try:
                        flooders[i % 4].sendto(d, ("127.0.0.1", port))
                        counts[0] += 1
                    except OSError:  # the receiver's buffer is full: dropped by the kernel, as it would be
                        counts[1] += 1
        next_slot += SLOT_S
        time.sleep(max(0.0, next_slot - time.monotonic()))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_processes(seconds: float, rate: float, priority: int) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as logs:
        node = start_node("lsv_v2x_client.client_node", name="v2x_client", params_file=default_param_file(),
                          params={"port": port}, log_dir=logs)
        try:
            deadline = time.monotonic() + 60.0
            while "receiving" not in node.log() and time.monotonic() < deadline and node.alive():
                time.sleep(0.2)
            if "receiving" not in node.log():
                raise RuntimeError("v2x_client did not start:\n" + node.log()[-2000:])
            counts = multiprocessing.Array("q", 2)
            flood_on, stop = multiprocessing.Event(), multiprocessing.Event()
            sender = multiprocessing.Process(target=_sender, args=(port, rate, flood_on, stop, counts), daemon=True)
            sender.start()
            time.sleep(2.0)  # the RSU's first MAP and SPaT
            work = np.random.default_rng(0).standard_normal((64, 64))

            def step(now_ns: int) -> None:  # a controller cycle's worth of small numpy work
                float(np.linalg.norm(work @ work))

            out = {}
            for phase in ("idle", "flood"):
                if phase == "flood":
                    flood_on.set()
                    time.sleep(0.5)  # the flood under way before measuring
                c0, s0, w0 = cpu_seconds(node.pid), cpu_seconds(sender.pid), time.monotonic()
                loop = loop_under_load(step, 0.020, seconds, priority, name=f"bench-loop-{phase}")
                wall = time.monotonic() - w0
                share, sender_share = (cpu_seconds(node.pid) - c0) / wall, (cpu_seconds(sender.pid) - s0) / wall
                out[phase] = {"cpu_share": round(share, 4), "sender_cpu_share": round(sender_share, 4), **loop}
                log(f"{phase}: v2x_client CPU share {share:.3f} (sender {sender_share:.3f}), loop {loop}")
            stop.set()
            sender.join(10.0)
            out["sent"], out["send_errors"] = int(counts[0]), int(counts[1])
            out["alive"] = node.alive()
            return out
        finally:
            node.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each phase (RSU only, RSU + flood)")
    ap.add_argument("--rate", type=float, default=2000.0, help="flood datagrams per second")
    ap.add_argument("--realtime-priority", type=int, default=0, help="SCHED_FIFO priority of the loop (0 = normal)")
    args = ap.parse_args()
    limits, unlimited = bench_core()
    proc = bench_processes(args.seconds, args.rate, args.realtime_priority)
    idle, flood = proc["idle"], proc["flood"]
    print(json.dumps({
        "name": "v2x_flood", "n": limits["n"], "median_ms": round(limits["median_ms"], 4),
        "p95_ms": round(limits["p95_ms"], 4),
        "core_cpu_share": round(limits["cpu_share"], 4), "core_cpu_share_unlimited": round(unlimited["cpu_share"], 4),
        "core_decoded": limits["decoded"], "core_decoded_unlimited": unlimited["decoded"],
        "core_map_cache_hits": limits["map_cache_hits"], "core_drops": limits["drops"],
        "flood_rate_hz": args.rate, "seconds": args.seconds, "flood_sent": proc["sent"],
        "cpu_share_idle": idle["cpu_share"], "cpu_share_flood": flood["cpu_share"],
        "sender_cpu_share_flood": flood["sender_cpu_share"],
        "jitter_p99_ms_idle": round(idle["jitter_p99_ms"], 3), "jitter_p99_ms_flood": round(flood["jitter_p99_ms"], 3),
        "jitter_max_ms_idle": round(idle["jitter_max_ms"], 3), "jitter_max_ms_flood": round(flood["jitter_max_ms"], 3),
        "overruns_idle": idle["overruns"], "overruns_flood": flood["overruns"], "loop_realtime": flood["realtime"],
        "client_alive": proc["alive"],
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
