"""Fixtures of the lsv_can_bridge unit tests."""

from __future__ import annotations

import pytest

from lsv_can_bridge.chassis_config import ChassisConfig, load_chassis_config

CHASSIS_FILES = ("dbc/lsv_chassis.yaml", "dbc/lsv_chassis_b.yaml")


@pytest.fixture(params=CHASSIS_FILES, ids=["chassis_a", "chassis_b"])
def config(request: pytest.FixtureRequest) -> ChassisConfig:
    return load_chassis_config(request.param)
