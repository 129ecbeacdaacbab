import pytest

from lsv_common.paramfile import ParamFileError, load_param_file


def test_reads_nested_parameters(tmp_path):
    f = tmp_path / "n.param.yaml"
    f.write_text("/**:\n  ros__parameters:\n    rate_hz: 50.0\n    bus:\n      channel: can0\n")
    assert load_param_file(f) == {"/**": {"rate_hz": 50.0, "bus.channel": "can0"}}


@pytest.mark.parametrize("text, expected", [
    ("/**:\n  ros__parameters:\n    a: [1, 2\n", r"malformed YAML at line \d+, column \d+"),
    ("- 1\n- 2\n", "expected a mapping of node names"),
    ("/**:\n  params:\n    a: 1\n", "has no 'ros__parameters' mapping"),
    ("/**:\n  ros__parameters:\n    a: [1, 'x']\n", "mixes types in one list"),
    ("/**:\n  ros__parameters:\n    a:\n", "'a' has no value"),
    ("/**:\n  ros__parameters: 3\n", "must be a mapping"),
])
def test_malformed_files_name_file_and_problem(tmp_path, text, expected):
    f = tmp_path / "bad.param.yaml"
    f.write_text(text)
    with pytest.raises(ParamFileError, match=expected) as err:
        load_param_file(f)
    assert "bad.param.yaml" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ParamFileError, match="parameter file not found"):
        load_param_file(tmp_path / "absent.yaml")


def test_every_shipped_param_file_is_well_formed():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    files = sorted(root.glob("src/*/config/*.param.yaml"))
    for f in files:
        assert load_param_file(f), f


def test_params_from_file_builds_each_dataclass_with_changes(tmp_path):
    from dataclasses import dataclass, field

    from lsv_common.paramfile import params_from_file
    from lsv_common.params import ParameterError, spec

    @dataclass(frozen=True)
    class A:
        rate_hz: float = field(metadata=spec("rate", unit="Hz", min=1.0))

    @dataclass(frozen=True)
    class B:
        channel: str = field(metadata=spec("bus channel", name="bus.channel"))

    f = tmp_path / "n.param.yaml"
    f.write_text("/**:\n  ros__parameters:\n    rate_hz: 50\n    bus:\n      channel: can0\n")
    assert params_from_file(f, A, B) == (A(50.0), B("can0"))
    assert params_from_file(f, A, changes={"rate_hz": 10.0}) == (A(10.0),)
    with pytest.raises(ParameterError, match=r"(?s)n.param.yaml.*'rate_hz' = 0.5 is below its minimum"):
        params_from_file(f, A, changes={"rate_hz": 0.5})
    g = tmp_path / "named.param.yaml"
    g.write_text("bridge:\n  ros__parameters:\n    rate_hz: 5.0\n")
    with pytest.raises(ParamFileError, match=r"no '/\*\*' section"):
        params_from_file(g, A)
