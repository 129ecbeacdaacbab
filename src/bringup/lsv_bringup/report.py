"""Run reports: what ran, for how long, what flowed, what the nodes said about their health (and,
for ``lsv sim``, the scenario's ride comfort from the simulator's summary.json in the same folder)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from lsv_bringup.comfort_report import run_lines
from lsv_bringup.graph_monitor import LEVELS, GraphSnapshot


def write_report(out_dir: Path, launch_file: Path, duration_s: float, exit_status: int,
                 nodes: list[dict], snapshot: GraphSnapshot | None, shutdown_s: float | None) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    topics = {}
    diagnostics = {}
    if snapshot is not None:
        topics = {name: {"type": s.type_name, "messages": s.count, "rate_hz": round(s.rate_hz(), 2),
                         "bytes": s.bytes} for name, s in sorted(snapshot.topics.items())}
        diagnostics = {name: {"worst": LEVELS.get(d.worst_level, str(d.worst_level)),
                              "worst_message": d.worst_message,
                              "last": LEVELS.get(d.last_level, str(d.last_level)), "last_message": d.last_message,
                              "updates": d.updates} for name, d in sorted(snapshot.diagnostics.items())}
    data = {
        "launch_file": str(launch_file),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(duration_s, 2),
        "exit_status": exit_status,
        "shutdown_s": None if shutdown_s is None else round(shutdown_s, 2),
        "nodes": nodes,
        "graph_nodes": snapshot.nodes if snapshot else [],
        "topics": topics,
        "diagnostics": diagnostics,
    }
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")

    lines = [f"# Run report: {launch_file.name}", "",
             f"- finished: {data['finished_at']}, ran {data['duration_s']} s, exit status {exit_status}, "
             f"shutdown took {data['shutdown_s']} s", "", "## Nodes", "",
             "| node | package/executable | starts | exit codes | failed | log |", "|---|---|---|---|---|---|"]
    for n in nodes:
        lines.append(f"| {n['node']} | {n['package']}/{n['executable']} | {n['starts']} | "
                     f"{n['exit_codes']} | {'yes' if n['failed'] else 'no'} | {n['log']} |")
    lines += ["", "## Topics", "", "| topic | type | messages | rate (Hz) |", "|---|---|---|---|"]
    for name, t in topics.items():
        lines.append(f"| {name} | {t['type']} | {t['messages']} | {t['rate_hz']} |")
    lines += ["", "## Diagnostics", "", "| status | worst | worst message | last |", "|---|---|---|---|"]
    for name, d in diagnostics.items():
        lines.append(f"| {name} | {d['worst']} | {d['worst_message']} | {d['last']} |")
    lines += run_lines(out_dir / "summary.json")  # lsv sim: the scenario's ride comfort
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
