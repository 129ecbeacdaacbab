"""Ground-truth visibility from the ego's lidar (lsv_sim.visibility): the returns per actor equal
those of a full noise-free scan, and an actor hidden behind another or beyond range has none."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_sim.sensors import Actor, pose_matrix
from lsv_sim.sensors.lidar import Lidar, LidarParams
from lsv_sim.visibility import LidarVisibility
from lsv_sim.world import ObjectClass


def ground_plane(half: float = 200.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.array([[-half, -half, 0.0], [half, -half, 0.0], [half, half, 0.0], [-half, half, 0.0]], np.float32)
    return v, np.array([[0, 1, 2], [0, 2, 3]], np.uint32), np.full(2, ObjectClass.ROAD, np.uint8)


def wall(x: float, y0: float, y1: float, height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ground plus a vertical wall at x from y0 to y1 (a building facade)."""
    gv, gt, gc = ground_plane()
    wv = np.array([[x, y0, 0.0], [x, y1, 0.0], [x, y1, height], [x, y0, height]], np.float32)
    return (np.vstack([gv, wv]), np.vstack([gt, np.array([[4, 5, 6], [4, 6, 7]], np.uint32)]),
            np.concatenate([gc, np.full(2, ObjectClass.BUILDING, np.uint8)]))


LIDAR_POSE = pose_matrix(0.0, 0.0, 1.95)
PED = (0.5, 0.5, 1.75)


def ped(object_id: int, x: float, y: float) -> Actor:
    return Actor(object_id, ObjectClass.PEDESTRIAN, (x, y, 0.0, 0.0), PED)


@pytest.fixture(scope="module")
def lidar() -> Lidar:
    return Lidar(LidarParams(), ground_plane())


def full_scan_counts(lidar: Lidar, pose: np.ndarray, actors: list[Actor]) -> list[int]:
    oid = lidar.scan(pose, actors).object_id
    return [int(np.sum(oid == a.object_id)) for a in actors]


def test_returns_equal_a_full_noise_free_scan(lidar: Lidar) -> None:
    actors = [ped(1, 12.0, 1.0), Actor(2, ObjectClass.CAR, (20.0, -3.0, 0.0, 0.3), (4.5, 1.8, 1.5)),
              ped(3, -8.0, -0.2),  # behind the sensor: azimuth near 180 deg
              ped(4, 9.0, 0.05)]  # around azimuth 0 (the wrap of the column index)
    vis = LidarVisibility(lidar.caster, lidar.params)
    for pose in (LIDAR_POSE, pose_matrix(1.0, 0.5, 1.95, 0.0, -0.05, 0.4)):
        got = vis.returns(pose, actors).tolist()
        assert got == full_scan_counts(lidar, pose, actors)
        assert all(n > 0 for n in got)
        assert vis.last_rays < lidar.params.channels * lidar.params.azimuth_steps  # only the actors' columns


def test_a_pedestrian_behind_a_parked_van_has_no_returns_until_it_steps_out(lidar: Lidar) -> None:
    van = Actor(1, ObjectClass.CAR, (15.0, -3.0, 0.0, 0.0), (5.5, 2.0, 2.3))
    vis = LidarVisibility(lidar.caster, lidar.params)
    hidden = vis.returns(LIDAR_POSE, [van, ped(2, 18.5, -4.6)])
    assert hidden[0] > 100 and hidden[1] == 0
    out = vis.returns(LIDAR_POSE, [van, ped(2, 18.5, -1.0)])
    assert out[1] >= 5


def test_the_world_hides_too_and_range_limits(lidar: Lidar) -> None:
    behind_wall = Lidar(LidarParams(), wall(10.0, -5.0, 5.0, 4.0))
    vis = LidarVisibility(behind_wall.caster, behind_wall.params)
    assert vis.returns(LIDAR_POSE, [ped(1, 14.0, 0.0)]).tolist() == [0]
    short = LidarVisibility(lidar.caster, LidarParams(max_range_m=30.0))
    far = [ped(1, 35.0, 0.0)]
    assert short.columns(LIDAR_POSE, far[0]).size == 0
    assert short.returns(LIDAR_POSE, far).tolist() == [0]
    assert LidarVisibility(lidar.caster, lidar.params).returns(LIDAR_POSE, far)[0] > 0


def test_columns_cover_the_box_and_wrap_around_azimuth_zero(lidar: Lidar) -> None:
    vis = LidarVisibility(lidar.caster, lidar.params)
    cols = vis.columns(LIDAR_POSE, ped(1, 10.0, 0.0))
    step = 360.0 / lidar.params.azimuth_steps
    half = math.degrees(math.atan2(0.25, 9.75))
    assert set(cols) >= {0, 1, lidar.params.azimuth_steps - 1}
    assert len(cols) <= 2 * half / step + 3
    around = vis.columns(LIDAR_POSE, Actor(2, ObjectClass.CAR, (0.5, 0.0, 0.0, 0.0), (4.5, 1.8, 1.5)))
    assert len(around) == lidar.params.azimuth_steps  # the sensor inside the box's footprint: every column
    assert vis.returns(LIDAR_POSE, []).tolist() == []
