"""Ride comfort in the reports of ``lsv sim`` and ``lsv suite`` (pure; no rclpy).

The figures come from the ``comfort`` object of a run's ``summary.json`` (``lsv_sim.comfort``):
longitudinal jerk outside emergency stops (the 0.1 s averaged acceleration, differentiated),
lateral acceleration (v * yaw rate), stop-and-go cycles, and how much of the run was left out
as emergency stops (the stack in EMERGENCY_STOP, the chassis ECU out of AUTO, with margins).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def comfort_row(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The comfort figures of one run for ``suite.json`` (None without a summary or its comfort object)."""
    c = (summary or {}).get("comfort")
    if not c:
        return None
    return {"jerk_max_mps3": c["longitudinal_jerk_mps3"]["max"], "jerk_p95_mps3": c["longitudinal_jerk_mps3"]["p95"],
            "jerk_max_t_s": c["longitudinal_jerk_mps3"]["max_t_s"],
            "accel_p95_mps2": c["longitudinal_accel_mps2"]["p95_abs"],
            "decel_max_mps2": c["longitudinal_accel_mps2"]["max_decel"],
            "lateral_accel_max_mps2": c["lateral_accel_mps2"]["max"],
            "lateral_accel_p95_mps2": c["lateral_accel_mps2"]["p95"],
            "lateral_jerk_max_mps3": c["lateral_jerk_mps3"]["max"],
            "stop_and_go_cycles": c["stop_and_go_cycles"],
            "emergency_intervals": len(c["excluded"]), "emergency_excluded_s": c["excluded_s"]}


def _f(v: Any, nd: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def suite_lines(rows: list[dict[str, Any]], report: Path) -> list[str]:
    """The ``## Comfort`` section of the suite's report.md: one line per run with a comfort object."""
    rows = [r for r in rows if r.get("comfort")]
    if not rows:
        return []
    lines = ["", "## Comfort", "",
             "Outside emergency stops (the stack in EMERGENCY_STOP or the chassis ECU out of AUTO, with margins): "
             "longitudinal jerk of the averaged acceleration, lateral acceleration v * yaw rate, stop-and-go "
             "cycles; definitions in `lsv_sim.comfort` (src/sim/README.md, \"Ride comfort\").", "",
             "| scenario | seed | jerk max (m/s^3) | at (s) | jerk p95 | max decel (m/s^2) | lateral accel max "
             "(m/s^2) | lateral p95 | stop-and-go | emergency left out (s) | speed plot |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c = r["comfort"]
        rel = os.path.relpath(r["folder"], report)
        plot = f"[speed_accel]({rel}/speed_accel.png)" if Path(r["folder"], "speed_accel.png").exists() else ""
        lines.append(f"| {r['scenario']} | {r['seed']} | {_f(c['jerk_max_mps3'])} | {_f(c['jerk_max_t_s'], 1)} | "
                     f"{_f(c['jerk_p95_mps3'])} | {_f(c['decel_max_mps2'])} | {_f(c['lateral_accel_max_mps2'])} | "
                     f"{_f(c['lateral_accel_p95_mps2'])} | {c['stop_and_go_cycles']} | "
                     f"{_f(c['emergency_excluded_s'], 1)} | {plot} |")
    return lines


def run_lines(summary_path: Path) -> list[str]:
    """The ``## Ride comfort`` section of ``lsv sim``'s report.md (empty without a readable summary)."""
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError):
        return []
    c = comfort_row(summary)
    if c is None:
        return []
    check = next((k for k in summary.get("checks", []) if k.get("name") == "max_comfort_jerk_mps3"), None)
    verdict = "not judged" if check is None else (
        f"{'pass' if check['passed'] else 'FAIL'} (limit {check['limit']} m/s^3)")
    raw = summary["comfort"]
    margins = raw.get("exclusion_margins_s") or {}
    return ["", "## Ride comfort", "",
            f"Scenario `{summary.get('scenario')}`, outside emergency stops "
            f"({c['emergency_intervals']} interval(s), widened by {margins.get('before')} s before and "
            f"{margins.get('after')} s after: {_f(c['emergency_excluded_s'], 1)} s left out); jerk of the "
            f"acceleration averaged over {raw.get('jerk_window_s')} s; plot: [speed_accel.png](speed_accel.png).", "",
            "| figure | value |", "|---|---|",
            f"| longitudinal jerk max (m/s^3), max_comfort_jerk_mps3: {verdict} | {_f(c['jerk_max_mps3'])} "
            f"at {_f(c['jerk_max_t_s'], 1)} s |",
            f"| longitudinal jerk p95 (m/s^3) | {_f(c['jerk_p95_mps3'])} |",
            f"| longitudinal acceleration p95 abs / max deceleration (m/s^2) | {_f(c['accel_p95_mps2'])} / "
            f"{_f(c['decel_max_mps2'])} |",
            f"| lateral acceleration max / p95 (m/s^2) | {_f(c['lateral_accel_max_mps2'])} / "
            f"{_f(c['lateral_accel_p95_mps2'])} |",
            f"| lateral jerk max (m/s^3) | {_f(c['lateral_jerk_max_mps3'])} |",
            f"| stop-and-go cycles | {c['stop_and_go_cycles']} |"]
