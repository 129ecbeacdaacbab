"""The shared quaternion / yaw conversions: bad quaternions are rejected, not turned into headings."""

import math
from types import SimpleNamespace

import pytest

from lsv_common.geometry import (
    QuaternionError,
    box_heading,
    checked_quaternion,
    quaternion_from_rpy,
    quaternion_from_yaw,
    roll_pitch_yaw,
    wrap_angle,
    yaw_of,
    yaw_pitch_of,
)


def q(x, y, z, w):
    return SimpleNamespace(x=x, y=y, z=z, w=w)


def test_zero_quaternion_is_rejected_not_read_as_yaw_zero():
    with pytest.raises(QuaternionError, match="norm 0"):
        yaw_of(q(0.0, 0.0, 0.0, 0.0))


def test_norm_two_quaternion_is_rejected_not_read_as_127_deg():
    s = math.sqrt(2.0)  # 2 * (0, 0, sin 45, cos 45): the unchecked formula gives 126.9 deg
    with pytest.raises(QuaternionError, match="norm 2"):
        yaw_of(q(0.0, 0.0, s, s))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_quaternion_is_rejected(bad):
    with pytest.raises(QuaternionError, match="non-finite"):
        checked_quaternion(0.0, 0.0, bad, 1.0)


def test_quaternion_within_tolerance_is_normalised():
    x, y, z, w = checked_quaternion(0.0, 0.0, 0.7071, 0.7071)  # a hand-written 90 deg, norm 0.99999
    assert math.isclose(math.sqrt(x * x + y * y + z * z + w * w), 1.0, abs_tol=1e-12)
    assert math.degrees(yaw_of(q(0.0, 0.0, 0.7071, 0.7071))) == pytest.approx(90.0, abs=1e-9)
    # 0.5 % long: float32 and rounding drift of real drivers is used, normalised
    assert math.degrees(yaw_of(q(0.0, 0.0, 0.7071 * 1.005, 0.7071 * 1.005))) == pytest.approx(90.0, abs=1e-9)


@pytest.mark.parametrize("roll,pitch,yaw", [(0.0, 0.0, 0.0), (0.1, -0.2, 3.0), (-0.3, 0.15, -2.5),
                                            (0.0, 0.0, -math.pi / 2)])
def test_rpy_round_trip(roll, pitch, yaw):
    r, p, y = roll_pitch_yaw(q(*quaternion_from_rpy(roll, pitch, yaw)))
    assert (r, p, y) == pytest.approx((roll, pitch, yaw), abs=1e-12)


def test_yaw_quaternion_and_pitch_sign():
    assert yaw_of(q(*quaternion_from_yaw(1.2))) == pytest.approx(1.2)
    yaw, pitch = yaw_pitch_of(q(*quaternion_from_rpy(0.0, 0.1, 0.5)))
    assert (yaw, pitch) == pytest.approx((0.5, 0.1))


@pytest.mark.parametrize("a,expected", [(0.0, 0.0), (math.pi, -math.pi), (3 * math.pi / 2, -math.pi / 2),
                                        (-3 * math.pi / 2, math.pi / 2), (7.0, 7.0 - 2 * math.pi)])
def test_wrap_angle(a, expected):
    assert wrap_angle(a) == pytest.approx(expected)


def test_box_heading_of_a_bad_quaternion_is_a_square_covering_every_heading():
    assert box_heading(q(*quaternion_from_yaw(0.4)), 4.0, 3.0) == pytest.approx((0.4, 4.0, 3.0, True))
    assert box_heading(q(0.0, 0.0, 0.0, 0.0), 4.0, 3.0) == (0.0, 5.0, 5.0, False)
