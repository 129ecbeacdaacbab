import numpy as np
import pytest

from lsv_common import middleware
from lsv_common.convert import (
    POINT_XYZIR,
    ConversionError,
    from_image,
    from_pointcloud2,
    rgb_from_image,
    to_image,
    to_pointcloud2,
    xyz,
)


def test_pointcloud_round_trip_is_a_view():
    pts = np.zeros(1000, POINT_XYZIR)
    pts["x"] = np.arange(1000)
    pts["ring"] = np.arange(1000) % 32
    msg = to_pointcloud2(pts, "lidar")
    assert msg.width == 1000 and msg.point_step == POINT_XYZIR.itemsize and msg.header.frame_id == "lidar"
    back = from_pointcloud2(msg)
    np.testing.assert_array_equal(back["x"], pts["x"])
    np.testing.assert_array_equal(back["ring"], pts["ring"])
    assert not back.flags.owndata  # a view on the message buffer, not a copy
    assert xyz(back).shape == (1000, 3)


def test_pointcloud_with_padding_and_bad_buffer():
    padded = np.dtype({"names": ["x", "y", "z"], "formats": ["<f4"] * 3, "offsets": [0, 4, 8], "itemsize": 16})
    pts = np.zeros(10, padded)
    pts["z"] = 7.0
    msg = to_pointcloud2(pts, "lidar")
    assert msg.point_step == 16
    assert (from_pointcloud2(msg)["z"] == 7.0).all()
    msg.width = 11
    with pytest.raises(ConversionError, match="does not match"):
        from_pointcloud2(msg)
    with pytest.raises(ConversionError, match="structured array"):
        to_pointcloud2(np.zeros((10, 3), np.float32), "lidar")


def test_image_round_trip_and_errors():
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    msg = to_image(img, "rgb8", "camera")
    assert (msg.height, msg.width, msg.step) == (48, 64, 192)
    np.testing.assert_array_equal(from_image(msg), img)
    with pytest.raises(ConversionError, match="rgb8 needs"):
        to_image(img[:, :, 0], "rgb8", "camera")
    with pytest.raises(ConversionError, match="unsupported image encoding"):
        to_image(img, "yuv422", "camera")


def test_rgb_from_image_for_each_encoding():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    np.testing.assert_array_equal(rgb_from_image(to_image(rgb, "rgb8", "cam")), rgb)
    np.testing.assert_array_equal(rgb_from_image(to_image(np.ascontiguousarray(rgb[..., ::-1]), "bgr8", "cam")), rgb)
    grey = rgb[..., 0].copy()
    np.testing.assert_array_equal(rgb_from_image(to_image(grey, "mono8", "cam")), np.repeat(grey[..., None], 3, 2))
    assert rgb_from_image(to_image(np.zeros((0, 0, 3), np.uint8), "rgb8", "cam")).shape == (0, 0, 3)
    with pytest.raises(ConversionError, match="rgb8, bgr8 or mono8"):
        rgb_from_image(to_image(np.zeros((2, 2), np.float32), "32FC1", "depth"))


def test_middleware_defaults_never_override_explicit_settings():
    env = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    applied = middleware.apply_defaults(env)
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "SUBNET"
    assert "ROS_AUTOMATIC_DISCOVERY_RANGE" not in applied
    assert env["FASTDDS_DEFAULT_PROFILES_FILE"].endswith("fastdds_profile.xml")
    assert middleware.FASTDDS_PROFILE.is_file()
    ids = {middleware.private_domain_id(s) for s in range(1000)}
    assert min(ids) >= 1 and max(ids) <= 101
