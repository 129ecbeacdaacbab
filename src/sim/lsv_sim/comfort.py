"""Ride comfort of a run, from its trace (pure numpy; the plot with matplotlib's Agg backend).

``comfort(t, speed, accel, yaw, excluded)`` -> the ``comfort`` object of ``summary.json``:

- longitudinal jerk ``p95`` / ``max`` (m/s^3, absolute): the trace's acceleration averaged over
  ``JERK_WINDOW_S`` (0.1 s moving average) and then differentiated, exactly as ``evaluation``
  computes ``jerk_mps3``, so both figures compare; jerk sample k is (a[k+w] - a[k]) / (w dt);
- longitudinal acceleration ``p95_abs`` (|a|) and ``max_decel`` (m/s^2, the trace's acceleration);
- lateral acceleration ``p95`` / ``max`` (|v * yaw rate|, m/s^2; yaw rate: central differences of the
  unwrapped heading) and lateral jerk ``p95`` / ``max`` (the same 0.1 s smoothing, then differentiated);
- ``stop_and_go_cycles``: standstills (|v| <= ``STANDSTILL_MPS``) lasting at least ``STOP_MIN_S``
  with the vehicle faster than ``GO_SPEED_MPS`` both before and after them (creeping slower than
  that in between does not end the stop); the start from rest and the final stop are not cycles.

Every figure but ``stop_and_go_cycles`` leaves out the ``excluded`` intervals (emergency stops: the
stack in EMERGENCY_STOP, the chassis ECU not in AUTO; see ``lsv_sim.emergency``), widened by
``EXCLUDE_BEFORE_S`` and ``EXCLUDE_AFTER_S``; a jerk sample is left out when either acceleration
sample it is made of is. Percentiles are over the samples in motion (|v| > ``STANDSTILL_MPS`` at
either end of a jerk sample), so long waits do not dilute them; maxima are over all the samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

JERK_WINDOW_S = 0.1  # s; acceleration averaged over this window before differentiating
STANDSTILL_MPS = 0.1  # m/s; slower than this counts as stopped
GO_SPEED_MPS = 0.5  # m/s; faster than this counts as driving (stop-and-go cycles)
STOP_MIN_S = 0.5  # s; a standstill this long or longer is a stop (stop-and-go cycles)
EXCLUDE_BEFORE_S = 0.2  # s; an emergency interval starts this much earlier (the MRM state arrives after the command)
EXCLUDE_AFTER_S = 0.5  # s; ... and ends this much later (the end of the stop and the settling after it)
PERCENTILE = 95.0


@dataclass(frozen=True)
class ExcludedInterval:
    """An emergency stop left out of the comfort figures (simulated time since the start)."""

    start_s: float
    end_s: float | None  # None: still on when the run ended
    cause: str  # e.g. "mrm EMERGENCY_STOP: obstacle in the stopping distance", "chassis ECU mode FAULT"


@dataclass(frozen=True)
class ComfortSeries:
    """The signals the figures come from (also what speed_accel.png draws)."""

    t_s: np.ndarray  # (N,) sample times
    lateral_accel: np.ndarray  # (N,) v * yaw rate, m/s^2
    excluded: np.ndarray  # (N,) bool, sample inside a (widened) excluded interval
    t_jerk_s: np.ndarray  # (M,) time of each jerk sample (the middle of the two samples it is made of)
    jerk: np.ndarray  # (M,) longitudinal jerk, m/s^3
    lateral_jerk: np.ndarray  # (M,) m/s^3
    jerk_excluded: np.ndarray  # (M,) bool
    jerk_moving: np.ndarray  # (M,) bool, in motion at either end


def window_samples(dt: float) -> int:
    """Samples in the ``JERK_WINDOW_S`` moving average at sample period ``dt`` (s)."""
    return max(1, round(JERK_WINDOW_S / dt))


def smoothed_rate(values: np.ndarray, dt: float) -> np.ndarray:
    """Rate of change of ``values`` (N,) sampled every ``dt`` s after a ``JERK_WINDOW_S`` moving
    average: (N - w,) for N >= w (sample k from values[k] and values[k + w]), else plain differences."""
    win = window_samples(dt)
    smooth = np.convolve(values, np.ones(win) / win, mode="valid") if len(values) >= win else values
    return np.diff(smooth) / dt


def excluded_mask(t: np.ndarray, intervals: Sequence[ExcludedInterval]) -> np.ndarray:
    """(N,) bool: samples at times ``t`` inside an interval widened by the margins."""
    mask = np.zeros(len(t), dtype=bool)
    for iv in intervals:
        end = math.inf if iv.end_s is None else iv.end_s
        mask |= (t >= iv.start_s - EXCLUDE_BEFORE_S) & (t <= end + EXCLUDE_AFTER_S)
    return mask


def comfort_series(t: np.ndarray, speed: np.ndarray, accel: np.ndarray, yaw: np.ndarray,
                   intervals: Sequence[ExcludedInterval] = ()) -> ComfortSeries:
    """The comfort signals of a trace: ``t`` (N,) s, ``speed`` (N,) m/s, ``accel`` (N,) m/s^2, ``yaw`` (N,) rad."""
    n = len(t)
    dt = float(np.median(np.diff(t))) if n > 1 else 0.01
    yaw_rate = np.gradient(np.unwrap(yaw), t) if n > 1 else np.zeros(n)
    a_lat = speed * yaw_rate
    jerk = smoothed_rate(accel, dt) if n > 1 else np.zeros(0)
    lat_jerk = smoothed_rate(a_lat, dt) if n > 1 else np.zeros(0)
    lag = window_samples(dt) if n >= window_samples(dt) else 1  # jerk[k] is made of samples k and k + lag
    k = np.arange(len(jerk))
    excluded = excluded_mask(t, intervals)
    moving = np.abs(speed) > STANDSTILL_MPS
    return ComfortSeries(t, a_lat, excluded, 0.5 * (t[k] + t[k + lag]), jerk, lat_jerk,
                         excluded[k] | excluded[k + lag], moving[k] | moving[k + lag])


def stop_and_go_cycles(t: np.ndarray, speed: np.ndarray) -> int:
    """Standstills of at least ``STOP_MIN_S`` with driving (> ``GO_SPEED_MPS``) before and after."""
    still = np.abs(speed) <= STANDSTILL_MPS
    label = np.zeros(len(t), dtype=np.int8)  # 1 driving, 2 in a long standstill, 0 neither
    label[np.abs(speed) > GO_SPEED_MPS] = 1
    edges = np.diff(np.concatenate([[0], still.astype(np.int8), [0]]))
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    for a, b in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True):  # still[a:b]
        if (b - a) * dt >= STOP_MIN_S - 1e-9:  # each sample stands for one period
            label[a:b] = 2
    seq = label[label > 0]
    if len(seq) < 3:
        return 0
    runs = seq[np.concatenate([[True], seq[1:] != seq[:-1]])]  # 1 and 2 alternate
    return int(np.sum(runs[1:-1] == 2))  # a long standstill with driving on both sides


def _r(v: float | None, nd: int = 3) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return round(float(v), nd) + 0.0  # + 0.0: no "-0.0" in the JSON


def _p95(values: np.ndarray) -> float:
    return float(np.percentile(values, PERCENTILE)) if len(values) else 0.0


def _max_at(values: np.ndarray, times: np.ndarray) -> tuple[float, float | None]:
    if not len(values):
        return 0.0, None
    k = int(np.argmax(values))
    return float(values[k]), (float(times[k]) if values[k] > 0.0 else None)


def comfort(t: np.ndarray, speed: np.ndarray, accel: np.ndarray, yaw: np.ndarray,
            intervals: Sequence[ExcludedInterval] = ()) -> dict[str, Any]:
    """The ``comfort`` object of ``summary.json`` (JSON-ready, rounded; see the module docstring)."""
    s = comfort_series(t, speed, accel, yaw, intervals)
    keep = ~s.excluded
    moving = keep & (np.abs(speed) > STANDSTILL_MPS)
    jkeep = ~s.jerk_excluded
    jmove = jkeep & s.jerk_moving
    jerk, lat_jerk, a_lat = np.abs(s.jerk), np.abs(s.lateral_jerk), np.abs(s.lateral_accel)
    jmax, jmax_t = _max_at(jerk[jkeep], s.t_jerk_s[jkeep])
    lmax, lmax_t = _max_at(a_lat[keep], t[keep])
    decel = -accel[keep]
    excluded_s = float(np.sum(s.excluded) * np.median(np.diff(t))) if len(t) > 1 else 0.0
    return {
        "longitudinal_jerk_mps3": {"p95": _r(_p95(jerk[jmove])), "max": _r(jmax), "max_t_s": _r(jmax_t, 2)},
        "longitudinal_accel_mps2": {"p95_abs": _r(_p95(np.abs(accel[moving]))),
                                    "max_decel": _r(max(float(decel.max()), 0.0) if len(decel) else 0.0)},
        "lateral_accel_mps2": {"p95": _r(_p95(a_lat[moving])), "max": _r(lmax), "max_t_s": _r(lmax_t, 2)},
        "lateral_jerk_mps3": {"p95": _r(_p95(lat_jerk[jmove])), "max": _r(float(lat_jerk[jkeep].max())
                                                                          if jkeep.any() else 0.0)},
        "stop_and_go_cycles": stop_and_go_cycles(t, speed),
        "excluded": [{"start_s": _r(iv.start_s), "end_s": _r(iv.end_s), "cause": iv.cause} for iv in intervals],
        "excluded_s": _r(excluded_s, 2),
        "jerk_window_s": JERK_WINDOW_S,
        "exclusion_margins_s": {"before": EXCLUDE_BEFORE_S, "after": EXCLUDE_AFTER_S},
    }


def intervals_of(summary: dict[str, Any]) -> list[ExcludedInterval]:
    """The excluded intervals back from a summary's ``comfort`` object."""
    return [ExcludedInterval(e["start_s"], e["end_s"], e["cause"])
            for e in (summary.get("comfort") or {}).get("excluded", [])]


