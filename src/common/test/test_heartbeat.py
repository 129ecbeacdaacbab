"""Node restarts from the run_id of their /diagnostics heartbeats."""

from __future__ import annotations

from lsv_common.heartbeat import RestartTracker, new_run_id

S = 1_000_000_000


def test_a_new_run_id_is_a_restart_the_same_one_is_not():
    t = RestartTracker()
    assert not t.update("v2x_client", "1-a", 0)  # first heartbeat: nothing to compare with
    assert not t.update("v2x_client", "1-a", 1 * S)
    assert not t.update("planner", "2-a", 1 * S)
    assert t.update("v2x_client", "3-b", 5 * S)
    assert t.restarts == {"v2x_client": 1}
    assert t.recent(6 * S, 10 * S) == ["v2x_client"]
    assert t.recent(16 * S, 10 * S) == []  # the report window has passed
    assert t.update("v2x_client", "4-c", 20 * S) and t.restarts == {"v2x_client": 2}


def test_recent_ignores_a_clock_that_went_back():
    t = RestartTracker()
    t.update("localizer", "1-a", 0)
    t.update("localizer", "1-b", 50 * S)
    assert t.recent(10 * S, 10 * S) == []  # a replay restarted /clock


def test_run_ids_differ_between_calls():
    assert new_run_id() != new_run_id()
