from dataclasses import dataclass, field

import pytest

from lsv_common.params import ParameterError, build_params, flatten, param_fields, spec


@dataclass(frozen=True)
class Example:
    max_speed: float = field(metadata=spec("speed cap", unit="m/s", min=0.0, max=6.94))
    period_ms: int = field(metadata=spec("loop period", unit="ms", min=5, max=100))
    enabled: bool = field(metadata=spec("enable the thing"))
    mode: str = field(default="pure_pursuit", metadata=spec("controller", choices=("pure_pursuit", "stanley"),
                                                           optional=True))
    gains: list[float] = field(default_factory=lambda: [1.0, 0.1], metadata=spec("PID gains", optional=True))
    channel: str = field(default="can0", metadata=spec("bus channel", name="bus.channel", optional=True))


def test_valid_values_with_int_to_float_and_defaults():
    p = build_params(Example, {"max_speed": 4, "period_ms": 20, "enabled": True})
    assert p == Example(4.0, 20, True)
    assert isinstance(p.max_speed, float)


def test_every_problem_is_listed_with_the_source():
    with pytest.raises(ParameterError) as err:
        build_params(Example, {"max_speed": 30.0, "period_ms": 20.5, "mode": "mpc", "gains": [1, "x"]},
                     source="node 'follower' (parameter file follower.param.yaml)")
    text = str(err.value)
    assert "follower.param.yaml" in text
    assert "'max_speed' = 30.0 is above its maximum 6.94" in text
    assert "'period_ms' must be an integer" in text
    assert "'enabled' is missing" in text
    assert "'mode' = 'mpc' is not one of ['pure_pursuit', 'stanley']" in text
    assert "'gains[1]' must be a number" in text


def test_bool_is_not_a_number_and_nan_is_rejected():
    with pytest.raises(ParameterError, match="'max_speed' must be a number"):
        build_params(Example, {"max_speed": True, "period_ms": 20, "enabled": True})
    with pytest.raises(ParameterError, match="must be finite"):
        build_params(Example, {"max_speed": float("nan"), "period_ms": 20, "enabled": True})
    with pytest.raises(ParameterError, match="'enabled' must be true or false"):
        build_params(Example, {"max_speed": 1.0, "period_ms": 20, "enabled": "yes"})


def test_ros_name_and_flatten():
    names = [f.name for f in param_fields(Example)]
    assert names[-1] == "bus.channel"
    flat = flatten({"bus": {"channel": "vcan0", "bitrate": 500000}, "max_speed": 3.0})
    assert flat == {"bus.channel": "vcan0", "bus.bitrate": 500000, "max_speed": 3.0}
    p = build_params(Example, {**flat, "period_ms": 20, "enabled": False})
    assert p.channel == "vcan0"


def test_post_init_cross_checks_become_parameter_errors():
    @dataclass(frozen=True)
    class Window:
        low: float = field(metadata=spec("low"))
        high: float = field(metadata=spec("high"))

        def __post_init__(self):
            if self.low >= self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")

    with pytest.raises(ParameterError, match=r"low \(2.0\) must be below high \(1.0\)"):
        build_params(Window, {"low": 2.0, "high": 1.0})


def test_field_without_spec_is_a_programming_error():
    @dataclass(frozen=True)
    class Bad:
        x: float = 1.0

    with pytest.raises(TypeError, match="no spec"):
        param_fields(Bad)
