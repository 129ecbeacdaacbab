"""Loading both chassis from YAML, and bad configurations failing with a precise message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from lsv_can_bridge.chassis_config import PACKAGE_ROOT, ChassisConfigError, DbcError, load_chassis_config

DBC_DIR = PACKAGE_ROOT / "dbc"


def test_both_chassis_load() -> None:
    a = load_chassis_config("dbc/lsv_chassis.yaml")
    b = load_chassis_config("dbc/lsv_chassis_b.yaml")
    assert [m.name for m in a.commands] == ["DRIVE_CMD", "STEER_CMD", "BODY_CMD"]
    assert a.command("drive").checksum_algorithm == "xor8"
    assert a.command("drive").period_ns == 20_000_000
    assert b.command("drive").checksum_algorithm == "crc8_j1850"
    assert b.status[0].multiplexer == "VCU_Status_Page" and b.status[0].pages == (0, 1, 2)
    assert a.command_ids.isdisjoint(b.command_ids)  # really another layout
    assert b.command("drive").dbc_message.signals[0].byte_order == "big_endian"


def test_absolute_path_and_installed_layout(tmp_path: Path) -> None:
    for f in ("lsv_chassis.dbc", "lsv_chassis.yaml"):
        shutil.copy(DBC_DIR / f, tmp_path / f)
    cfg = load_chassis_config(tmp_path / "lsv_chassis.yaml")
    assert cfg.dbc_path == tmp_path / "lsv_chassis.dbc"


def _write_variant(tmp_path: Path, edit, dbc_text: str | None = None) -> Path:
    doc = yaml.safe_load((DBC_DIR / "lsv_chassis.yaml").read_text())
    edit(doc)
    dbc = tmp_path / "lsv_chassis.dbc"
    dbc.write_text(dbc_text if dbc_text is not None else (DBC_DIR / "lsv_chassis.dbc").read_text())
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_signal_not_in_dbc_names_file_message_and_signal(tmp_path: Path) -> None:
    def edit(doc):
        doc["command"][1]["signals"]["STEER_CMD_TargetAngel"] = doc["command"][1]["signals"].pop(
            "STEER_CMD_TargetAngle")
    path = _write_variant(tmp_path, edit)
    with pytest.raises(ChassisConfigError) as err:
        load_chassis_config(path)
    text = str(err.value)
    assert str(path) in text and "'STEER_CMD'" in text and "'STEER_CMD_TargetAngel'" in text


def test_missing_counter_signal(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, lambda doc: doc["status"][1].pop("counter"))
    with pytest.raises(ChassisConfigError, match=r"variant\.yaml.*'WHEEL_SPEEDS': missing counter signal"):
        load_chassis_config(path)


def test_counter_signal_not_in_dbc(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, lambda doc: doc["command"][0].update(counter="DRIVE_CMD_Alive"))
    with pytest.raises(ChassisConfigError, match=r"'DRIVE_CMD', signal 'DRIVE_CMD_Alive' \(counter\)"):
        load_chassis_config(path)


def test_dbc_that_does_not_parse(tmp_path: Path) -> None:
    broken = (DBC_DIR / "lsv_chassis.dbc").read_text().replace("BO_ 258 STEER_CMD: 8 STACK", "BO_ 258 STEER_CMD 8")
    path = _write_variant(tmp_path, lambda doc: None, dbc_text=broken)
    with pytest.raises(DbcError, match=r"lsv_chassis\.dbc: DBC does not parse"):
        load_chassis_config(path)


def test_missing_dbc(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, lambda doc: doc.update(dbc="nope.dbc"))
    with pytest.raises(DbcError, match=r"nope\.dbc: DBC file not found"):
        load_chassis_config(path)


@pytest.mark.parametrize(("edit", "pattern"), [
    (lambda d: d["command"][0]["checksum"].update(algorithm="crc99"),
     r"'DRIVE_CMD', signal 'DRIVE_CMD_Checksum'.*crc99"),
    (lambda d: d["command"][0]["checksum"].update(signal="DRIVE_CMD_SpeedLimit"), r"must fill one whole byte"),
    (lambda d: d["command"][0]["signals"].update(DRIVE_CMD_Counter="gear"), r"counter, checksum and multiplexer"),
    (lambda d: d["command"][0]["signals"].update(DRIVE_CMD_Mode="modus"), r"field 'modus' is not a message field"),
    (lambda d: d["status"][1]["signals"].update(WHEEL_SPEEDS_FL="wheel_speeds_mps[4]"), r"needs an index"),
    (lambda d: d["command"][0]["signals"].pop("DRIVE_CMD_EStop"), r"required fields \['emergency_stop'\]"),
    (lambda d: d["command"][1].update(role="drive"), r"exactly one command message must have 'role: drive'"),
    (lambda d: d["command"][0].update(message="DRIVE_COMMAND"), r"message 'DRIVE_COMMAND' is not in the DBC"),
    (lambda d: d["command"][0]["signals"].update(DRIVE_CMD_Gear={"field": "gear", "bits": {1: 16}}), r"does not fit"),
])
def test_other_bad_mappings(tmp_path: Path, edit, pattern: str) -> None:
    with pytest.raises(ChassisConfigError, match=pattern):
        load_chassis_config(_write_variant(tmp_path, edit))
