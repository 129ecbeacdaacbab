"""A long flat face seen at a grazing angle stays one cluster (``lidar/faces.py``): by hand, and on
what the simulator's lidar returns from a parked van beside the lane, looked at from behind it, where
the clustering grid alone cuts the van's side into slivers of one firing each."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_perception.lidar.faces import FaceParams, merge_faces
from lsv_perception.lidar.pipeline import LidarConfig, LidarPipeline

P = FaceParams()  # 0.2 deg firings, gaps up to 1 m, 0.15 m off the line


def columns(x0: float, x1: float, y: float, step: float, per_column: int = 6) -> np.ndarray:
    """(K, 2) returns of vertical columns every ``step`` m along the line y from x0 to x1."""
    xs = np.arange(x0, x1 + 1e-9, step)
    return np.repeat(np.stack([xs, np.full_like(xs, y)], axis=1), per_column, axis=0)


def test_slivers_of_a_grazing_face_join() -> None:
    # a face 1.25 m beside the sensor from 12 to 17 m: firings 0.4-0.8 m apart, each column its own cluster
    xy = columns(12.0, 17.0, -1.25, 0.55)
    labels = np.repeat(np.arange(len(xy) // 6, dtype=np.int32), 6)
    out = merge_faces(xy, labels, P)
    assert np.unique(out).tolist() == [0]


def test_face_across_the_beam_gets_no_longer_gaps() -> None:
    # the same columns on a face across the beam (a wall 15 m ahead): 0.55 m is ten firings, not one
    xy = columns(-2.5, 2.5, 0.0, 0.55)[:, ::-1] + np.array([15.0, 0.0])
    labels = np.repeat(np.arange(len(xy) // 6, dtype=np.int32), 6)
    assert len(np.unique(merge_faces(xy, labels, P))) == len(xy) // 6


def test_objects_beside_a_face_or_beyond_the_gap_stay_apart() -> None:
    face = columns(10.0, 16.0, -1.5, 0.3)  # a van's side, one cluster already
    ped = np.array([[17.0, -0.9], [17.1, -0.8], [17.2, -0.9], [17.1, -1.0], [17.0, -0.8]])  # 0.5 m off its line
    far = columns(17.6, 19.0, -1.5, 0.2)  # the next car in the row, 1.6 m on
    xy = np.concatenate([face, ped, far])
    labels = np.concatenate([np.zeros(len(face)), np.ones(len(ped)), np.full(len(far), 2)]).astype(np.int32)
    assert len(np.unique(merge_faces(xy, labels, P))) == 3


def test_a_join_that_makes_map_out_of_an_object_is_undone() -> None:
    wall = columns(14.0, 26.0, -1.5, 0.2)  # 12 m of facade along the road
    car = columns(10.0, 13.5, -1.5, 0.2)  # a car parked in line with it, 0.5 m short of it
    xy = np.concatenate([car, wall])
    labels = np.concatenate([np.zeros(len(car)), np.ones(len(wall))]).astype(np.int32)
    assert len(np.unique(merge_faces(xy, labels, FaceParams(max_length_m=12.0)))) == 2
    assert len(np.unique(merge_faces(xy, labels, FaceParams(max_length_m=20.0)))) == 1


def test_off_and_empty() -> None:
    xy = columns(12.0, 17.0, -1.25, 0.55)
    labels = np.repeat(np.arange(len(xy) // 6, dtype=np.int32), 6)
    assert (merge_faces(xy, labels, FaceParams(max_gap_m=0.0)) == labels).all()
    assert merge_faces(np.zeros((0, 2)), np.zeros(0, np.int32), P).shape == (0,)
    labels[:6] = -1  # unclustered points stay unclustered
    assert (merge_faces(xy, labels, P)[:6] == -1).all()


# ----------------------------------------------------------------- the simulator's lidar, a parked van

VAN = (5.5, 2.0, 2.3)  # m, length, width, height
VAN_CENTRE = (20.0, -2.25)  # its side 1.25 m right of the sensor's track, the lidar 1.95 m above ground


@pytest.fixture(scope="module")
def van_scans():
    from lsv_sim.sensors import Actor, pose_matrix
    from lsv_sim.sensors.lidar import Lidar, LidarParams
    from lsv_sim.world import ObjectClass, box_mesh

    v, t = box_mesh(np.array([0.0, 0.0, -0.5]), (200.0, 200.0, 1.0), 0.0)  # flat ground, top at z = 0
    lidar = Lidar(LidarParams(), (v.astype(np.float32), t.astype(np.uint32),
                                  np.full(len(t), int(ObjectClass.ROAD), np.uint8)))
    van = Actor(1, int(ObjectClass.CAR), (*VAN_CENTRE, 0.0, 0.0), VAN)
    rng = np.random.default_rng(7)
    scans = {}
    for back in (6.0, 8.0, 10.0, 12.0, 14.0):  # sensor this far behind the van's rear
        x = VAN_CENTRE[0] - VAN[0] / 2 - back
        s = lidar.scan(pose_matrix(x, 0.0, 1.95), [van], rng)
        pts = np.stack([s.points[k] for k in ("x", "y", "z", "intensity")], axis=1).astype(np.float32)
        scans[back] = (pts, s.object_id)
    return scans


def van_clusters(pipe: LidarPipeline, pts: np.ndarray, oid: np.ndarray) -> tuple[int, float]:
    r = pipe.process(pts)
    on_van = np.unique(r.point_object[oid[r.point_index] == 1])
    return len(on_van), float(r.dimensions[on_van, 0].max()) if len(on_van) else 0.0


def test_van_side_seen_at_a_grazing_angle_is_one_object(van_scans) -> None:
    pipe = LidarPipeline(LidarConfig(classifier="geometric"))
    grid_only = LidarPipeline(LidarConfig(classifier="geometric", cluster_face_max_gap_m=0.0))
    split = 0
    for back, (pts, oid) in van_scans.items():
        n, length = van_clusters(pipe, pts, oid)
        assert n == 1, f"{back} m behind the van: {n} objects on it"
        # the last firing on the side may fall up to one spacing (0.8 m at 20 m) short of its front
        assert length > VAN[0] - 0.9, f"{back} m behind the van: {length:.2f} m of its {VAN[0]} m side"
        split = max(split, van_clusters(grid_only, pts, oid)[0])
    assert split >= 3  # what the grid alone makes of it (the case this guards)
