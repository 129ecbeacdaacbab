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
