"""Unit tests of the YAML launch-file reader (no processes started)."""

from pathlib import Path

import pytest

from lsv_bringup.launch_file import LaunchFileError, LaunchLoader, parse_launch_args
from lsv_bringup.packages import Executable, Package, PackageIndex, PackageNotFoundError


class FakeIndex(PackageIndex):
    """Two packages with share folders under tmp_path."""

    def __init__(self, root: Path):
        super().__init__(workspace=None, prefixes=[])
        self.root = root
        self.pkgs = {
            "pkg_a": Package("pkg_a", root / "pkg_a", {"talker": Executable("pkg_a", "talker", "mod_a:main")}),
            "pkg_b": Package("pkg_b", root / "pkg_b", {"listener": Executable("pkg_b", "listener", "mod_b:main")}),
        }
        for p in self.pkgs.values():
            (p.share / "config").mkdir(parents=True)
            (p.share / "launch").mkdir()

    def names(self):
        return sorted(self.pkgs)

    def get(self, name):
        if name not in self.pkgs:
            raise PackageNotFoundError(f"package '{name}' not found")
        return self.pkgs[name]


@pytest.fixture
def index(tmp_path):
    idx = FakeIndex(tmp_path)
    (tmp_path / "pkg_a" / "config" / "talker.param.yaml").write_text("/**:\n  ros__parameters:\n    rate_hz: 10.0\n")
    return idx


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_node_with_params_remaps_and_args(tmp_path, index):
    f = write(tmp_path / "a.launch.yaml", """
launch:
- arg: {name: rate, default: "5.0"}
- arg: {name: ns, default: vehicle}
- node:
    pkg: pkg_a
    exec: talker
    name: talker
    namespace: $(var ns)
    respawn: "true"
    respawn_delay: 2.5
    on_exit: shutdown
    param:
    - from: $(find-pkg-share pkg_a)/config/talker.param.yaml
    - {name: rate_hz, value: $(var rate)}
    remap:
    - {from: ~/output/chatter, to: /chatter}
""")
    plan = LaunchLoader(index).load(f, {"rate": "20.0"})
    (node,) = plan.nodes
    assert node.fqn == "/vehicle/talker"
    assert node.params == {"rate_hz": "20.0"}
    assert node.params_files == [tmp_path / "pkg_a" / "config" / "talker.param.yaml"]
    assert node.remaps == [("~/output/chatter", "/chatter")]
    assert node.respawn and node.respawn_delay_s == 2.5 and node.shutdown_on_exit
    args = node.ros_args()
    assert args[:3] == ["--ros-args", "-r", "__node:=talker"]
    assert "__ns:=/vehicle" in args and "rate_hz:=20.0" in args and "~/output/chatter:=/chatter" in args
    assert plan.args == {"rate": "20.0", "ns": "vehicle"}


def test_include_group_and_conditions(tmp_path, index):
    write(tmp_path / "pkg_b" / "launch" / "inner.launch.yaml", """
launch:
- arg: {name: enabled}
- node: {pkg: pkg_b, exec: listener, if: $(var enabled)}
- node: {pkg: pkg_b, exec: listener, name: other, unless: $(var enabled)}
""")
    f = write(tmp_path / "outer.launch.yaml", """
launch:
- arg: {name: use_b, default: "true"}
- set_env: {name: LSV_TEST_VAR, value: "42"}
- group:
    children:
    - push-ros-namespace: {namespace: perception}
    - include:
        file: $(find-pkg-share pkg_b)/launch/inner.launch.yaml
        arg:
        - {name: enabled, value: $(var use_b)}
- node: {pkg: pkg_a, exec: talker, unless: $(var use_b)}
""")
    plan = LaunchLoader(index).load(f)
    assert [n.fqn for n in plan.nodes] == ["/perception/listener"]
    assert plan.env == {"LSV_TEST_VAR": "42"}
    plan = LaunchLoader(index).load(f, {"use_b": "false"})
    assert [n.fqn for n in plan.nodes] == ["/perception/other", "/talker"]


def test_env_substitution_with_default(tmp_path, index, monkeypatch):
    monkeypatch.delenv("LSV_NOT_SET", raising=False)
    f = write(tmp_path / "e.launch.yaml", """
launch:
- node: {pkg: pkg_a, exec: talker, name: $(env LSV_NOT_SET fallback_name)}
""")
    assert LaunchLoader(index).load(f).nodes[0].name == "fallback_name"


