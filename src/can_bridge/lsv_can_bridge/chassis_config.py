"""Load and validate a chassis description: a DBC file plus the YAML mapping next to it.

The YAML says which DBC messages carry the stack's commands and the chassis status, which
signal of each message is the alive counter and which the checksum (and its algorithm),
and which ``VehicleCommand`` / ``VehicleStatus`` field each signal carries. Scaling lives
in the DBC; the YAML only adds unit conversions (``scale``), enum translations
(``values``) and bit assignments (``bits``). Example (see ``dbc/lsv_chassis.yaml``)::

    dbc: lsv_chassis.dbc                      # relative to this YAML
    command:
      - message: DRIVE_CMD
        role: drive                           # drive | steering | body
        counter: DRIVE_CMD_Counter
        checksum: {signal: DRIVE_CMD_Checksum, algorithm: xor8}
        signals:
          DRIVE_CMD_TargetAccel: acceleration_mps2
          DRIVE_CMD_Gear: {field: gear, values: {0: 0, 1: 1, 2: 2, 3: 3}}   # field value: DBC value
    status:
      - message: VEHICLE_STATUS
        counter: VEHICLE_STATUS_Counter
        checksum: {signal: VEHICLE_STATUS_Checksum, algorithm: xor8}
        signals:
          VEHICLE_STATUS_Speed: speed_mps
          VEHICLE_STATUS_SteerAngle: {field: steering_angle_rad, scale: -57.29578}  # DBC = field * scale

Everything wrong with a configuration raises ``ChassisConfigError`` (or ``DbcError`` for a
DBC that does not load) naming the file, the message and the signal.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cantools
import yaml

from lsv_can_bridge import checksums
from lsv_can_bridge.values import BOOL_FIELDS, COMMAND_FIELDS, INT_FIELDS, STATUS_FIELDS
from lsv_common import share

log = logging.getLogger(__name__)

PACKAGE = "lsv_can_bridge"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # src/can_bridge in a source checkout

ROLES = ("drive", "steering", "body")
#: fields a command mapping must carry (the chassis cannot be driven safely without them)
REQUIRED_COMMAND_FIELDS = ("acceleration_mps2", "steering_angle_rad", "gear", "enable", "emergency_stop")
REQUIRED_STATUS_FIELDS = ("speed_mps", "steering_angle_rad", "mode")


class ChassisConfigError(ValueError):
    """The chassis YAML mapping is missing, malformed or does not match its DBC."""


class DbcError(ChassisConfigError):
    """The DBC file is missing or does not parse."""


@dataclass(frozen=True)
class SignalMap:
    """One DBC signal and the message field it carries: ``dbc_value = field * scale + offset``.

    ``bits`` maps field bits to signal bits (bitfields such as ``lights``); ``values`` maps
    field values to DBC values (enums such as ``gear``).
    """

    signal: str
    field: str
    index: int | None = None
    scale: float = 1.0
    offset: float = 0.0
    bits: tuple[tuple[int, int], ...] = ()
    values: tuple[tuple[int, int], ...] = ()
    minimum: float = -math.inf  # DBC physical range of the signal (clamped to on encode)
    maximum: float = math.inf
    pages: tuple[int, ...] | None = None  # multiplexer values the signal belongs to (None: all)


@dataclass(frozen=True)
class MessageMap:
    """One DBC message of the mapping with its counter and checksum."""

    name: str
    frame_id: int
    is_extended: bool
    length: int
    period_ns: int
    counter: str
    counter_modulo: int
    checksum: str
    checksum_fn: checksums.ChecksumFn
    checksum_algorithm: str
    checksum_byte: int
    signals: tuple[SignalMap, ...]
    role: str = ""
    multiplexer: str | None = None
    pages: tuple[int, ...] = ()  # multiplexer values, in send order
    dbc_message: Any = field(default=None, compare=False, repr=False)
    #: per page (None for a plain message): every DBC signal of that page with value 0
    templates: Mapping[int | None, Mapping[str, float]] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ChassisConfig:
    """A validated chassis: DBC messages for commands (stack -> chassis) and status."""

    yaml_path: Path
    dbc_path: Path
    commands: tuple[MessageMap, ...]
    status: tuple[MessageMap, ...]
    bitrate: int | None = None

    def command(self, role: str) -> MessageMap | None:
        return next((m for m in self.commands if m.role == role), None)

    def command_fields(self) -> set[str]:
        return {s.field for m in self.commands for s in m.signals}

    @property
    def command_ids(self) -> frozenset[int]:
        return frozenset(m.frame_id for m in self.commands)

    @property
    def status_ids(self) -> frozenset[int]:
        return frozenset(m.frame_id for m in self.status)


def resolve_path(path: str | Path, base: Path | None = None) -> Path:
    """Resolve a configuration path: absolute as is; relative against ``base`` when given (a DBC next to
    its YAML); else from the working directory when it exists there, else in the package's share folder
    (``lsv_common.share``: ament index, source tree, the package's install prefix). A path found nowhere
    comes back as the first candidate, so the error names it."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    if base is not None:
        return base / p
    if p.exists():
        return p
    looked = share.candidates(PACKAGE, p)
    return next((c for c in looked if c.exists()), looked[0] if looked else p)


def load_chassis_config(path: str | Path) -> ChassisConfig:
    """Load the YAML mapping at ``path`` and its DBC; raise ChassisConfigError/DbcError."""
    yaml_path = resolve_path(path)
    if not yaml_path.is_file():
        where = ", ".join(str(c) for c in share.candidates(PACKAGE, path)) if not Path(path).is_absolute() else ""
        raise ChassisConfigError(f"{yaml_path}: chassis mapping file not found"
                                 + (f" (looked in: {where})" if where else ""))
    try:
        doc = yaml.safe_load(yaml_path.read_text())
    except yaml.YAMLError as err:
        raise ChassisConfigError(f"{yaml_path}: malformed YAML: {err}") from err
    if not isinstance(doc, dict):
        raise ChassisConfigError(f"{yaml_path}: expected a mapping with 'dbc', 'command' and 'status'")
    for key in ("dbc", "command", "status"):
        if key not in doc:
            raise ChassisConfigError(f"{yaml_path}: missing top-level key '{key}'")
    dbc_path = resolve_path(str(doc["dbc"]), base=yaml_path.parent)
    db = load_dbc(dbc_path)
    where = f"{yaml_path} (DBC {dbc_path})"
    commands = tuple(_message_map(db, m, where, COMMAND_FIELDS, is_command=True)
                     for m in _as_list(doc["command"], "command", yaml_path))
    status = tuple(_message_map(db, m, where, STATUS_FIELDS, is_command=False)
                   for m in _as_list(doc["status"], "status", yaml_path))
    _check_coverage(commands, REQUIRED_COMMAND_FIELDS, "command", where)
    _check_coverage(status, REQUIRED_STATUS_FIELDS, "status", where)
    roles = [m.role for m in commands]
    if roles.count("drive") != 1:
        raise ChassisConfigError(f"{where}: exactly one command message must have 'role: drive', got {roles}")
    ids = [m.frame_id for m in (*commands, *status)]
    if len(ids) != len(set(ids)):
        raise ChassisConfigError(f"{where}: a DBC message is mapped twice")
    bitrate = doc.get("bitrate")
    return ChassisConfig(yaml_path, dbc_path, commands, status, int(bitrate) if bitrate else None)


def load_dbc(dbc_path: Path) -> Any:
    if not dbc_path.is_file():
        raise DbcError(f"{dbc_path}: DBC file not found")
    try:
        return cantools.database.load_file(str(dbc_path), database_format="dbc", strict=True)
    except (cantools.database.UnsupportedDatabaseFormatError, cantools.database.Error, ValueError) as err:
        raise DbcError(f"{dbc_path}: DBC does not parse: {err}") from err


def _as_list(value: Any, key: str, path: Path) -> list[dict]:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise ChassisConfigError(f"{path}: '{key}' must be a non-empty list of message mappings")
    return value


_FIELD_RE = re.compile(r"^([a-z_0-9]+)(?:\[(\d+)\])?$")


def _message_map(db: Any, entry: dict, where: str, fields: Mapping[str, int], is_command: bool) -> MessageMap:
    name = entry.get("message")
    if not isinstance(name, str):
        raise ChassisConfigError(f"{where}: a message mapping has no 'message' name: {entry!r}")
    try:
        msg = db.get_message_by_name(name)
    except KeyError:
        raise ChassisConfigError(f"{where}: message '{name}' is not in the DBC") from None
    here = f"{where}, message '{name}'"
    dbc_signals = {s.name: s for s in msg.signals}

    def dbc_signal(sig_name: Any, what: str) -> Any:
        if not isinstance(sig_name, str) or not sig_name:
            raise ChassisConfigError(f"{here}: missing {what} signal")
        if sig_name not in dbc_signals:
            raise ChassisConfigError(f"{here}, signal '{sig_name}' ({what}): not in the DBC message "
                                     f"(has {sorted(dbc_signals)})")
        return dbc_signals[sig_name]

    counter = dbc_signal(entry.get("counter"), "counter")
    cks = entry.get("checksum")
    if not isinstance(cks, dict):
        raise ChassisConfigError(f"{here}: missing 'checksum: {{signal: ..., algorithm: ...}}'")
    checksum = dbc_signal(cks.get("signal"), "checksum")
    algorithm = cks.get("algorithm")
    if algorithm not in checksums.ALGORITHMS:
        raise ChassisConfigError(f"{here}, signal '{checksum.name}': checksum algorithm {algorithm!r} unknown, "
                                 f"expected one of {sorted(checksums.ALGORITHMS)}")
    if checksum.length != 8 or (checksum.start % 8) != (7 if checksum.byte_order == "big_endian" else 0):
        raise ChassisConfigError(f"{here}, signal '{checksum.name}': a checksum must fill one whole byte "
                                 f"(8 bits, byte-aligned), got start bit {checksum.start} length {checksum.length}")
    if counter.is_signed or counter.scale != 1 or counter.offset != 0:
        raise ChassisConfigError(f"{here}, signal '{counter.name}': a counter must be unsigned with scale 1, offset 0")
    for special in (counter, checksum):
        if special.multiplexer_ids:
            raise ChassisConfigError(f"{here}, signal '{special.name}': counter/checksum must not be multiplexed")

    role = entry.get("role", "")
    if is_command and role not in ROLES:
        raise ChassisConfigError(f"{here}: 'role' must be one of {list(ROLES)}, got {role!r}")

    mux_signals = [s for s in msg.signals if s.is_multiplexer]
    if len(mux_signals) > 1:
        raise ChassisConfigError(f"{here}: nested multiplexing is not supported")
    multiplexer = mux_signals[0].name if mux_signals else None
    pages: tuple[int, ...] = ()
    if multiplexer:
        pages = tuple(sorted({p for s in msg.signals for p in (s.multiplexer_ids or ())}))

    raw_signals = entry.get("signals")
    if not isinstance(raw_signals, dict) or not raw_signals:
        raise ChassisConfigError(f"{here}: 'signals' must map DBC signal names to fields")
    maps = []
    for sig_name, spec in raw_signals.items():
        sig = dbc_signal(sig_name, "mapped")
        if sig.name in (counter.name, checksum.name) or sig.name == multiplexer:
            raise ChassisConfigError(f"{here}, signal '{sig.name}': counter, checksum and multiplexer signals "
                                     f"are set by the bridge and cannot carry a field")
        maps.append(_signal_map(sig, spec, f"{here}, signal '{sig.name}'", fields))

    period_ms = entry.get("period_ms", msg.cycle_time)
    if not period_ms or period_ms <= 0:
        raise ChassisConfigError(f"{here}: no period: set GenMsgCycleTime in the DBC or 'period_ms' in the YAML")

    templates: dict[int | None, dict[str, float]] = {}
    for page in (pages or (None,)):
        templates[page] = {s.name: 0 for s in msg.signals
                           if not s.multiplexer_ids or (page is not None and page in s.multiplexer_ids)}
        if multiplexer:
            templates[page][multiplexer] = page
    return MessageMap(
        name=name, frame_id=msg.frame_id, is_extended=msg.is_extended_frame, length=msg.length,
        period_ns=int(period_ms * 1_000_000), counter=counter.name, counter_modulo=1 << counter.length,
        checksum=checksum.name, checksum_fn=checksums.ALGORITHMS[algorithm], checksum_algorithm=algorithm,
        checksum_byte=checksum.start // 8, signals=tuple(maps), role=role, multiplexer=multiplexer,
        pages=pages, dbc_message=msg, templates=templates)


def _signal_map(sig: Any, spec: Any, here: str, fields: Mapping[str, int]) -> SignalMap:
    if isinstance(spec, str):
        spec = {"field": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("field"), str):
        raise ChassisConfigError(f"{here}: expected a field name or {{field: ..., scale/values/bits: ...}}, "
                                 f"got {spec!r}")
    unknown = set(spec) - {"field", "scale", "offset", "bits", "bit", "values"}
    if unknown:
        raise ChassisConfigError(f"{here}: unknown keys {sorted(unknown)}")
    m = _FIELD_RE.match(spec["field"])
    if not m or m.group(1) not in fields:
        raise ChassisConfigError(f"{here}: field '{spec['field']}' is not a message field (one of {sorted(fields)})")
    fname, index = m.group(1), m.group(2)
    size = fields[fname]
    if (size == 0) != (index is None) or (index is not None and int(index) >= size):
        raise ChassisConfigError(f"{here}: field '{spec['field']}' needs an index in [0, {size - 1}]"
                                 if size else f"{here}: field '{fname}' is not an array")
    bits: dict[int, int] = {}
    if "bit" in spec:
        bits[int(spec["bit"])] = 1
    bits.update({int(k): int(v) for k, v in (spec.get("bits") or {}).items()})
    values = {int(k): int(v) for k, v in (spec.get("values") or {}).items()}
    if (bits or values) and fname not in INT_FIELDS:
        raise ChassisConfigError(f"{here}: 'bits'/'values' only apply to integer fields {sorted(INT_FIELDS)}")
    if fname in BOOL_FIELDS and sig.length < 1:
        raise ChassisConfigError(f"{here}: boolean field needs a signal of at least 1 bit")
    for sig_bit in bits.values():
        if sig_bit <= 0 or sig_bit >= (1 << sig.length):
            raise ChassisConfigError(f"{here}: signal bit {sig_bit} does not fit in {sig.length} bits")
    scale = float(spec.get("scale", 1.0))
    if scale == 0.0:
        raise ChassisConfigError(f"{here}: 'scale' must not be 0")
    lo = sig.minimum if sig.minimum is not None else -math.inf
    hi = sig.maximum if sig.maximum is not None else math.inf
    # never encode outside what the raw bits can hold, whatever the DBC range says
    raw_lo = -(1 << (sig.length - 1)) if sig.is_signed else 0
    raw_hi = (1 << (sig.length - 1)) - 1 if sig.is_signed else (1 << sig.length) - 1
    phys = sorted((raw_lo * sig.scale + sig.offset, raw_hi * sig.scale + sig.offset))
    lo, hi = max(lo, phys[0]), min(hi, phys[1])
    if not sig.is_float:
        # onto the raw grid, inwards: a limit between two raw steps must not round outside the
        # DBC range on encode (the receiving side rejects frames with values outside it)
        r_lo, r_hi = sorted(((lo - sig.offset) / sig.scale, (hi - sig.offset) / sig.scale))
        r_lo, r_hi = math.ceil(r_lo - 1e-6), math.floor(r_hi + 1e-6)
        lo, hi = sorted((r_lo * sig.scale + sig.offset, r_hi * sig.scale + sig.offset))
    return SignalMap(signal=sig.name, field=fname, index=None if index is None else int(index), scale=scale,
                     offset=float(spec.get("offset", 0.0)), bits=tuple(sorted(bits.items())),
                     values=tuple(sorted(values.items())), minimum=float(lo), maximum=float(hi),
                     pages=tuple(sig.multiplexer_ids) if sig.multiplexer_ids else None)


def _check_coverage(messages: tuple[MessageMap, ...], required: tuple[str, ...], kind: str, where: str) -> None:
    mapped = {s.field for m in messages for s in m.signals}
    missing = [f for f in required if f not in mapped]
    if missing:
        raise ChassisConfigError(f"{where}: the {kind} mapping does not carry the required fields {missing}")
