"""Read ROS 2 YAML launch files (the ``launch_yaml`` frontend format) into a plan of node
processes, so that the same files run with ``ros2 launch`` on a full ROS 2 and with
``lsv launch`` here.

Supported actions: ``arg``, ``let``, ``node``, ``include``, ``group`` (with
``push-ros-namespace``), ``set_env``; ``if``/``unless`` on every action. Substitutions:
``$(var n)``, ``$(env NAME [default])``, ``$(find-pkg-share pkg)``,
``$(find-pkg-prefix pkg)``, ``$(dirname)``, ``$(filename)``. Anything else is reported as
unsupported with the file and the entry, never silently ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lsv_bringup.packages import Executable, PackageIndex, PackageNotFoundError
from lsv_common.paramfile import ParamFileError, load_param_file


class LaunchFileError(ValueError):
    """A launch file is missing, malformed, or refers to something that does not exist."""


@dataclass
class NodeSpec:
    """One node process of the plan."""

    package: str
    executable: Executable
    name: str
    namespace: str = "/"
    params_files: list[Path] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    remaps: list[tuple[str, str]] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    respawn: bool = False
    respawn_delay_s: float = 0.0
    output: str = "log"  # "screen" also echoes the node's output on the launcher's stdout
    shutdown_on_exit: bool = False  # `on_exit: shutdown`: the launch ends when this node exits
    source: str = ""      # "file: node #i", for messages

    @property
    def fqn(self) -> str:
        ns = self.namespace.rstrip("/")
        return f"{ns}/{self.name}"

    def ros_args(self) -> list[str]:
        out = ["--ros-args", "-r", f"__node:={self.name}"]
        if self.namespace not in ("", "/"):
            out += ["-r", f"__ns:={self.namespace}"]
        for path in self.params_files:
            out += ["--params-file", str(path)]
        for key, value in self.params.items():
            out += ["-p", f"{key}:={value}"]
        for src, dst in self.remaps:
            out += ["-r", f"{src}:={dst}"]
        return out


@dataclass
class LaunchPlan:
    nodes: list[NodeSpec]
    env: dict[str, str]
    args: dict[str, str]


_SUBST = re.compile(r"\$\(([^()$]*)\)")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
ACTIONS = ("arg", "let", "node", "include", "group", "set_env", "push-ros-namespace")


@dataclass
class _Scope:
    vars: dict[str, str]
    namespace: str
    file: Path


class LaunchLoader:
    """Turns a launch file and its arguments into a LaunchPlan, checking every reference."""

    def __init__(self, index: PackageIndex | None = None):
        self.index = index or PackageIndex()
        self._env: dict[str, str] = {}
        self._nodes: list[NodeSpec] = []
        self._depth = 0

    def load(self, path: str | Path, args: dict[str, str] | None = None) -> LaunchPlan:
        file = Path(path).resolve()
        top_args = dict(args or {})
        scope = _Scope(vars={}, namespace="/", file=file)
        declared = self._load_file(file, top_args, scope)
        unknown = sorted(set(top_args) - set(declared))
        if unknown:
            raise LaunchFileError(f"{file}: unknown launch argument(s) {unknown}; it declares {sorted(declared)}")
        names: dict[str, str] = {}
        for node in self._nodes:
            if node.fqn in names:
                raise LaunchFileError(f"node name '{node.fqn}' used twice: {names[node.fqn]} and {node.source}")
            names[node.fqn] = node.source
        return LaunchPlan(self._nodes, self._env, {k: scope.vars[k] for k in declared if k in scope.vars})

    # -- files and entities -------------------------------------------------------------

    def _load_file(self, file: Path, given: dict[str, str], scope: _Scope) -> list[str]:
        if self._depth > 20:
            raise LaunchFileError(f"{file}: includes nested more than 20 deep (an include cycle?)")
        if not file.is_file():
            raise LaunchFileError(f"launch file not found: {file}")
        if not file.name.endswith((".yaml", ".yml")):
            raise LaunchFileError(f"{file}: only YAML launch files are supported here (*.launch.yaml)")
        try:
            doc = yaml.safe_load(file.read_text())
        except yaml.YAMLError as err:
            raise LaunchFileError(f"{file}: malformed YAML: {err}") from err
        if not isinstance(doc, dict) or not isinstance(doc.get("launch"), list):
            raise LaunchFileError(f"{file}: expected a top-level 'launch:' list of actions")
        scope.file = file
        declared: list[str] = []
        self._depth += 1
        try:
            self._entities(doc["launch"], scope, given, declared)
        finally:
            self._depth -= 1
        return declared

    def _entities(self, entities: list[Any], scope: _Scope, given: dict[str, str], declared: list[str]) -> None:
        for i, entity in enumerate(entities):
            where = f"{scope.file}: entry #{i + 1}"
            if not isinstance(entity, dict) or len(entity) != 1:
                raise LaunchFileError(
                    f"{where}: each entry must be a mapping with one action key ({', '.join(ACTIONS)})")
            (kind, body), = entity.items()
            if kind not in ACTIONS:
                raise LaunchFileError(f"{where}: unsupported action '{kind}' (supported: {', '.join(ACTIONS)})")
            if not isinstance(body, dict):
                raise LaunchFileError(f"{where}: '{kind}' needs a mapping of attributes")
            where = f"{where} ({kind})"
            if not self._condition(body, scope, where):
                continue
            if kind == "arg":
                name = self._required(body, "name", where)
                declared.append(name)
                if name in given:
                    scope.vars[name] = given[name]
                elif "default" in body:
                    scope.vars[name] = self._subst(body["default"], scope, where)
                else:
                    raise LaunchFileError(f"{where}: launch argument '{name}' has no default; pass {name}:=VALUE")
            elif kind == "let":
                scope.vars[self._required(body, "name", where)] = self._subst(self._required(body, "value", where),
                                                                              scope, where)
            elif kind == "set_env":
                value = self._subst(self._required(body, "value", where), scope, where)
                self._env[self._required(body, "name", where)] = value
            elif kind == "push-ros-namespace":
                scope.namespace = _join_ns(scope.namespace, self._subst(self._required(body, "namespace", where),
                                                                        scope, where))
            elif kind == "group":
                children = body.get("children", [])
                if not isinstance(children, list):
                    raise LaunchFileError(f"{where}: 'children' must be a list")
                scoped = str(body.get("scoped", "true")).lower() in _TRUE
                inner = _Scope(dict(scope.vars), scope.namespace, scope.file) if scoped else scope
                if "namespace" in body:
                    inner.namespace = _join_ns(inner.namespace, self._subst(body["namespace"], scope, where))
                self._entities(children, inner, {}, declared if not scoped else [])
            elif kind == "include":
                self._include(body, scope, where)
            elif kind == "node":
                self._nodes.append(self._node(body, scope, where))

    def _include(self, body: dict, scope: _Scope, where: str) -> None:
        target = Path(self._subst(self._required(body, "file", where), scope, where))
        if not target.is_absolute():
            target = (scope.file.parent / target).resolve()
        given = {}
        for item in body.get("arg", []) or []:
            if not isinstance(item, dict) or "name" not in item or "value" not in item:
                raise LaunchFileError(f"{where}: each include 'arg' needs 'name' and 'value'")
            given[str(item["name"])] = self._subst(item["value"], scope, where)
        if not target.is_file():
            raise LaunchFileError(f"{where}: included launch file not found: {target}")
        inner = _Scope({}, scope.namespace, target)
        declared = self._load_file(target, given, inner)
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise LaunchFileError(f"{where}: {target.name} has no launch argument(s) {unknown}")

    def _node(self, body: dict, scope: _Scope, where: str) -> NodeSpec:
        known = {"pkg", "exec", "name", "namespace", "param", "remap", "respawn", "respawn_delay", "output",
                 "args", "ros_args", "env", "if", "unless", "launch-prefix", "on_exit"}
        extra = sorted(set(body) - known)
        if extra:
            raise LaunchFileError(f"{where}: unknown node attribute(s) {extra}")
        pkg = self._subst(self._required(body, "pkg", where), scope, where)
        exe_name = self._subst(self._required(body, "exec", where), scope, where)
        try:
            exe = self.index.executable(pkg, exe_name)
        except PackageNotFoundError as err:
            raise LaunchFileError(f"{where}: {err}") from err
        name = self._subst(body.get("name", exe_name), scope, where)
        ns = _join_ns(scope.namespace, self._subst(body.get("namespace", ""), scope, where))
        spec = NodeSpec(pkg, exe, name, ns, source=where)
        for item in body.get("param", []) or []:
            if not isinstance(item, dict):
                raise LaunchFileError(f"{where}: each 'param' item needs 'from' or 'name'/'value'")
            if "from" in item:
                path = Path(self._subst(item["from"], scope, where))
                if not path.is_absolute():
                    path = (scope.file.parent / path).resolve()
                try:
                    load_param_file(path)
                except ParamFileError as err:
                    raise LaunchFileError(f"{where}: {err}") from err
                spec.params_files.append(path)
            elif "name" in item and "value" in item:
                spec.params[str(item["name"])] = self._subst(item["value"], scope, where)
            else:
                raise LaunchFileError(f"{where}: a 'param' item needs 'from: FILE' or 'name' and 'value'")
        for item in body.get("remap", []) or []:
            if not isinstance(item, dict) or "from" not in item or "to" not in item:
                raise LaunchFileError(f"{where}: each 'remap' needs 'from' and 'to'")
            spec.remaps.append((self._subst(item["from"], scope, where), self._subst(item["to"], scope, where)))
        for item in body.get("env", []) or []:
            if not isinstance(item, dict) or "name" not in item or "value" not in item:
                raise LaunchFileError(f"{where}: each 'env' needs 'name' and 'value'")
            spec.env[str(item["name"])] = self._subst(item["value"], scope, where)
        if "args" in body:
            spec.args = self._subst(body["args"], scope, where).split()
        if "ros_args" in body:
            spec.args += ["--ros-args", *self._subst(body["ros_args"], scope, where).split()]
        if "launch-prefix" in body:
            raise LaunchFileError(f"{where}: 'launch-prefix' is not supported by lsv launch")
        spec.respawn = self._bool(body.get("respawn", False), scope, where)
        spec.respawn_delay_s = float(self._subst(body.get("respawn_delay", 0.0), scope, where))
        if "on_exit" in body:
            action = self._subst(body["on_exit"], scope, where)
            if action != "shutdown":
                raise LaunchFileError(f"{where}: on_exit supports 'shutdown' only, got '{action}'")
            spec.shutdown_on_exit = True
        spec.output = self._subst(body.get("output", "log"), scope, where)
        if spec.output not in ("log", "screen", "both"):
            raise LaunchFileError(f"{where}: output must be log, screen or both, got '{spec.output}'")
        return spec

    # -- values ---------------------------------------------------------------------------

    def _required(self, body: dict, key: str, where: str) -> Any:
        if key not in body:
            raise LaunchFileError(f"{where}: missing required attribute '{key}'")
        return body[key]

    def _condition(self, body: dict, scope: _Scope, where: str) -> bool:
        if "if" in body and not self._bool(body["if"], scope, where):
            return False
        return not ("unless" in body and self._bool(body["unless"], scope, where))

    def _bool(self, value: Any, scope: _Scope, where: str) -> bool:
        text = self._subst(value, scope, where).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise LaunchFileError(f"{where}: expected true or false, got '{text}'")

    def _subst(self, value: Any, scope: _Scope, where: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, dict)):
            raise LaunchFileError(f"{where}: expected a scalar value, got {value!r}")
        text = str(value)
        while True:
            match = _SUBST.search(text)
            if match is None:
                return text
            text = text[:match.start()] + self._resolve(match.group(1).split(), scope, where) + text[match.end():]

    def _resolve(self, parts: list[str], scope: _Scope, where: str) -> str:
        if not parts:
            raise LaunchFileError(f"{where}: empty substitution $()")
        kind, *rest = parts
        if kind == "var":
            if len(rest) != 1:
                raise LaunchFileError(f"{where}: $(var NAME) takes one name")
            if rest[0] not in scope.vars:
                raise LaunchFileError(f"{where}: $(var {rest[0]}) is not a declared launch argument or 'let'")
            return scope.vars[rest[0]]
        if kind == "env":
            if rest and rest[0] in os.environ:
                return os.environ[rest[0]]
            if len(rest) >= 2:
                return " ".join(rest[1:])
            raise LaunchFileError(f"{where}: environment variable '{rest[0] if rest else ''}' is not set")
        if kind in ("find-pkg-share", "find-pkg-prefix"):
            if len(rest) != 1:
                raise LaunchFileError(f"{where}: $({kind} PACKAGE) takes one package name")
            try:
                share = self.index.get(rest[0]).share
            except PackageNotFoundError as err:
                raise LaunchFileError(f"{where}: {err}") from err
            return str(share if kind == "find-pkg-share" else share.parent.parent)
        if kind == "dirname":
            return str(scope.file.parent)
        if kind == "filename":
            return str(scope.file)
        raise LaunchFileError(f"{where}: unsupported substitution $({' '.join(parts)}) "
                              "(supported: var, env, find-pkg-share, find-pkg-prefix, dirname, filename)")


def _join_ns(base: str, ns: str) -> str:
    if not ns:
        return base or "/"
    if ns.startswith("/"):
        return ns.rstrip("/") or "/"
    return (base.rstrip("/") + "/" + ns.strip("/")) if base not in ("", "/") else "/" + ns.strip("/")


def parse_launch_args(items: list[str]) -> dict[str, str]:
    """Parse ``name:=value`` command-line items."""
    out = {}
    for item in items:
        if ":=" not in item:
            raise LaunchFileError(f"launch arguments are NAME:=VALUE, got '{item}'")
        key, value = item.split(":=", 1)
        out[key] = value
    return out
