"""Detection of the sensor faults of issue #15 in the perception cores (no ROS): a blinded camera
(``camera.exposure``), a lidar occluded over a sector (``lidar.occlusion``), sensor stamps off the
node's clock (``stamp_check``); checked by hand and on what the simulator renders in the district,
with and without its fault injection (``lsv_sim.sensor_faults``)."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_perception.camera.exposure import BlindnessParams, is_blinded, saturated_share
from lsv_perception.lidar.occlusion import OcclusionMonitor, OcclusionParams, Sector
from lsv_perception.stamp_check import NS, Stamp, StampCheck, StampLimits, classify

LANE_Y = -1.75  # the default delivery's eastbound lane towards intersection 101 (stop line x = -12)

# ---------------------------------------------------------------------------------- camera


def test_saturated_share_counts_pixels_white_in_every_channel() -> None:
    img = np.full((40, 60, 3), 120, np.uint8)
    img[:10] = 255  # a quarter of the rows white
    img[10:20, :, 0] = 255  # a red band: one channel only, not saturated
    img[20:22, :30] = (250, 251, 252)  # at the level: saturated
    assert saturated_share(img, 250) == pytest.approx((10 * 60 + 2 * 30) / (40 * 60))
    assert saturated_share(img, 250, stride=2) == pytest.approx((5 * 30 + 15) / (20 * 30))
    assert saturated_share(img[:, :, 0], 250) == pytest.approx((20 * 60 + 2 * 30) / (40 * 60))  # mono8
    assert saturated_share(np.zeros((0, 0, 3), np.uint8), 250) == 0.0


def test_is_blinded_from_the_share_on() -> None:
    p = BlindnessParams(stride_px=1)
    img = np.full((48, 64, 3), 90, np.uint8)
    img[:23] = 255
    assert is_blinded(img, p) == (False, pytest.approx(23 / 48))
    img[:25] = 255
    blinded, share = is_blinded(img, p)
    assert blinded and share >= p.min_share


@pytest.fixture(scope="module")
def district():
    from lsv_sim.sensors import Extrinsics, pose_matrix
    from lsv_sim.sensors.camera import Camera, CameraParams
    from lsv_sim.sensors.lidar import Lidar, LidarParams
    from lsv_sim.world import load_world

    world = load_world()
    lidar = Lidar(LidarParams(), world.static_mesh())
    camera = Camera(CameraParams(), traffic_lights=world.traffic_lights, caster=lidar.caster)
    ext = Extrinsics()
    rng = np.random.default_rng(15)

    def base(x: float):
        z = float(np.asarray(world.height_at(np.array([[x, LANE_Y]]))).reshape(-1)[0])
        return pose_matrix(x, LANE_Y, z)

    def frame(x: float, colour: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        signals = {t.id: colour for t in world.traffic_lights} if colour else {}
        return camera.render(base(x) @ ext.matrix("camera"), [], None, rng, signals).rgb, base(x)

    def scan(x: float):
        return lidar.scan(base(x) @ ext.matrix("lidar"), [], rng).points

    return {"frame": frame, "scan": scan}


@pytest.mark.parametrize("x", [-135.0, -80.0, -40.0, -20.0, 5.0])
def test_the_simulators_frames_are_not_blinded_until_its_glare_covers_them(district, x) -> None:
    from lsv_sim.sensor_faults import blind

    rgb, _ = district["frame"](x, "green")
    p = BlindnessParams()
    blinded, share = is_blinded(rgb, p)
    assert not blinded and share < 0.01
    for glare, expected in ((1.0, True), (0.7, True), (0.3, False)):
        blinded, share = is_blinded(blind(rgb, glare), p)
        assert blinded is expected, (glare, share)
        assert share >= glare - 0.02


def test_no_light_colour_is_read_through_the_glare(district) -> None:
    from lsv_perception.fusion.projection import Calibration, CameraMountParams
    from lsv_perception.traffic_light import LightClassifierParams, classify, load_light_heads
    from lsv_sim.sensor_faults import blind

    heads = load_light_heads("package://lsv_sim/maps/district.osm", 30.2741, 120.1551, 0.0)
    k = np.array([[320.0, 0.0, 319.5], [0.0, 320.0, 239.5], [0.0, 0.0, 1.0]])
    calib = Calibration(k, 640, 480, CameraMountParams().t_base_camera())
    for colour in ("green", "red"):
        rgb, base = district["frame"](-30.0, colour)
        assert [o.colour for o in classify(rgb, heads, calib, base, LightClassifierParams()) if o.colour] == [colour]
        glared = classify(blind(rgb, 1.0), heads, calib, base, LightClassifierParams())
        assert not [o.colour for o in glared if o.colour]


# ---------------------------------------------------------------------------------- lidar


def ring(step_deg: float = 0.2, gap: tuple[float, float] | None = None, r: float = 5.0) -> tuple[np.ndarray, ...]:
    """A ring of ground returns every ``step_deg`` (x, y in the lidar frame), none in ``gap`` (deg, from..to ccw)."""
    az = np.arange(-180.0, 180.0, step_deg) + 0.5 * step_deg
    if gap is not None:
        lo, hi = gap
        inside = ((az - lo) % 360.0) <= ((hi - lo) % 360.0)
        az = az[~inside]
    a = np.radians(az)
    return r * np.cos(a), r * np.sin(a)


def test_a_sector_without_returns_for_three_scans_is_occluded_and_ahead() -> None:
    mon = OcclusionMonitor(OcclusionParams())
    for _ in range(5):
        assert mon.update(*ring()) == []
    for k in range(1, 4):
        sectors = mon.update(*ring(gap=(-60.0, 60.0)))
        assert (sectors == []) == (k < 3), k
    assert sectors == [Sector(-60.0, 60.0, 120.0, True)]
    assert mon.ahead and sectors[0].describe() == "sector -60..60 deg"
    assert mon.update(*ring()) == [] and not mon.ahead  # returns back: clear at once


def test_a_sector_behind_wrapping_round_is_one_sector_not_ahead() -> None:
    mon = OcclusionMonitor(OcclusionParams())
    for _ in range(3):
        sectors = mon.update(*ring(gap=(150.0, -150.0)))
    assert sectors == [Sector(150.0, -150.0, 60.0, False)]
    assert not mon.ahead
    narrow = OcclusionParams(front_half_angle_deg=160.0)
    mon = OcclusionMonitor(narrow)
    for _ in range(3):
        sectors = mon.update(*ring(gap=(150.0, -150.0)))
    assert sectors[0].ahead  # within 160 deg of straight ahead


def test_gaps_narrower_than_the_minimum_sparse_bins_and_a_limited_field_of_view() -> None:
    mon = OcclusionMonitor(OcclusionParams())
    for _ in range(4):
        assert mon.update(*ring(gap=(30.0, 42.0))) == []  # 10-15 deg of bins: narrower than 20
    sparse = OcclusionMonitor(OcclusionParams(min_points_per_bin=3))
    x, y = ring(step_deg=2.0)  # 2-3 returns per 5 deg bin: some bins count as empty, none for 20 deg in a row
    for _ in range(4):
        assert sparse.update(x, y) == []
    front_only = OcclusionMonitor(OcclusionParams(field_of_view_deg=120.0))
    for _ in range(4):
        assert front_only.update(*ring(gap=(65.0, -65.0))) == []  # no returns behind: outside its view
    for _ in range(3):
        sectors = front_only.update(*ring(gap=(-40.0, 10.0)))
    assert sectors == [Sector(-40.0, 10.0, 50.0, True)]


def test_non_finite_returns_are_no_returns_and_everything_blocked_is_one_sector() -> None:
    mon = OcclusionMonitor(OcclusionParams())
    x, y = ring()
    x[np.abs(np.degrees(np.arctan2(y, x))) < 30.0] = np.nan  # an organised cloud: NaN where nothing came back
    for _ in range(3):
        sectors = mon.update(x, y)
    assert [(s.start_deg, s.end_deg, s.ahead) for s in sectors] == [(-30.0, 30.0, True)]
    for _ in range(3):
        sectors = mon.update(np.zeros(0), np.zeros(0))
    assert sectors == [Sector(-180.0, 180.0, 360.0, True)]


@pytest.mark.parametrize("x", [-135.0, -60.0, -14.0, 5.0])
def test_district_scans_have_returns_all_round_until_the_simulator_occludes_them(district, x) -> None:
    from lsv_sim.sensor_faults import occluded

    mon = OcclusionMonitor(OcclusionParams())
    for _ in range(4):
        pts = district["scan"](x)
        assert mon.update(pts["x"], pts["y"]) == []
    for _ in range(3):
        pts = district["scan"](x)
        pts = pts[~occluded(pts, 120.0)]
        sectors = mon.update(pts["x"], pts["y"])
    assert sectors == [Sector(-60.0, 60.0, 120.0, True)]


# ---------------------------------------------------------------------------------- stamps


def test_stamps_ahead_of_the_clock_or_too_old_are_dropped_and_said_in_words() -> None:
    limits = StampLimits(max_ahead_s=0.2, max_age_s=0.5)
    now = 1_000 * NS
    assert classify(now + int(0.19 * NS), now, limits) is Stamp.OK
    assert classify(now + int(0.21 * NS), now, limits) is Stamp.AHEAD
    assert classify(now - int(0.49 * NS), now, limits) is Stamp.OK
    assert classify(now - int(0.5 * NS), now, limits) is Stamp.OK  # at the limit: still fresh
    assert classify(now - int(0.51 * NS), now, limits) is Stamp.BEHIND
    assert classify(now + 100 * NS, now, StampLimits(0.0, 0.0)) is Stamp.OK  # 0 = no check
    assert classify(now, 0, limits) is Stamp.OK  # the node's clock has not started (no /clock yet)
    check = StampCheck(limits)
    assert check.check(now, now) and check.describe() == "stamps on time"
    assert not check.check(now + int(0.52 * NS), now)
    assert check.describe() == "stamps ahead of clock by 0.5 s"
    assert not check.check(now - int(1.24 * NS), now)
    assert check.describe() == "stamps behind clock by 1.2 s"
    assert check.dropped == 2 and check.values() == {"dropped_stamp_ahead": 1, "dropped_stamp_behind": 1}