def table_rows(c: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows of the console summary table."""
    lj, la = c["longitudinal_jerk_mps3"], c["longitudinal_accel_mps2"]
    ya, yj = c["lateral_accel_mps2"], c["lateral_jerk_mps3"]
    n = len(c["excluded"])
    out = "" if not n else f"; {n} emergency interval(s), {c['excluded_s']:.1f} s left out"
    return [("comfort jerk max", f"{lj['max']:.2f} m/s^3",
             f"p95 {lj['p95']:.2f}" + ("" if lj["max_t_s"] is None else f", max at {lj['max_t_s']:.1f} s") + out),
            ("comfort accel p95 |a|", f"{la['p95_abs']:.2f} m/s^2", f"max decel {la['max_decel']:.2f} m/s^2"),
            ("lateral accel max", f"{ya['max']:.2f} m/s^2", f"p95 {ya['p95']:.2f}"),
            ("lateral jerk max", f"{yj['max']:.2f} m/s^3", f"p95 {yj['p95']:.2f}"),
            ("stop-and-go cycles", str(c["stop_and_go_cycles"]), "")]


def plot_speed_accel(path: Path, t: np.ndarray, speed: np.ndarray, accel: np.ndarray, yaw: np.ndarray,
                     intervals: Sequence[ExcludedInterval]) -> None:
    """speed_accel.png: speed; longitudinal and lateral acceleration; their smoothed jerk; the excluded
    (emergency) intervals shaded on every panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = comfort_series(t, speed, accel, yaw, intervals)
    fig, axs = plt.subplots(3, 1, figsize=(9, 7), dpi=100, sharex=True)
    axs[0].plot(t, speed)
    axs[0].set_ylabel("speed [m/s]")
    axs[1].plot(t, accel, label="longitudinal")
    axs[1].plot(t, s.lateral_accel, lw=0.8, label="lateral (v * yaw rate)")
    axs[1].set_ylabel("accel [m/s^2]")
    axs[2].plot(s.t_jerk_s, s.jerk, lw=0.6, label="longitudinal")
    axs[2].plot(s.t_jerk_s, s.lateral_jerk, lw=0.6, label="lateral")
    axs[2].set_ylabel(f"jerk ({JERK_WINDOW_S:g} s avg) [m/s^3]")
    axs[2].set_xlabel("time [s]")
    t_end = float(t[-1]) if len(t) else 0.0
    for iv in intervals:
        end = t_end if iv.end_s is None else iv.end_s
        for a in axs:
            a.axvspan(iv.start_s - EXCLUDE_BEFORE_S, end + EXCLUDE_AFTER_S, color="red", alpha=0.12, lw=0)
    if intervals:
        axs[0].annotate("shaded: emergency stop, left out of the comfort figures", (0.01, 0.9),
                        xycoords="axes fraction", fontsize=7, color="darkred")
    for a in axs:
        a.grid(alpha=0.3)
    axs[1].legend(fontsize=7, loc="best")
    axs[2].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
