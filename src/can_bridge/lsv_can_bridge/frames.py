"""Pure frame builders and field codecs (opendbc's ``<brand>can.py`` role).

``encode_frame`` turns DBC signal values into payload bytes with the alive counter and the
checksum filled in; ``fields_to_signals`` / ``signals_to_fields`` translate between message
fields (``Command`` / ``Status`` or a plain mapping) and DBC signals using the YAML mapping.
Both directions are here because the simulated chassis ECU uses the same code the other
way round, so a mapping that round-trips here round-trips on the bus.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from typing import Any

from lsv_can_bridge import checksums
from lsv_can_bridge.chassis_config import ChassisConfig, MessageMap, SignalMap
from lsv_can_bridge.values import BOOL_FIELDS, INT_FIELDS, Command

Frame = tuple[int, bytes]


def _field_value(source: Any, sm: SignalMap) -> Any:
    value = source[sm.field] if isinstance(source, Mapping) else getattr(source, sm.field)
    return value[sm.index] if sm.index is not None else value


def signal_value(sm: SignalMap, value: Any) -> float:
    """The DBC physical value of signal ``sm`` for field value ``value`` (clamped to the signal range)."""
    if sm.bits:
        v = int(value)
        return float(sum(sig_bit for field_bit, sig_bit in sm.bits if v & field_bit))
    if sm.values:
        v = int(value)
        for field_value, dbc_value in sm.values:
            if field_value == v:
                return float(dbc_value)
        return float(v)  # unmapped values pass through unchanged
    x = float(value) * sm.scale + sm.offset
    if math.isnan(x):
        x = 0.0
    return min(max(x, sm.minimum), sm.maximum)


def fields_to_signals(mm: MessageMap, source: Any, page: int | None = None) -> dict[str, float]:
    """Every signal of message ``mm`` (and multiplexer page ``page``) from ``source`` fields."""
    values = dict(mm.templates[page if mm.multiplexer else None])
    for sm in mm.signals:
        if sm.pages is not None and page not in sm.pages:
            continue
        values[sm.signal] = signal_value(sm, _field_value(source, sm))
    return values


def signals_to_fields(mm: MessageMap, decoded: Mapping[str, Any], out: MutableMapping[str, Any]) -> None:
    """Write the fields carried by the decoded signals into ``out`` (arrays as lists)."""
    touched_bits: set[str] = set()
    for sm in mm.signals:
        if sm.signal not in decoded:
            continue  # signal of another multiplexer page
        raw = decoded[sm.signal]
        if sm.bits:
            if sm.field not in touched_bits:
                out[sm.field] = 0  # this message owns these bits: clear before OR-ing them in
                touched_bits.add(sm.field)
            r = int(raw)
            out[sm.field] = int(out[sm.field]) | sum(fb for fb, sb in sm.bits if r & sb)
            continue
        if sm.values:
            r = int(raw)
            value: Any = next((fv for fv, dv in sm.values if dv == r), r)
        else:
            value = (float(raw) - sm.offset) / sm.scale
            if sm.field in INT_FIELDS:
                value = round(value)
        if sm.field in BOOL_FIELDS:
            value = bool(value)
        if sm.index is not None:
            arr = out.setdefault(sm.field, [0.0] * 4)
            arr[sm.index] = value
        else:
            out[sm.field] = value


def encode_frame(mm: MessageMap, signals: Mapping[str, float], counter: int) -> bytes:
    """Payload of ``mm`` with ``signals``, alive counter ``counter`` and the checksum."""
    values = dict(signals)
    values[mm.counter] = counter % mm.counter_modulo
    values[mm.checksum] = 0
    data = bytearray(mm.dbc_message.encode(values, scaling=True, padding=False, strict=False))
    data[mm.checksum_byte] = checksums.compute(mm.checksum_fn, data, mm.checksum_byte)
    return bytes(data)


def checksum_ok(mm: MessageMap, data: bytes) -> bool:
    return data[mm.checksum_byte] == checksums.compute(mm.checksum_fn, data, mm.checksum_byte)


def build_command_frames(config: ChassisConfig, cmd: Command, counters: MutableMapping[int, int]) -> list[Frame]:
    """The frames for one command period: one per command message, each with the next alive
    counter (``counters`` maps frame id to the counter last sent and is advanced here)."""
    frames = []
    for mm in config.commands:
        counter = (counters.get(mm.frame_id, -1) + 1) % mm.counter_modulo
        counters[mm.frame_id] = counter
        frames.append((mm.frame_id, encode_frame(mm, fields_to_signals(mm, cmd), counter)))
    return frames


def build_status_frames(config: ChassisConfig, status: Any, counters: MutableMapping[int, int]) -> list[Frame]:
    """Every status frame of a chassis for ``status`` (every page of a multiplexed message),
    each with its next alive counter: what a chassis ECU sends (used by tests and tools)."""
    out = []
    for mm in config.status:
        for page in mm.pages or (None,):
            counter = (counters.get(mm.frame_id, -1) + 1) % mm.counter_modulo
            counters[mm.frame_id] = counter
            out.append((mm.frame_id, encode_frame(mm, fields_to_signals(mm, status, page), counter)))
    return out
