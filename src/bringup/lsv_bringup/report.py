"""Run reports: what ran, for how long, which node published and subscribed to what, what flowed,
how much CPU each node took, what the nodes said about their health (and, for ``lsv sim``, the
scenario's ride comfort from the simulator's summary.json in the same folder)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from lsv_bringup.comfort_report import run_lines
from lsv_bringup.graph_monitor import LEVELS, GraphSnapshot, TopicStats
from lsv_bringup.supervisor import own_cpu

LAUNCHER = "launcher (lsv)"  # the CPU table's row of the launcher process itself


def topic_entry(s: TopicStats) -> dict[str, Any]:
    """report.json's entry of one topic; messages, rate_hz and bytes are None when not counted."""
    counted = not s.not_counted
    return {"type": s.type_name, "publishers": sorted(s.publishers), "subscribers": sorted(s.subscribers),
            "messages": s.count if counted else None, "rate_hz": round(s.rate_hz(), 2) if counted else None,
            "bytes": s.bytes if counted else None, "not_counted": s.not_counted or None}


def cpu_figures(nodes: list[dict], launcher_cpu: tuple[float, float | None]) -> dict[str, Any]:
    """report.json's CPU section from the supervisor's summary (cpu_s, wall_s per node) and the
    launcher's (CPU s, wall s). core_share: CPU s / wall s alive (1.0 = one core all the time);
    graph_share: of the total, which is every node plus the launcher; the total's core_share is
    over the launcher's lifetime (which spans every node's): the cores the whole graph used."""
    rows = {n["node"]: (n["cpu_s"], n["wall_s"]) for n in nodes if n.get("cpu_s") is not None}
    rows[LAUNCHER] = launcher_cpu
    total_cpu = sum(cpu for cpu, _ in rows.values())
    total_wall = launcher_cpu[1] if launcher_cpu[1] is not None else max((w or 0.0 for _, w in rows.values()),
                                                                          default=0.0)

    def entry(cpu: float, wall: float | None) -> dict[str, Any]:
        return {"cpu_s": round(cpu, 2), "wall_s": None if wall is None else round(wall, 2),
                "core_share": round(cpu / wall, 3) if wall else None,
                "graph_share": round(cpu / total_cpu, 3) if total_cpu > 0 else None}

    launcher = entry(*rows.pop(LAUNCHER))
    total = entry(total_cpu, total_wall)
    del total["graph_share"]
    return {"nodes": {name: entry(*row) for name, row in sorted(rows.items(), key=lambda kv: -kv[1][0])},
            "launcher": launcher, "total": total}


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f} %"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _nodes_cell(names: list[str]) -> str:
    return ", ".join(names) if names else "-"


def topic_lines(topics: dict[str, dict]) -> list[str]:
    lines = ["## Topics", "", "Publishers and subscribers: every node seen on the topic during the run. Image, "
             "point cloud and compressed image messages are counted only with `--topic-stats`.", "",
             "| topic | type | publishers | subscribers | messages | rate (Hz) |", "|---|---|---|---|---|---|"]
    for name, t in topics.items():
        if t["not_counted"]:
            count = rate = f"not counted ({t['not_counted']})"
        else:
            count, rate = t["messages"], t["rate_hz"]
        lines.append(f"| {name} | {t['type']} | {_nodes_cell(t['publishers'])} | {_nodes_cell(t['subscribers'])} "
                     f"| {count} | {rate} |")
    return lines


def cpu_lines(cpu: dict[str, Any]) -> list[str]:
    lines = ["## CPU", "", "CPU time (user + system, all threads and waited-for child processes) of each node "
             "process over its life, start-up included; share of one core = CPU s / wall s alive; share of the "
             "graph = of the total (every node and the launcher).", "",
             "| node | CPU s | wall s | share of one core | share of the graph |", "|---|---|---|---|---|"]
    for name, c in [*cpu["nodes"].items(), (LAUNCHER, cpu["launcher"])]:
        lines.append(f"| {name} | {c['cpu_s']:.2f} | {_seconds(c['wall_s'])} | {_percent(c['core_share'])} | "
                     f"{_percent(c['graph_share'])} |")
    t = cpu["total"]
    cores = "-" if t["core_share"] is None else f"{t['core_share']:.2f} cores"
    lines.append(f"| total | {t['cpu_s']:.2f} | {_seconds(t['wall_s'])} | {cores} | 100 % |")
    return lines


PERCEPTION_TEXT = {"stack": "the stack's own sensors, detectors and tracker",
                   "oracle": "ground truth given to the planner and the controller (--oracle), comparison only"}


def scenario_lines(summary_path: Path) -> list[str]:
    """``lsv sim``: the scenario's verdict and what the planner and the controller saw (none without a summary)."""
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError):
        return []
    mode = summary.get("perception", "?")
    return [f"- scenario `{summary.get('scenario')}`: {'PASS' if summary.get('passed') else 'FAIL'}; "
            f"perception: {mode} ({PERCEPTION_TEXT.get(mode, 'unknown')})"]


def write_report(out_dir: Path, launch_file: Path, duration_s: float, exit_status: int,
                 nodes: list[dict], snapshot: GraphSnapshot | None, shutdown_s: float | None,
                 launcher_cpu: tuple[float, float | None] | None = None) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``; return both paths. ``nodes``:
    ``Supervisor.summary()``; ``launcher_cpu``: (CPU s, wall s) of the launcher, default this process's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    topics = {}
    diagnostics = {}
    if snapshot is not None:
        topics = {name: topic_entry(s) for name, s in sorted(snapshot.topics.items())}
        diagnostics = {name: {"worst": LEVELS.get(d.worst_level, str(d.worst_level)),
                              "worst_message": d.worst_message,
                              "last": LEVELS.get(d.last_level, str(d.last_level)), "last_message": d.last_message,
                              "updates": d.updates} for name, d in sorted(snapshot.diagnostics.items())}
    cpu = cpu_figures(nodes, own_cpu() if launcher_cpu is None else launcher_cpu)
    data = {
        "launch_file": str(launch_file),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(duration_s, 2),
        "exit_status": exit_status,
        "shutdown_s": None if shutdown_s is None else round(shutdown_s, 2),
        "nodes": nodes,
        "graph_nodes": snapshot.nodes if snapshot else [],
        "topics": topics,
        "cpu": cpu,
        "diagnostics": diagnostics,
    }
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")

    lines = [f"# Run report: {launch_file.name}", "",
             f"- finished: {data['finished_at']}, ran {data['duration_s']} s, exit status {exit_status}, "
             f"shutdown took {data['shutdown_s']} s", *scenario_lines(out_dir / "summary.json"), "", "## Nodes", "",
             "| node | package/executable | starts | exit codes | failed | log |", "|---|---|---|---|---|---|"]
    for n in nodes:
        lines.append(f"| {n['node']} | {n['package']}/{n['executable']} | {n['starts']} | "
                     f"{n['exit_codes']} | {'yes' if n['failed'] else 'no'} | {n['log']} |")
    lines += ["", *topic_lines(topics), "", *cpu_lines(cpu)]
    lines += ["", "## Diagnostics", "", "| status | worst | worst message | last |", "|---|---|---|---|"]
    for name, d in diagnostics.items():
        lines.append(f"| {name} | {d['worst']} | {d['worst_message']} | {d['last']} |")
    lines += run_lines(out_dir / "summary.json")  # lsv sim: the scenario's ride comfort
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
