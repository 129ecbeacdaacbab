"""V2X codec: profile registry (ASN.1 module + mapping) and UPER decode/encode (pure).

A profile is an ASN.1 module plus two functions mapping its decoded values to the
profile-neutral dataclasses of ``lsv_v2x_client.messages`` and back. ``csae53``
(T/CSAE 53-2020) is built in; SAE J2735 would be another module and mapping registered with
``register_profile`` - the node only ever calls ``Codec(name).decode(data)``.

``Codec.decode`` raises only ``V2xDecodeError`` (with a ``reason`` the node counts), never
anything else, whatever bytes it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asn1tools

from lsv_v2x_client.messages import MessageKind, V2xMessage

_log = logging.getLogger(__name__)

MAX_DATAGRAM = 16384  # bytes; an RSU MessageFrame is usually < 2 kB, a 10-intersection MAP ~4.5 kB


class V2xDecodeError(ValueError):
    """A datagram could not be turned into a message. ``reason``: oversized, malformed, unsupported."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"V2X {reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Profile:
    """One V2X message set: where its ASN.1 lives and how its values map to our dataclasses."""

    name: str
    asn1_dir: Callable[[], Path]
    asn1_files: tuple[str, ...]
    pdu: str
    to_message: Callable[[Any], V2xMessage]
    from_message: Callable[[V2xMessage], Any]
    description: str = ""
    # the message type from the first bits, without decoding (None: an extension alternative;
    # ValueError: no such alternative); a profile without it gets no per-type size limit
    frame_kind: Callable[[bytes], MessageKind | None] | None = None


_PROFILES: dict[str, Profile] = {}
_COMPILED: dict[tuple[str, ...], Any] = {}


def register_profile(profile: Profile) -> None:
    _PROFILES[profile.name] = profile


def profile_names() -> tuple[str, ...]:
    return tuple(sorted(_PROFILES))


def get_profile(name: str) -> Profile:
    try:
        return _PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown V2X profile {name!r}; known: {', '.join(profile_names())}") from None


def _register_builtin() -> None:
    from lsv_v2x_client import csae53

    register_profile(Profile("csae53", csae53.asn1_dir, csae53.ASN1_FILES, csae53.PDU, csae53.to_message,
                             csae53.from_message, "T/CSAE 53-2020 (China C-V2X phase 1)", csae53.frame_kind))


_register_builtin()

# What asn1tools / the mapping may raise on bad input. asn1tools raises its own Error for most
# problems; a few truncated or inconsistent inputs surface as the built-in errors listed here
# (found by test_fuzz.py). NotImplementedError: asn1tools does not decode an extension-addition
# count above 64, which no message of this profile has - for us that is a malformed datagram.
_DECODE_ERRORS = (asn1tools.Error, ValueError, KeyError, IndexError, TypeError, OverflowError, AttributeError,
                  UnicodeDecodeError, RecursionError, NotImplementedError)


class Codec:
    """UPER encoder/decoder of one profile. Compiling the ASN.1 takes ~1 s; it is done once per process."""

    def __init__(self, profile: str = "csae53", max_size: int = MAX_DATAGRAM):
        self.profile = get_profile(profile)
        self.max_size = max_size
        files = tuple(str(self.profile.asn1_dir() / f) for f in self.profile.asn1_files)
        if files not in _COMPILED:
            _COMPILED[files] = asn1tools.compile_files(list(files), "uper")
        self._spec = _COMPILED[files]

    def decode_value(self, data: bytes) -> Any:
        """Datagram -> raw decoded ASN.1 value (dicts/tuples), constraints checked."""
        if len(data) > self.max_size:
            raise V2xDecodeError("oversized", f"{len(data)} bytes, limit {self.max_size}")
        if not data:
            raise V2xDecodeError("malformed", "empty datagram")
        try:
            return self._spec.decode(self.profile.pdu, bytes(data), check_constraints=True)
        except _DECODE_ERRORS as err:
            raise V2xDecodeError("malformed", f"{type(err).__name__}: {err}") from err

    def frame_kind(self, data: bytes) -> MessageKind | None:
        """The message type from the first bits, without decoding (None: the profile cannot tell).
        Raises V2xDecodeError: ``unsupported`` for a later version's alternative, ``malformed``."""
        if self.profile.frame_kind is None:
            return None
        try:
            kind = self.profile.frame_kind(data)
        except ValueError as err:
            raise V2xDecodeError("malformed", str(err)) from err
        if kind is None:
            raise V2xDecodeError("unsupported", "MessageFrame extension alternative (a later version)")
        return kind

    def decode(self, data: bytes) -> V2xMessage:
        """Datagram -> message dataclass. Raises V2xDecodeError only."""
        value = self.decode_value(data)
        if value is None or (isinstance(value, tuple) and value and value[1] is None):
            raise V2xDecodeError("unsupported", "unknown MessageFrame extension")
        try:
            return self.profile.to_message(value)
        except _DECODE_ERRORS as err:
            reason = "unsupported" if "not supported" in str(err) or isinstance(err, KeyError) else "malformed"
            raise V2xDecodeError(reason, f"{type(err).__name__}: {err}") from err

    def encode_value(self, value: Any) -> bytes:
        return self._spec.encode(self.profile.pdu, value, check_constraints=True)

    def encode(self, message: V2xMessage) -> bytes:
        """Message dataclass -> UPER bytes (raises asn1tools.EncodeError on out-of-range values)."""
        return self.encode_value(self.profile.from_message(message))
