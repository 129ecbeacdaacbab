"""A frozen driver's repeats (same stamp) told apart from new samples."""

from __future__ import annotations

from types import SimpleNamespace

from lsv_common.stamps import RepeatedStamps, stamp_to_ns


def test_repeats_are_counted_per_sensor_and_reset_by_a_new_sample():
    r = RepeatedStamps()
    assert r.is_new("cloud", 100) and r.is_new("image", 100)  # sensors are independent
    assert not r.is_new("cloud", 100) and not r.is_new("cloud", 100)
    assert (r.repeated["cloud"], r.in_a_row["cloud"]) == (2, 2)
    assert r.is_new("cloud", 200)
    assert (r.repeated["cloud"], r.in_a_row["cloud"]) == (2, 0)
    assert r.is_new("cloud", 150)  # going back (a replay looping) is not a freeze
    assert r.repeated.get("image", 0) == 0


def test_unstamped_samples_always_count_as_new():
    r = RepeatedStamps()
    assert r.is_new("gnss", 0) and r.is_new("gnss", 0)


def test_stamp_to_ns():
    assert stamp_to_ns(SimpleNamespace(sec=12, nanosec=345)) == 12_000_000_345
