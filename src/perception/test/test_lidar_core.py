"""Unit tests of the lidar pipeline core on synthetic clouds with known answers (no ROS)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_common.convert import POINT_XYZIR
from lsv_perception.lidar.boxes import fit_boxes
from lsv_perception.lidar.classifier import CLASS_IDS, sample_indices
from lsv_perception.lidar.cluster import ClusterGrid, segments
from lsv_perception.lidar.ground import GroundGrid
from lsv_perception.lidar.pipeline import LidarConfig, LidarPipeline
from lsv_perception.lidar.preprocess import as_xyzi, crop_mask, voxel_downsample

LIDAR_H = 1.95  # m, lidar above the ground at the origin


def slope_ground(rng: np.random.Generator, grade: float, extent: float = 30.0, step: float = 0.25) -> np.ndarray:
    """(N, 3) ground points of a plane rising ``grade`` along x, with 2 cm noise; z in the lidar frame."""
    g = np.arange(-extent, extent, step)
    x, y = np.meshgrid(g, g, indexing="ij")
    x, y = x.ravel(), y.ravel()
    z = grade * x - LIDAR_H + rng.normal(0.0, 0.02, x.shape)
    return np.column_stack([x, y, z])


def box_points(rng: np.random.Generator, center_xy: tuple[float, float], size: tuple[float, float, float],
               yaw: float, ground_z: float, step: float = 0.08, sides: str = "all") -> np.ndarray:
    """(N, 3) points on the faces of an upright box standing on ``ground_z``; ``sides='l'``: only the
    two faces towards -x and -y of the box frame (what a lidar sees of a car: an L)."""
    length, width, height = size
    pts = []
    zs = np.arange(0.0, height, step)
    for sx, sy, along, half in ((1, 0, width, length), (-1, 0, width, length), (0, 1, length, width),
                                (0, -1, length, width)):
        if sides == "l" and (sx > 0 or sy > 0):
            continue
        t = np.arange(-along / 2, along / 2, step)
        tt, zz = np.meshgrid(t, zs, indexing="ij")
        if sx:
            local = np.column_stack([np.full(tt.size, sx * half / 2), tt.ravel(), zz.ravel()])
        else:
            local = np.column_stack([tt.ravel(), np.full(tt.size, sy * half / 2), zz.ravel()])
        pts.append(local)
    if sides != "l":
        tx, ty = np.meshgrid(np.arange(-length / 2, length / 2, step), np.arange(-width / 2, width / 2, step))
        pts.append(np.column_stack([tx.ravel(), ty.ravel(), np.full(tx.size, height)]))
    p = np.concatenate(pts)
    c, s = math.cos(yaw), math.sin(yaw)
    out = np.column_stack([c * p[:, 0] - s * p[:, 1] + center_xy[0], s * p[:, 0] + c * p[:, 1] + center_xy[1],
                           p[:, 2] + ground_z])
    return out + rng.normal(0.0, 0.01, out.shape)


def with_intensity(xyz: np.ndarray, value: float = 80.0) -> np.ndarray:
    return np.column_stack([xyz, np.full(len(xyz), value)]).astype(np.float32)


def angle_diff_mod_pi(a: float, b: float) -> float:
    d = (a - b) % math.pi
    return min(d, math.pi - d)


# -------------------------------------------------------------------------- preprocess


def test_as_xyzi_accepts_structured_and_plain_arrays():
    pts = np.zeros(3, POINT_XYZIR)
    pts["x"], pts["y"], pts["z"], pts["intensity"], pts["ring"] = [1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12], 3
    a = as_xyzi(pts)
    assert a.dtype == np.float32 and a.shape == (3, 4)
    np.testing.assert_array_equal(a[:, 3], [10, 11, 12])
    np.testing.assert_array_equal(as_xyzi(a.astype(np.float64)), a)
    assert as_xyzi(np.zeros((0, 4))).shape == (0, 4)
    np.testing.assert_array_equal(as_xyzi(a[:, :3])[:, 3], 0.0)
    with pytest.raises(ValueError, match="shape"):
        as_xyzi(np.zeros((5, 2)))


def test_crop_drops_outside_points_ego_box_and_non_finite_values():
    pts = np.array([[10, 0, 0, 1], [100, 0, 0, 1], [0.5, 0.2, -1, 1], [np.nan, 0, 0, 1], [5, np.inf, 0, 1],
                    [5, 1, 0, np.nan], [-20, 5, -1, 1]], np.float32)
    keep = crop_mask(pts, (-40, 60), (-40, 40), (-15, 15), (-3.0, 1.5), (-1.0, 1.0))
    np.testing.assert_array_equal(keep, [True, False, False, False, False, False, True])


def test_voxel_downsample_keeps_one_real_point_per_voxel():
    rng = np.random.default_rng(0)
    xyz = rng.uniform(0.0, 2.0, (20000, 3)).astype(np.float32)
    idx = voxel_downsample(xyz, 0.25, (0.0, 0.0, 0.0))
    voxels = np.floor(xyz / 0.25).astype(np.int64)
    distinct = np.unique(voxels, axis=0)
    assert len(idx) == len(distinct) == 512  # 8 x 8 x 8 voxels, all occupied by 20 000 points
    assert np.all(np.diff(idx) > 0)  # ascending: scan order kept
    assert len(np.unique(voxels[idx], axis=0)) == len(idx)  # one point per voxel
    np.testing.assert_array_equal(voxel_downsample(xyz, 0.0, (0, 0, 0)), np.arange(len(xyz)))


def test_voxel_downsample_keeps_the_last_point_of_each_voxel():
    """Which point represents a voxel is fixed (its last in input order), not up to the hash: the
    training data and the committed model depend on it."""
    rng = np.random.default_rng(10)
    xyz = rng.uniform(0.0, 5.0, (30000, 3)).astype(np.float32)
    xyz[1::3] = xyz[::3][: len(xyz[1::3])] + 0.001  # runs of neighbours in the same voxel, as a scan has
    idx = voxel_downsample(xyz, 0.2, (0.0, 0.0, 0.0))
    keys = [tuple(v) for v in np.floor(xyz / 0.2).astype(np.int64).tolist()]
    last = {k: i for i, k in enumerate(keys)}
    np.testing.assert_array_equal(idx, sorted(last.values()))


# -------------------------------------------------------------------------- ground


@pytest.mark.parametrize("grade", [0.0, 0.15, -0.15])
def test_ground_removal_follows_a_slope_and_keeps_objects(grade):
    rng = np.random.default_rng(1)
    ground = slope_ground(rng, grade)
    # a pedestrian 12 m uphill/downhill and a car 20 m to the side, standing on the slope
    ped = box_points(rng, (12.0, 3.0), (0.5, 0.5, 1.75), 0.0, grade * 12.0 - LIDAR_H)
    car = box_points(rng, (-18.0, -8.0), (4.5, 1.8, 1.5), 0.4, grade * -18.0 - LIDAR_H)
    xyz = np.concatenate([ground, ped, car]).astype(np.float32)
    grid = GroundGrid((-40, 60), (-40, 40), 0.5, 7, 0.2, 0.2)
    is_ground, above, _ = grid.split(xyz)
    n_g = len(ground)
    assert np.mean(is_ground[:n_g]) > 0.98, "plane points left as obstacles"
    obj = ~is_ground[n_g:]
    obj_height = xyz[n_g:, 2] - (grade * xyz[n_g:, 0] - LIDAR_H)
    assert np.mean(obj[obj_height > 0.3]) > 0.98, "object points above 0.3 m removed as ground"
    # height above ground of the object tops is the true height, within a cell's rise (0.5 m x 15 %) + noise
    assert abs(float(above[n_g:].max()) - 1.75) < 0.2


def test_one_global_plane_would_fail_where_the_grid_follows_a_crest():
    """A crest: flat for x < 0, then 15 % uphill. The pedestrian on the slope keeps its points."""
    rng = np.random.default_rng(2)
    g = slope_ground(rng, 0.0)
    g[:, 2] += np.where(g[:, 0] > 0, 0.15 * g[:, 0], 0.0)
    ped = box_points(rng, (25.0, 0.0), (0.5, 0.5, 1.75), 0.0, 0.15 * 25.0 - LIDAR_H)
    xyz = np.concatenate([g, ped]).astype(np.float32)
    is_ground, _, _ = GroundGrid((-40, 60), (-40, 40), 0.5, 7, 0.2, 0.2).split(xyz)
    assert np.mean(is_ground[: len(g)]) > 0.98
    assert np.mean(~is_ground[len(g):][ped[:, 2] - ped[:, 2].min() > 0.3]) > 0.98


def test_ground_grid_on_no_points():
    is_ground, above, cells = GroundGrid((-1, 1), (-1, 1), 0.5, 3, 0.2, 0.2).split(np.zeros((0, 3), np.float32))
    assert is_ground.shape == above.shape == cells.shape == (0,)


# -------------------------------------------------------------------------- clustering and boxes


def test_grid_clustering_separates_objects_and_drops_small_ones():
    rng = np.random.default_rng(3)
    a = box_points(rng, (10.0, 0.0), (4.5, 1.8, 1.5), 0.0, -1.9)
    b = box_points(rng, (10.0, 3.0), (0.5, 0.5, 1.7), 0.0, -1.9)  # 0.95 m from the car's side
    c = box_points(rng, (-15.0, 10.0), (1.8, 0.6, 1.7), 1.0, -1.9)
    noise = np.array([[30.0, 30.0, 0.0], [30.1, 30.0, 0.1]])  # 2 points: below min_points
    xyz = np.concatenate([a, b, c, noise]).astype(np.float32)
    labels = ClusterGrid((-40, 60), (-40, 40), 0.25).label(xyz, min_points=5)
    sizes = np.cumsum([0, len(a), len(b), len(c)])
    groups = [np.unique(labels[sizes[i]:sizes[i + 1]]) for i in range(3)]
    assert all(len(g) == 1 and g[0] >= 0 for g in groups), groups
    assert len({int(g[0]) for g in groups}) == 3
    assert np.all(labels[-2:] == -1)
    order, starts, counts = segments(labels)
    assert len(starts) == 3 and counts.sum() == len(order) == sizes[-1]
    assert np.all(np.diff(labels[order]) >= 0)


@pytest.mark.parametrize("yaw", [0.0, 0.3, -0.7, 1.2, math.pi / 2])
@pytest.mark.parametrize("sides", ["all", "l"])
def test_box_fit_recovers_size_and_heading(yaw, sides):
    rng = np.random.default_rng(4)
    size = (4.5, 1.8, 1.5)
    pts = box_points(rng, (12.0, -5.0), size, yaw, -1.9, sides=sides)
    starts, counts = np.array([0]), np.array([len(pts)])
    b = fit_boxes(pts[:, :2], pts[:, 2], np.full(len(pts), -1.9), starts, counts)
    assert angle_diff_mod_pi(float(b.yaws[0]), yaw) < math.radians(3.0)
    assert -math.pi / 2 < b.yaws[0] <= math.pi / 2
    np.testing.assert_allclose(b.dimensions[0], size, atol=0.12)
    np.testing.assert_allclose(b.centers[0], (12.0, -5.0, -1.9 + 0.75), atol=0.12)


def test_box_fit_of_many_clusters_at_once():
    rng = np.random.default_rng(5)
    truth = [((5.0, 5.0), (4.5, 1.8, 1.5), 0.2), ((-10.0, 2.0), (0.5, 0.5, 1.8), 0.0),
             ((20.0, -6.0), (1.8, 0.6, 1.7), -1.0), ((8.0, -15.0), (8.0, 2.4, 3.2), 1.4)]
    clouds = [box_points(rng, c, s, y, -1.9) for c, s, y in truth]
    pts = np.concatenate(clouds)
    counts = np.array([len(c) for c in clouds])
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    b = fit_boxes(pts[:, :2], pts[:, 2], np.full(len(pts), -1.9), starts, counts)
    for i, (c, s, y) in enumerate(truth):
        np.testing.assert_allclose(b.centers[i, :2], c, atol=0.1)
        np.testing.assert_allclose(b.dimensions[i], s, atol=0.15)
        if s[0] - s[1] > 0.5:  # heading of a square footprint is undefined
            assert angle_diff_mod_pi(float(b.yaws[i]), y) < math.radians(3.0)


def test_sample_indices_spread_over_each_cluster():
    idx = sample_indices(np.array([0, 10, 13]), np.array([10, 3, 200]), 8)
    assert idx.shape == (3, 8)
    assert idx[0].min() == 0 and idx[0].max() <= 9 and len(np.unique(idx[0])) == 8
    assert set(idx[1]) == {10, 11, 12}  # fewer points than samples: repeats
    assert idx[2].min() == 13 and idx[2].max() > 13 + 150


# -------------------------------------------------------------------------- pipeline


def synthetic_scene(rng: np.random.Generator, grade: float = 0.1) -> tuple[np.ndarray, list]:
    objects = [((15.0, 4.0), (4.5, 1.8, 1.5), 0.3, "car"), ((9.0, -4.0), (0.5, 0.5, 1.75), 0.0, "pedestrian"),
               ((-12.0, 6.0), (1.8, 0.6, 1.7), -0.5, "cyclist")]
    parts = [slope_ground(rng, grade)]
    for c, s, y, _ in objects:
        box = box_points(rng, c, s, y, grade * c[0] - LIDAR_H)
        parts.append(box[box[:, 2] >= grade * box[:, 0] - LIDAR_H])  # the slope hides what is below it
    return with_intensity(np.concatenate(parts)), objects


def geometric() -> LidarPipeline:
    return LidarPipeline(LidarConfig(classifier="geometric"))


def test_pipeline_finds_the_objects_on_a_slope_with_the_geometric_classifier():
    pts, objects = synthetic_scene(np.random.default_rng(6))
    r = geometric().process(pts)
    assert r.count == len(objects)
    for c, s, _, cls in objects:
        i = int(np.argmin(np.hypot(r.centers[:, 0] - c[0], r.centers[:, 1] - c[1])))
        assert math.hypot(r.centers[i, 0] - c[0], r.centers[i, 1] - c[1]) < 0.2
        np.testing.assert_allclose(r.dimensions[i, :2], s[:2], atol=0.25)
        # an upright box on a 10 % slope: its uphill end is buried, its downhill end floats
        assert abs(r.dimensions[i, 2] - s[2]) < 0.1 * s[0] + 0.2
        assert r.class_ids[i] == CLASS_IDS[cls]
    assert r.points_in == len(pts) and 0 < r.points_kept < len(pts) and r.ground_points > 0
    assert set(r.timings_ms) >= {"crop", "voxel", "ground", "cluster", "boxes", "classify", "total"}
    # every object point maps back to an input point near its box
    assert len(r.point_index) == len(r.point_object) == int(r.num_points.sum())
    d = np.hypot(*(pts[r.point_index, :2] - r.centers[r.point_object, :2]).T)
    assert np.all(d < 3.0)


def test_structured_and_plain_input_give_the_same_objects():
    pts, _ = synthetic_scene(np.random.default_rng(7))
    s = np.zeros(len(pts), POINT_XYZIR)
    for i, n in enumerate(("x", "y", "z", "intensity")):
        s[n] = pts[:, i]
    p = geometric()
    a, b = p.process(pts), p.process(s)
    np.testing.assert_array_equal(a.centers, b.centers)
    np.testing.assert_array_equal(a.class_ids, b.class_ids)


@pytest.mark.parametrize("points", [np.zeros((0, 4), np.float32), np.full((100, 4), np.nan, np.float32),
                                    np.full((50, 4), np.inf, np.float32), np.zeros(0, POINT_XYZIR),
                                    np.array([[500.0, 0.0, 0.0, 1.0]], np.float32)])
def test_empty_or_invalid_clouds_give_empty_results(points):
    r = geometric().process(points)
    assert r.count == 0
    assert r.centers.shape == (0, 3) and r.dimensions.shape == (0, 3)
    assert r.yaws.shape == r.class_ids.shape == r.scores.shape == (0,)


def test_nan_points_are_ignored_not_fatal():
    rng = np.random.default_rng(8)
    pts, objects = synthetic_scene(rng)
    bad = pts.copy()
    bad[::7, 0] = np.nan
    bad[3::11, 2] = np.inf
    bad[5::13, 3] = -np.inf
    r = geometric().process(bad)
    assert r.count == len(objects)


def test_long_clusters_are_map_not_objects():
    rng = np.random.default_rng(9)
    wall = box_points(rng, (20.0, 12.0), (30.0, 0.3, 3.0), 0.0, -LIDAR_H)
    pts = with_intensity(np.concatenate([slope_ground(rng, 0.0), wall]))
    assert geometric().process(pts).count == 0
    assert LidarPipeline(LidarConfig(classifier="geometric", max_object_length_m=40.0)).process(pts).count == 1


def test_config_rejects_an_empty_crop_box():
    with pytest.raises(ValueError, match="crop box"):
        LidarConfig(crop_x_min_m=0.0, crop_x_max_m=0.0)
