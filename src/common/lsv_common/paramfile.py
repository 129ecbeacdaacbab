"""Reading ROS 2 parameter files (``*.param.yaml``) with errors that name file and line.

Pure module. The launcher checks every parameter file before it starts a node, so a
malformed file is reported once, clearly, instead of as an rcl parse error in a log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lsv_common.params import flatten


class ParamFileError(ValueError):
    """A parameter file is missing or malformed."""


def load_param_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """Parse a ROS 2 parameter file into {node pattern: {flat parameter name: value}}.

    The file must be a mapping of node names (or ``/**``) to ``{ros__parameters: {...}}``.
    """
    p = Path(path)
    if not p.is_file():
        raise ParamFileError(f"parameter file not found: {p}")
    try:
        doc = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        where = ""
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(err, "problem", None) or str(err)
        raise ParamFileError(f"{p}: malformed YAML{where}: {problem}") from err
    if not isinstance(doc, dict) or not doc:
        raise ParamFileError(f"{p}: expected a mapping of node names to 'ros__parameters', "
                             f"e.g. '/**:\\n  ros__parameters:\\n    rate_hz: 50.0'")
    result: dict[str, dict[str, Any]] = {}
    for node_name, body in doc.items():
        if not isinstance(body, dict) or "ros__parameters" not in body:
            raise ParamFileError(f"{p}: node entry '{node_name}' has no 'ros__parameters' mapping")
        params = body["ros__parameters"]
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ParamFileError(f"{p}: '{node_name}.ros__parameters' must be a mapping, got {type(params).__name__}")
        flat = flatten(params)
        for name, value in flat.items():
            if isinstance(value, list) and len({type(v) for v in value}) > 1 and not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise ParamFileError(f"{p}: parameter '{name}' mixes types in one list: {value!r}")
            if value is None:
                raise ParamFileError(f"{p}: parameter '{name}' has no value")
        result[str(node_name)] = flat
    return result


def params_from_file(path: str | Path, *classes: type, changes: dict[str, Any] | None = None) -> tuple:
    """Validate the ``/**`` parameters of a .param.yaml into each params dataclass of ``classes``
    (tests, benchmarks and tools that build a core without a node); ``changes`` override values."""
    from lsv_common.params import build_params

    sections = load_param_file(path)
    if "/**" not in sections:
        raise ParamFileError(f"{path}: no '/**' section (found {sorted(sections)})")
    values = {**sections["/**"], **(changes or {})}
    return tuple(build_params(cls, values, str(path)) for cls in classes)
