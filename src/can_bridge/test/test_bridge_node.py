"""The can_bridge node process: a bad chassis configuration stops it at start-up with exit
status 2 and a message naming the file, the message and the signal (no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lsv_can_bridge.chassis_config import PACKAGE_ROOT
from lsv_common.testing import start_node

PARAMS = PACKAGE_ROOT / "config" / "can_bridge.param.yaml"


@pytest.mark.slow
def test_bad_signal_name_fails_at_start_up(tmp_path: Path) -> None:
    doc = yaml.safe_load((PACKAGE_ROOT / "dbc" / "lsv_chassis.yaml").read_text())
    doc["dbc"] = str(PACKAGE_ROOT / "dbc" / "lsv_chassis.dbc")
    doc["status"][0]["signals"]["VEHICLE_STATUS_Sped"] = doc["status"][0]["signals"].pop("VEHICLE_STATUS_Speed")
    bad = tmp_path / "bad_chassis.yaml"
    bad.write_text(yaml.safe_dump(doc))
    proc = start_node("lsv_can_bridge.bridge_node", name="can_bridge", params_file=PARAMS,
                      params={"chassis_config": str(bad), "bus.interface": "virtual", "bus.channel": "test"},
                      log_dir=tmp_path)
    assert proc.popen.wait(60) == 2
    out = proc.log()
    assert str(bad) in out and "'VEHICLE_STATUS'" in out and "'VEHICLE_STATUS_Sped'" in out
    assert "Traceback" not in out


@pytest.mark.slow
def test_missing_parameter_fails_at_start_up(tmp_path: Path) -> None:
    params = yaml.safe_load(PARAMS.read_text())
    del params["/**"]["ros__parameters"]["limits"]["max_speed_mps"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    proc = start_node("lsv_can_bridge.bridge_node", name="can_bridge", params_file=path, log_dir=tmp_path)
    assert proc.popen.wait(60) == 2
    assert "limits.max_speed_mps" in proc.log()
