"""Traffic-light state from the camera, where the map says a head hangs (no rclpy).

The Autoware split (map-based detector + classifier) in one pure function: the lamps of every
map head (``heads.LightHead``) that faces the camera within ``max_off_axis_deg`` and is nearer
than ``max_range_m`` are projected into the image with the vehicle pose and the calibration;
a region of interest around them, grown by ``roi_margin_m`` + ``pointing_error_deg`` at that
distance for pose and calibration error,
is searched for pixels of a lit lamp's colour (bright, saturated red, yellow or green). A head
is reported only when exactly one colour is found there, as a lamp would show it:

- at least ``min_lamp_pixels`` pixels and at least ``min_dominance`` times the next colour's;
- no more than ``max_area_factor`` x the area of a lamp disc (``lamp_radius_m``) at that
  distance: a larger patch is a car, a sign or a facade in front of the head, not a lamp;
- centred within the margin of that colour's own lamp (a green patch where the red lamp hangs
  is not a green light).

Anything else is "not seen" and the head is not reported: the planner treats a signalised stop
line with no fresh state as unknown, which stops the vehicle. The classifier can therefore make
the vehicle stop (a red it saw) or release it (a green it saw, when no V2X red contradicts it),
never more than that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lsv_common.params import spec
from lsv_perception.fusion.projection import Calibration
from lsv_perception.traffic_light.heads import LAMP_COLOURS, LightHead

# lsv_msgs/TrafficSignal states (the core imports no messages): what each lamp colour means
STATE_RED = 3
STATE_PERMISSIVE_GREEN = 5  # the camera cannot tell a protected phase
STATE_YELLOW = 7
STATE_OF_COLOUR = {"red": STATE_RED, "yellow": STATE_YELLOW, "green": STATE_PERMISSIVE_GREEN}


@dataclass(frozen=True)
class LightClassifierParams:
    max_range_m: float = field(default=60.0, metadata=spec(
        "heads farther from the camera are not looked at (a lamp of 0.16 m radius is 1 px at 50 m with a 640 px, "
        "90 deg camera)", unit="m", min=5.0, max=300.0, optional=True))
    max_off_axis_deg: float = field(default=35.0, metadata=spec(
        "heads facing the camera more obliquely are not looked at (the heads of a junction's other arms)",
        unit="deg", min=5.0, max=80.0, optional=True))
    roi_margin_m: float = field(default=0.5, metadata=spec(
        "the region searched around the projected lamps, for pose and calibration error", unit="m", min=0.0,
        max=5.0, optional=True))
    pointing_error_deg: float = field(default=1.2, metadata=spec(
        "heading and pitch error of pose and mount the region also allows for (grows with distance)", unit="deg",
        min=0.0, max=10.0, optional=True))
    lamp_radius_m: float = field(default=0.16, metadata=spec("radius of a lamp", unit="m", min=0.03, max=0.5,
                                                             optional=True))
    min_lamp_pixels: int = field(default=3, metadata=spec(
        "fewer pixels of the lit colour: the head is not seen", min=1, max=1000, optional=True))
    min_dominance: float = field(default=3.0, metadata=spec(
        "the lit colour needs this many times the pixels of the next colour", min=1.0, max=100.0, optional=True))
    max_area_factor: float = field(default=4.0, metadata=spec(
        "more pixels of one colour than this x a lamp disc's area (+ 6 px): not a lamp (something in front of the "
        "head)", min=1.0, max=100.0, optional=True))
    min_lit_level: int = field(default=215, metadata=spec(
        "a lit lamp's brightest channel is at least this (0..255)", min=100, max=255, optional=True))
    max_unlit_level: int = field(default=100, metadata=spec(
        "the channels a lit lamp's colour lacks stay below this (0..255; green lamps allow 1.6 x in blue)",
        min=10, max=200, optional=True))


@dataclass(frozen=True)
class LightObservation:
    """What the classifier found at one head (``colour`` '' = not seen: no state is reported)."""

    head: LightHead
    colour: str  # 'red' | 'yellow' | 'green' | ''
    state: int  # lsv_msgs/TrafficSignal STATE_* of the colour (0 = unavailable when not seen)
    confidence: float  # 0..1: the colour's share of the lit pixels in the region
    distance_m: float
    roi: tuple[int, int, int, int]  # x_min, y_min, x_max, y_max (exclusive) in pixels
    pixels: dict[str, int]  # lit pixels of each colour in the region
    why: str = ""  # why it was not seen (empty when seen)


def colour_masks(roi: np.ndarray, p: LightClassifierParams) -> dict[str, np.ndarray]:
    """(h, w) bool masks of lit-lamp pixels of each colour in an (h, w, 3) uint8 RGB region."""
    r, g, b = (roi[..., i].astype(np.int16) for i in range(3))
    hi, lo = p.min_lit_level, p.max_unlit_level
    return {"red": (r >= hi) & (g < lo) & (b < lo),
            "yellow": (r >= hi) & (g >= 0.55 * r) & (g < r - 15) & (b < lo),
            "green": (g >= hi) & (r < lo) & (b < 1.6 * lo)}


def visible_heads(heads: list[LightHead], t_camera_map: np.ndarray, p: LightClassifierParams,
                  ) -> list[tuple[LightHead, float]]:
    """The heads in range whose lamps face the camera: (head, distance m)."""
    cam = np.linalg.inv(t_camera_map)[:3, 3]  # camera position in the map frame
    cos_off = math.cos(math.radians(p.max_off_axis_deg))
    out = []
    for h in heads:
        centre = np.mean(list(h.bulbs.values()), axis=0)
        rel = cam - centre
        dist = float(np.linalg.norm(rel))
        if not 0.5 < dist <= p.max_range_m:
            continue
        facing = np.array([math.cos(h.facing_yaw), math.sin(h.facing_yaw), 0.0])
        if float(rel @ facing) >= cos_off * dist:
            out.append((h, dist))
    return out


def classify(rgb: np.ndarray, heads: list[LightHead], calib: Calibration, t_map_base: np.ndarray,
             p: LightClassifierParams) -> list[LightObservation]:
    """Look at every visible head in ``rgb`` ((H, W, 3) uint8 RGB, rectified, the size of
    ``calib``) taken from the vehicle pose ``t_map_base`` (4x4). One observation per head whose
    region lies in the image; ``colour`` is empty where no single lit lamp was found."""
    if rgb.shape[:2] != (calib.height, calib.width):
        raise ValueError(f"image {rgb.shape[1]}x{rgb.shape[0]} does not match the CameraInfo "
                         f"{calib.width}x{calib.height}")
    t_cam = calib.t_camera_map(t_map_base)
    k = calib.k
    out = []
    for head, dist in visible_heads(heads, t_cam, p):
        names = [c for c in LAMP_COLOURS if c in head.bulbs]
        pts = np.array([head.bulbs[c] for c in names]) @ t_cam[:3, :3].T + t_cam[:3, 3]
        if (pts[:, 2] < 0.5).any():
            continue  # behind or beside the camera
        u = k[0, 0] * pts[:, 0] / pts[:, 2] + k[0, 1] * pts[:, 1] / pts[:, 2] + k[0, 2]
        v = k[1, 1] * pts[:, 1] / pts[:, 2] + k[1, 2]
        px_per_m = k[0, 0] / float(pts[:, 2].mean())
        margin_px = (p.roi_margin_m + dist * math.tan(math.radians(p.pointing_error_deg))) * px_per_m
        grow = margin_px + p.lamp_radius_m * px_per_m + 1.0
        x0, x1 = max(math.floor(u.min() - grow), 0), min(math.ceil(u.max() + grow) + 1, calib.width)
        y0, y1 = max(math.floor(v.min() - grow), 0), min(math.ceil(v.max() + grow) + 1, calib.height)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue  # outside the image
        masks = colour_masks(rgb[y0:y1, x0:x1], p)
        counts = {c: int(m.sum()) for c, m in masks.items()}
        roi = (x0, y0, x1, y1)
        ranked = sorted(counts, key=counts.__getitem__, reverse=True)
        best, n, runner_up = ranked[0], counts[ranked[0]], counts[ranked[1]]
        lamp_area = math.pi * (p.lamp_radius_m * px_per_m) ** 2
        why = ""
        if n < p.min_lamp_pixels:
            why = "no lit lamp"
        elif n < p.min_dominance * runner_up:
            why = f"{best} and {ranked[1]} both lit"
        elif n > p.max_area_factor * lamp_area + 6.0:
            why = f"{best} patch of {n} px, larger than a lamp ({lamp_area:.0f} px): something in front"
        elif best not in names:
            why = f"{best} lit where the map has no {best} lamp"
        else:
            ys, xs = np.nonzero(masks[best])
            i = names.index(best)
            off = math.hypot(xs.mean() + x0 - u[i], ys.mean() + y0 - v[i])
            if off > margin_px + 1.5:
                why = f"{best} patch {off / px_per_m:.2f} m from the {best} lamp"
        colour = "" if why else best
        total = sum(counts.values())
        out.append(LightObservation(head, colour, STATE_OF_COLOUR.get(colour, 0),
                                    round(n / total, 3) if colour and total else 0.0, dist, roi, counts, why))
    return out
