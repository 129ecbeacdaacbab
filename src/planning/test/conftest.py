"""Shared fixtures: the district map loaded the way the planner loads it (once per session)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_planning.behaviours.common import PathWindow
from lsv_planning.lanelet_map import load_road_map
from lsv_planning.params import PlannerParams

DISTRICT = "package://lsv_sim/maps/district.osm"
ORIGIN = (30.2741, 120.1551)


@pytest.fixture(scope="session")
def road_map():
    return load_road_map(DISTRICT, *ORIGIN)


def make_params(**overrides) -> PlannerParams:
    base = dict(map_path=DISTRICT, map_origin_lat_deg=ORIGIN[0], map_origin_lon_deg=ORIGIN[1])
    base.update(overrides)
    return PlannerParams(**base)


@pytest.fixture
def params() -> PlannerParams:
    return make_params()


DEG = math.pi / 180.0


def _straight_window(length: float = 80.0, step: float = 0.5, y: float = 0.0, limit: float = np.inf,
                    width: float = 3.5, curvature: float = 0.0) -> PathWindow:
    s = np.arange(0.0, length + 1e-9, step)
    xy = np.stack([s, np.full_like(s, y)], axis=1)
    return PathWindow(s, xy, np.zeros_like(s), np.full_like(s, curvature), np.full_like(s, limit),
                      np.full_like(s, width))


@pytest.fixture
def straight_window():
    """Builder of a straight path window along +x: ``straight_window(length=80, step=0.5, y=0, limit=inf, ...)``."""
    return _straight_window
