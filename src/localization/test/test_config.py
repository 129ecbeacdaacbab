"""The localizer's configuration: the README parameter table and config/localizer.param.yaml say
what the parameter spec in the code says, and the launch files give the localizer the same
extrinsics file the simulator reads (one source of truth for the GNSS antenna's mounting)."""

from __future__ import annotations

from pathlib import Path

from lsv_common.paramfile import load_param_file
from lsv_common.params import ParamField, param_fields
from lsv_common.share import resolve_package_url
from lsv_localization.ekf import EkfParams
from lsv_localization.localizer import LocalizerParams

PKG = Path(__file__).resolve().parents[1]
ROOT = PKG.parents[1]
YAML = load_param_file(PKG / "config" / "localizer.param.yaml")["/**"]
FIELDS = [*param_fields(LocalizerParams), *param_fields(EkfParams)]


def _range(f: ParamField) -> str:
    if f.spec.min is None and f.spec.max is None:
        return ""
    return f"[{f.spec.min:g}, {f.spec.max:g}]"


def _readme_rows() -> dict[str, list[str]]:
    rows = {}
    for line in (PKG / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_readme_parameter_table_and_yaml_match_the_parameter_spec() -> None:
    rows = _readme_rows()
    assert set(YAML) == {f.name for f in FIELDS}, "config/localizer.param.yaml and the parameter spec differ"
    for f in FIELDS:
        assert f.name in rows, f"README.md has no row for parameter `{f.name}`"
        value, unit, rng, meaning = rows[f.name]
        assert (value, unit, rng, meaning) == (str(YAML[f.name]), f.spec.unit, _range(f), f.spec.description), f.name


def _launch_node(file: Path, name: str):
    from lsv_bringup.launch_file import LaunchLoader

    plan = LaunchLoader().load(file, {})
    return next(n for n in plan.nodes if n.name == name)


def _resolved(url: str) -> Path:
    found, looked = resolve_package_url(url)
    assert found is not None, f"{url}: not found in {looked}"
    return found.resolve()


def test_launch_gives_the_localizer_the_extrinsics_file_the_simulator_reads() -> None:
    sim = ROOT / "launch" / "sim.launch.yaml"
    simulator = _launch_node(sim, "simulator")
    localizer = _launch_node(sim, "localizer")
    sensors = [p.resolve() for p in simulator.params_files if p.name == "sensors.param.yaml"]
    assert len(sensors) == 1
    assert _resolved(localizer.params["extrinsics_file"]) == sensors[0]
    # the vehicle launch (no simulator) defaults to the same file as the localizer's YAML; an
    # engineer points `extrinsics_file:=` at the vehicle's own
    vehicle = _launch_node(ROOT / "launch" / "stack.launch.yaml", "localizer")
    assert _resolved(vehicle.params["extrinsics_file"]) == _resolved(YAML["extrinsics_file"]) == sensors[0]
