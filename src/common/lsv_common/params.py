"""Typed, documented, validated parameters (pure: no rclpy).

A core's parameters are a frozen dataclass; each field carries its documentation and
range in ``field(metadata=spec(...))``. ``build_params`` turns a flat mapping of raw
values (from a node's declared parameters or a YAML file) into that dataclass, or raises
one ``ParameterError`` listing every problem with the parameter name and the file, so a
bad configuration fails at start-up with a message an engineer can act on.

Example::

    @dataclass(frozen=True)
    class FollowerParams:
        lookahead_m: float = field(metadata=spec("look-ahead distance", unit="m", min=0.5, max=20.0))
        mode: str = field(default="pure_pursuit", metadata=spec("lateral controller",
                                                               choices=("pure_pursuit", "stanley"),
                                                               optional=True))
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

EXIT_CONFIG_ERROR = 2  # exit status of a node whose configuration is wrong (a restart cannot fix it)

T = TypeVar("T")

_SPEC_KEY = "lsv_param"


class ParameterError(ValueError):
    """A parameter is missing, of the wrong type or out of range."""


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    description: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    optional: bool = False  # when True the dataclass default applies if the value is absent
    name: str | None = None  # ROS name when it differs from the field name (e.g. "bus.channel")


def spec(description: str, *, unit: str = "", min: float | None = None, max: float | None = None,  # noqa: A002
         choices: Sequence[Any] | None = None, optional: bool = False, name: str | None = None) -> dict:
    """Field metadata describing one parameter: ``field(metadata=spec(...))``."""
    return {_SPEC_KEY: ParamSpec(description, unit, min, max, tuple(choices) if choices else None,
                                 optional, name)}


@dataclasses.dataclass(frozen=True)
class ParamField:
    """One parameter of a dataclass, as the node declares it."""

    name: str
    attr: str
    type: Any
    spec: ParamSpec
    default: Any  # dataclasses.MISSING when there is none

    @property
    def type_name(self) -> str:
        return getattr(self.type, "__name__", None) or str(self.type).replace("typing.", "")

    def describe(self) -> str:
        text = self.spec.description
        if self.spec.unit:
            text += f" [{self.spec.unit}]"
        if self.spec.min is not None or self.spec.max is not None:
            text += f" range [{self.spec.min}, {self.spec.max}]"
        if self.spec.choices:
            text += f" one of {list(self.spec.choices)}"
        return text


def param_fields(cls: type) -> list[ParamField]:
    """The parameters of dataclass ``cls``, in declaration order."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        ps = f.metadata.get(_SPEC_KEY)
        if ps is None:
            raise TypeError(f"{cls.__name__}.{f.name} has no spec(...) metadata")
        default = f.default
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        fields.append(ParamField(ps.name or f.name, f.name, hints[f.name], ps, default))
    return fields


def _coerce(value: Any, typ: Any, name: str) -> Any:
    origin = typing.get_origin(typ)
    if origin in (list, tuple, Sequence):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ParameterError(f"'{name}' must be a list, got {value!r}")
        (item_type, *_) = typing.get_args(typ) or (Any,)
        items = [_coerce(v, item_type, f"{name}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if typ is Any:
        return value
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise ParameterError(f"'{name}' must be true or false, got {value!r}")
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"'{name}' must be an integer, got {value!r}")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"'{name}' must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"'{name}' must be finite, got {value!r}")
        return value
    if typ is str:
        if not isinstance(value, str):
            raise ParameterError(f"'{name}' must be a string, got {value!r}")
        return value
    raise TypeError(f"parameter '{name}': unsupported type {typ!r}")


def _check_range(value: Any, field: ParamField) -> None:
    s = field.spec
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if s.min is not None and v < s.min:
            raise ParameterError(f"'{field.name}' = {v!r} is below its minimum {s.min} ({field.describe()})")
        if s.max is not None and v > s.max:
            raise ParameterError(f"'{field.name}' = {v!r} is above its maximum {s.max} ({field.describe()})")
        if s.choices is not None and v not in s.choices:
            raise ParameterError(f"'{field.name}' = {v!r} is not one of {list(s.choices)}")


def build_params(cls: type[T], values: Mapping[str, Any], source: str = "the parameters") -> T:
    """Validate ``values`` (parameter name -> raw value; None = not set) into ``cls``.

    Raises ParameterError naming every missing or invalid parameter and ``source``.
    """
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    for f in param_fields(cls):
        raw = values.get(f.name)
        if raw is None:
            if f.spec.optional and f.default is not dataclasses.MISSING:
                kwargs[f.attr] = f.default
                continue
            problems.append(f"'{f.name}' is missing ({f.type_name}: {f.describe()})")
            continue
        try:
            value = _coerce(raw, f.type, f.name)
            _check_range(value, f)
        except ParameterError as err:
            problems.append(str(err))
            continue
        kwargs[f.attr] = value
    if problems:
        raise ParameterError(
            f"invalid parameters in {source}:\n  - " + "\n  - ".join(problems)
            + "\n(parameters go under '/**: ros__parameters:' in the node's .param.yaml)")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:  # __post_init__ cross-checks of the dataclass
        raise ParameterError(f"invalid parameters in {source}: {err}") from err


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested YAML mappings into ROS parameter names: {'bus': {'channel': x}} -> {'bus.channel': x}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
