"""Message <-> numpy conversions for the big sensor messages, in one place (STYLE.md 1, 7).

``from_pointcloud2`` / ``from_image`` return numpy *views* of the message buffer (no copy,
no per-point loop); ``to_pointcloud2`` / ``to_image`` make one copy of the array into the
message.
"""

from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Quaternion
from sensor_msgs.msg import Image, PointCloud2, PointField

from lsv_common.geometry import quaternion_from_yaw

#: x, y, z, intensity (float32) and ring (uint16): what the simulated lidar publishes.
POINT_XYZIR = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("intensity", "<f4"), ("ring", "<u2")])
POINT_XYZI = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("intensity", "<f4")])

_TO_FIELD = {
    np.dtype("int8"): PointField.INT8, np.dtype("uint8"): PointField.UINT8,
    np.dtype("int16"): PointField.INT16, np.dtype("uint16"): PointField.UINT16,
    np.dtype("int32"): PointField.INT32, np.dtype("uint32"): PointField.UINT32,
    np.dtype("float32"): PointField.FLOAT32, np.dtype("float64"): PointField.FLOAT64,
}
_FROM_FIELD = {v: k for k, v in _TO_FIELD.items()}

_IMAGE_ENCODINGS = {"rgb8": (np.uint8, 3), "bgr8": (np.uint8, 3), "mono8": (np.uint8, 1),
                    "mono16": (np.uint16, 1), "32FC1": (np.float32, 1), "16UC1": (np.uint16, 1)}


def yaw_quaternion_msg(yaw: float) -> Quaternion:
    """geometry_msgs/Quaternion of a rotation by ``yaw`` rad about z (reading one back: ``lsv_common.geometry``)."""
    x, y, z, w = quaternion_from_yaw(yaw)
    return Quaternion(x=x, y=y, z=z, w=w)


class ConversionError(ValueError):
    """A message's layout does not match what the conversion needs."""


def _buffer(data: np.ndarray) -> array.array:
    buf = array.array("B")
    buf.frombytes(np.ascontiguousarray(data).view(np.uint8).reshape(-1).data)
    return buf


def to_pointcloud2(points: np.ndarray, frame_id: str, stamp: Time | None = None) -> PointCloud2:
    """Structured array of N points (e.g. POINT_XYZIR) -> unorganised PointCloud2 (height 1)."""
    if points.dtype.names is None:
        raise ConversionError(f"expected a structured array (e.g. POINT_XYZIR), got dtype {points.dtype}")
    fields = []
    for name in points.dtype.names:
        dt, offset = points.dtype.fields[name][:2]
        if dt.base not in _TO_FIELD:
            raise ConversionError(f"field '{name}' has unsupported dtype {dt}")
        fields.append(PointField(name=name, offset=offset, datatype=_TO_FIELD[dt.base], count=1))
    msg = PointCloud2(height=1, width=int(points.shape[0]), fields=fields, is_bigendian=False,
                      point_step=points.dtype.itemsize, row_step=points.dtype.itemsize * int(points.shape[0]),
                      is_dense=True)
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.data = _buffer(points)
    return msg


def pointcloud2_dtype(msg: PointCloud2) -> np.dtype:
    """The numpy dtype of one point of ``msg`` (padding kept via itemsize = point_step)."""
    names, formats, offsets = [], [], []
    for f in msg.fields:
        if f.datatype not in _FROM_FIELD:
            raise ConversionError(f"PointCloud2 field '{f.name}' has unknown datatype {f.datatype}")
        if f.count != 1:
            raise ConversionError(f"PointCloud2 field '{f.name}' has count {f.count}; only 1 is supported")
        names.append(f.name)
        formats.append(_FROM_FIELD[f.datatype].newbyteorder(">" if msg.is_bigendian else "<"))
        offsets.append(f.offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": msg.point_step})


def from_pointcloud2(msg: PointCloud2) -> np.ndarray:
    """PointCloud2 -> structured array view of shape (height * width,) over the message buffer."""
    dtype = pointcloud2_dtype(msg)
    n = msg.width * msg.height
    if msg.row_step * msg.height != len(msg.data) or msg.point_step * msg.width > msg.row_step:
        raise ConversionError(f"PointCloud2 buffer of {len(msg.data)} bytes does not match "
                              f"{msg.height} x {msg.width} points of {msg.point_step} bytes")
    if msg.row_step == msg.point_step * msg.width:
        return np.frombuffer(msg.data, dtype=dtype, count=n)
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.row_step)
    return np.ascontiguousarray(rows[:, : msg.point_step * msg.width]).view(dtype).reshape(-1)


def xyz(points: np.ndarray) -> np.ndarray:
    """(N,) structured points with x, y, z -> (N, 3) float32 array (one copy)."""
    out = np.empty((points.shape[0], 3), dtype=np.float32)
    out[:, 0], out[:, 1], out[:, 2] = points["x"], points["y"], points["z"]
    return out


def to_image(pixels: np.ndarray, encoding: str, frame_id: str, stamp: Time | None = None) -> Image:
    """(H, W[, C]) array -> Image with the given encoding (e.g. 'rgb8')."""
    if encoding not in _IMAGE_ENCODINGS:
        raise ConversionError(f"unsupported image encoding '{encoding}'; supported: {sorted(_IMAGE_ENCODINGS)}")
    dtype, channels = _IMAGE_ENCODINGS[encoding]
    expected = (pixels.shape[0], pixels.shape[1]) + ((channels,) if channels > 1 else ())
    if pixels.dtype != dtype or pixels.shape[: len(expected)] != expected or pixels.ndim != len(expected):
        shape = "(H, W, 3)" if channels > 1 else "(H, W)"
        raise ConversionError(f"{encoding} needs a {dtype.__name__} array of shape {shape}, "
                              f"got {pixels.dtype} {pixels.shape}")
    msg = Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, is_bigendian=0,
                step=pixels.shape[1] * channels * np.dtype(dtype).itemsize)
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.data = _buffer(pixels)
    return msg


def from_image(msg: Image) -> np.ndarray:
    """Image -> (H, W[, C]) array view over the message buffer."""
    if msg.encoding not in _IMAGE_ENCODINGS:
        raise ConversionError(f"unsupported image encoding '{msg.encoding}'; supported: {sorted(_IMAGE_ENCODINGS)}")
    dtype, channels = _IMAGE_ENCODINGS[msg.encoding]
    row = msg.width * channels * np.dtype(dtype).itemsize
    if msg.step < row or len(msg.data) != msg.step * msg.height:
        raise ConversionError(f"Image buffer of {len(msg.data)} bytes does not match "
                              f"{msg.height} rows of step {msg.step}")
    flat = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)[:, :row]
    shape = (msg.height, msg.width) + ((channels,) if channels > 1 else ())
    return flat.view(dtype).reshape(shape)


def rgb_from_image(msg: Image) -> np.ndarray:
    """Image -> (H, W, 3) uint8 RGB: a view for rgb8, a channel-reversed view for bgr8, replicated for
    mono8; an empty image gives an empty (H, W, 3) array. Other encodings: ConversionError."""
    if msg.height == 0 or msg.width == 0:
        return np.zeros((msg.height, msg.width, 3), np.uint8)
    if msg.encoding not in ("rgb8", "bgr8", "mono8"):
        raise ConversionError(f"expected an rgb8, bgr8 or mono8 image, got '{msg.encoding}'")
    pixels = from_image(msg)
    if msg.encoding == "bgr8":
        return pixels[..., ::-1]
    if msg.encoding == "mono8":
        return np.repeat(pixels[..., None], 3, axis=2)
    return pixels