@pytest.mark.parametrize("body, expected", [
    ("- node: {pkg: nope, exec: talker}", "package 'nope' not found"),
    ("- node: {pkg: pkg_a, exec: nope}", "has no executable 'nope'"),
    ("- node: {pkg: pkg_a, exec: talker, param: [{from: /does/not/exist.param.yaml}]}",
     "parameter file not found: /does/not/exist.param.yaml"),
    ("- node: {pkg: pkg_a, exec: talker, colour: red}", "unknown node attribute(s) ['colour']"),
    ("- node: {exec: talker}", "missing required attribute 'pkg'"),
    ("- timer: {period: 1.0}", "unsupported action 'timer'"),
    ("- arg: {name: needed}", "launch argument 'needed' has no default; pass needed:=VALUE"),
    ("- node: {pkg: pkg_a, exec: talker, name: $(var missing)}", "$(var missing) is not a declared"),
    ("- node: {pkg: pkg_a, exec: talker, name: $(eval 1+1)}", "unsupported substitution $(eval 1+1)"),
    ("- node: {pkg: pkg_a, exec: talker}\n- node: {pkg: pkg_a, exec: talker}", "node name '/talker' used twice"),
    ("- node: {pkg: pkg_a, exec: talker, if: maybe}", "expected true or false, got 'maybe'"),
    ("- node: {pkg: pkg_a, exec: talker, on_exit: restart}", "on_exit supports 'shutdown' only"),
    ("- include: {file: missing.launch.yaml}", "included launch file not found"),
])
def test_errors_name_the_problem(tmp_path, index, body, expected):
    f = write(tmp_path / "bad.launch.yaml", "launch:\n" + body + "\n")
    with pytest.raises(LaunchFileError) as err:
        LaunchLoader(index).load(f)
    assert expected in str(err.value)
    assert str(f) in str(err.value) or "used twice" in expected


def test_malformed_param_file_is_reported_with_line(tmp_path, index):
    bad = write(tmp_path / "pkg_a" / "config" / "bad.param.yaml", "/**:\n  ros__parameters:\n    rate: [1, 2\n")
    f = write(tmp_path / "p.launch.yaml",
              f"launch:\n- node: {{pkg: pkg_a, exec: talker, param: [{{from: {bad}}}]}}\n")
    with pytest.raises(LaunchFileError, match=r"bad.param.yaml: malformed YAML at line \d+"):
        LaunchLoader(index).load(f)


def test_param_file_without_ros_parameters_is_rejected(tmp_path, index):
    bad = write(tmp_path / "pkg_a" / "config" / "flat.param.yaml", "rate_hz: 10.0\n")
    f = write(tmp_path / "p.launch.yaml",
              f"launch:\n- node: {{pkg: pkg_a, exec: talker, param: [{{from: {bad}}}]}}\n")
    with pytest.raises(LaunchFileError, match="has no 'ros__parameters' mapping"):
        LaunchLoader(index).load(f)


def test_unknown_command_line_argument(tmp_path, index):
    f = write(tmp_path / "a.launch.yaml", "launch:\n- arg: {name: x, default: '1'}\n")
    with pytest.raises(LaunchFileError, match=r"unknown launch argument\(s\) \['y'\]"):
        LaunchLoader(index).load(f, {"y": "2"})


def test_not_a_launch_file(tmp_path, index):
    f = write(tmp_path / "x.launch.yaml", "nodes: []\n")
    with pytest.raises(LaunchFileError, match="top-level 'launch:' list"):
        LaunchLoader(index).load(f)
    with pytest.raises(LaunchFileError, match="launch file not found"):
        LaunchLoader(index).load(tmp_path / "absent.launch.yaml")


def test_parse_launch_args():
    assert parse_launch_args(["a:=1", "b:=x:=y"]) == {"a": "1", "b": "x:=y"}
    with pytest.raises(LaunchFileError, match="NAME:=VALUE"):
        parse_launch_args(["a=1"])


def test_real_index_finds_workspace_packages():
    index = PackageIndex()
    assert "lsv_bringup" in index.names() and "lsv_common" in index.names()
    assert index.executable("lsv_bringup", "lsv").entry_point == "lsv_bringup.cli:main"
    with pytest.raises(PackageNotFoundError, match="no executable 'nope'"):
        index.executable("lsv_bringup", "nope")
