"""Supervisor tests with small stand-in processes (no ROS): start, report deaths, respawn,
stop everything within 5 s even when a process ignores SIGINT."""

import io
import sys
import time
from pathlib import Path

import pytest

from lsv_bringup.launch_file import LaunchPlan, NodeSpec
from lsv_bringup.packages import Executable
from lsv_bringup.supervisor import Supervisor

BEHAVIOURS = {
    # runs until SIGINT, then exits 0 like a well-behaved node
    "good": "import signal, time\nstop = []\nsignal.signal(signal.SIGINT, lambda *a: stop.append(1))\n"
            "print('up', flush=True)\nwhile not stop: time.sleep(0.01)\nprint('bye', flush=True)\n",
    # dies on its own with status 3
    "crash": "import sys, time\ntime.sleep(0.2)\nprint('boom', flush=True)\nsys.exit(3)\n",
    # ignores SIGINT (a hung node); only SIGTERM/SIGKILL stop it
    "stubborn": "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('ready', flush=True)\n"
                "while True: time.sleep(0.01)\n",
    # a simulator that finishes its scenario (0) or fails (3) after a while
    "done_later": "import time\ntime.sleep(2.0)\n",
    "crash_later": "import sys, time\ntime.sleep(2.0)\nsys.exit(3)\n",
    # refuses its configuration (lsv_common's EXIT_CONFIG_ERROR)
    "bad_config": "import sys\nprint('error: bad parameter', flush=True)\nsys.exit(2)\n",
    # finishes its job and exits 0
    "oneshot": "print('done', flush=True)\n",
}


def node(tmp_path: Path, behaviour: str, name: str, **kw) -> NodeSpec:
    script = tmp_path / f"{behaviour}.py"
    script.write_text(f"#!{sys.executable}\n" + BEHAVIOURS[behaviour])
    script.chmod(0o755)
    return NodeSpec("test_pkg", Executable("test_pkg", behaviour, path=script), name, **kw)


def supervisor(tmp_path, *nodes, grace_s=3.0):
    return Supervisor(LaunchPlan(list(nodes), {}, {}), tmp_path / "log", env={}, out=io.StringIO(),
                      grace_s=grace_s)


def wait_for_log(tmp_path, name, text, timeout_s=30.0):
    """Wait until a node has logged ``text`` (its start can be slow on a busy machine)."""
    path = tmp_path / "log" / f"{name}.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never logged {text!r}")


def test_clean_run_and_stop(tmp_path):
    sup = supervisor(tmp_path, node(tmp_path, "good", "a"), node(tmp_path, "good", "b"))
    sup.start_all()
    wait_for_log(tmp_path, "a", "up")
    wait_for_log(tmp_path, "b", "up")
    sup.shutdown()
    assert sup.exit_status() == 0
    assert sup.shutdown_s < 5.0
    assert [s.exit_codes for s in sup.nodes] == [[0], [0]]
    log = (tmp_path / "log" / "a.log").read_text()
    assert "up" in log and "bye" in log  # the node's own output reached its log file


def test_dead_node_is_reported_and_fails_the_launch(tmp_path):
    sup = supervisor(tmp_path, node(tmp_path, "good", "a"), node(tmp_path, "crash", "c"))
    status = sup.run(duration_s=1.5)
    assert status == 1
    crashed = sup.nodes[1]
    assert crashed.failed and crashed.exit_codes == [3] and crashed.starts == 1
    report = sup.out.getvalue()
    assert "node /c died with status 3" in report and "boom" in report  # status and log tail shown


def test_respawn(tmp_path):
    sup = supervisor(tmp_path, node(tmp_path, "crash", "r", respawn=True, respawn_delay_s=0.1))
    status = sup.run(duration_s=2.0)
    state = sup.nodes[0]
    assert state.starts >= 3  # 0.2 s life + 0.1 s delay: several restarts in 2 s
    assert all(code == 3 for code in state.exit_codes[:-1])
    assert status == 0  # a respawned node is not a failure
    assert 0 < state.cpu_s < state.wall_s < 2.5  # summed over the starts; each lived >= 0.2 s
    assert state.wall_s > 0.2 * len(state.exit_codes)


def test_configuration_error_is_not_respawned_and_fails_the_launch(tmp_path):
    sup = supervisor(tmp_path, node(tmp_path, "bad_config", "b", respawn=True, respawn_delay_s=0.1))
    status = sup.run(duration_s=2.0)
    assert sup.nodes[0].starts == 1 and sup.nodes[0].failed
    assert status == 1


def test_finished_node_is_not_a_failure_and_launch_ends(tmp_path):
    sup = supervisor(tmp_path, node(tmp_path, "oneshot", "o"))
    t0 = time.monotonic()
    assert sup.run(duration_s=10.0) == 0
    assert time.monotonic() - t0 < 5.0  # returned because every node had exited
    assert sup.nodes[0].finished


@pytest.mark.parametrize("grace_s", [0.5, 3.0])
def test_stubborn_node_is_killed_within_5_s(tmp_path, grace_s):
    sup = supervisor(tmp_path, node(tmp_path, "stubborn", "s"), node(tmp_path, "good", "g"), grace_s=grace_s)
    sup.start_all()
    wait_for_log(tmp_path, "s", "ready")  # it ignores SIGINT from here on
    wait_for_log(tmp_path, "g", "up")
    sup.shutdown()
    assert sup.shutdown_s < 5.0
    assert not any(s.alive for s in sup.nodes)
    assert "did not stop in time: sending SIGTERM" in sup.out.getvalue()


def test_screen_output_is_echoed_with_prefix(tmp_path):
    sup = supervisor(tmp_path, node(tmp_path, "good", "talky", output="screen"))
    sup.start_all()
    wait_for_log(tmp_path, "talky", "up")
    sup.shutdown()
    assert "[talky] up" in sup.out.getvalue()
    assert "up" in (tmp_path / "log" / "talky.log").read_text()


@pytest.mark.parametrize("behaviour, expected_status", [("done_later", 0), ("crash_later", 1)])
def test_on_exit_shutdown_ends_the_launch(tmp_path, behaviour, expected_status):
    sup = supervisor(tmp_path, node(tmp_path, "good", "stack_node"),
                     node(tmp_path, behaviour, "simulator", shutdown_on_exit=True))
    t0 = time.monotonic()
    assert sup.run(duration_s=20.0) == expected_status
    assert time.monotonic() - t0 < 5.0  # ended by the simulator's exit, not by the duration
    assert sup.nodes[0].exit_codes == [0]  # the other node was shut down cleanly
