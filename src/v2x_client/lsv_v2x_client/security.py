"""Signed V2X messages (pure; time is an argument): envelope, trust store, checks.

A road-side unit signs each UPER MessageFrame in the style of IEEE 1609.2 / YD/T 3957-2021
(ECDSA over NIST P-256 with SHA-256). The envelope, all integers big-endian::

    offset   bytes  field
    0        1      0xF3: envelope marker (no UPER MessageFrame starts with 0xF_: a choice index
                    of 7 does not exist) and protocol version 3 (as 1609.2's protocolVersion)
    1        1      message type (the PSID's role): 1 BSM, 2 MAP, 3 SPaT, 4 RSI, 5 RSM
    2        8      signer id, HashedId8-style: the last 8 bytes of SHA-256 over the signer's
                    public key (X9.62 uncompressed point, 65 bytes)
    10       8      generation time: microseconds since 1970-01-01 UTC
    18       2      payload length N
    20       N      payload: the UPER MessageFrame
    20 + N   64     signature: r || s (32 bytes each) of ECDSA P-256 over SHA-256(bytes 0 .. 20 + N)

How this differs from full 1609.2 (and YD/T 3957, its Chinese counterpart): the real one is an
``Ieee1609Dot2Data`` in COER with a ``HeaderInfo`` (psid, generation and expiry time,
location, ...), a signer that is the HashedId8 of a *certificate* (or the certificate itself)
issued by a PKI (SCMS / China's CCMS) and checked up a chain to a root with its region and
PSID/SSP permissions, revocation lists, pseudonym certificates, signatures over
Hash(Hash(data) || Hash(certificate)), generation time in TAI microseconds since 2004, and SM2
/ SM3 beside ECDSA in China. Here: a fixed binary layout, the signer identified by its public
key, trust = a flat list of keys with a validity window and permitted message types (no
chain, no revocation), our own type codes instead of registered PSIDs/AIDs, UTC since 1970.
An OBU that verifies 1609.2 itself and forwards the bare payload gives this client nothing to
check: such messages count as unauthenticated.

A signed datagram counts as authenticated when: the signer is in the trust store, may sign
that message type, its generation time is within ``max_age_s`` / ``max_future_s`` of now and
within the key's validity, and the signature verifies; each failure is a drop reason. A key
marked ``test_only`` (the simulated RSU's) is honoured only when the caller allows it (the
node: on simulated time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lsv_v2x_client.checks import DropReason
from lsv_v2x_client.messages import MessageKind

ENVELOPE_MARKER = 0xF3
_HEADER = struct.Struct(">BB8sQH")
HEADER_BYTES = _HEADER.size  # 20
SIGNATURE_BYTES = 64
OVERHEAD_BYTES = HEADER_BYTES + SIGNATURE_BYTES
TYPE_CODES = {MessageKind.BSM: 1, MessageKind.MAP: 2, MessageKind.SPAT: 3, MessageKind.RSI: 4, MessageKind.RSM: 5}
_KINDS = {v: k for k, v in TYPE_CODES.items()}
US = 1_000  # ns per microsecond
_ECDSA = ec.ECDSA(hashes.SHA256())


class SecurityError(ValueError):
    """A trust store or key that cannot be used; the message names the file, entry and field."""


class EnvelopeError(ValueError):
    """A datagram that starts like a signed envelope but is not a well-formed one."""


@dataclass(frozen=True)
class Envelope:
    kind: MessageKind
    signer_id: bytes  # 8 bytes
    generation_us: int  # UTC
    payload: bytes  # the UPER MessageFrame
    signed: bytes  # header + payload: what the signature covers
    signature: bytes  # r || s


def is_envelope(data: bytes) -> bool:
    """True when ``data`` starts like an envelope (a bare UPER MessageFrame never does; other 0xF_ bytes are
    neither: malformed)."""
    return len(data) > 0 and data[0] == ENVELOPE_MARKER


def parse_envelope(data: bytes) -> Envelope:
    """The envelope's fields; EnvelopeError for a wrong version, type, or length."""
    if len(data) < OVERHEAD_BYTES + 1:
        raise EnvelopeError(f"{len(data)} bytes, an envelope has at least {OVERHEAD_BYTES + 1}")
    marker, code, signer, gen_us, n = _HEADER.unpack_from(data)
    if marker != ENVELOPE_MARKER:
        raise EnvelopeError(f"envelope marker/version 0x{marker:02X}, expected 0x{ENVELOPE_MARKER:02X}")
    kind = _KINDS.get(code)
    if kind is None:
        raise EnvelopeError(f"message type code {code}, known: {sorted(_KINDS)}")
    if len(data) != HEADER_BYTES + n + SIGNATURE_BYTES:
        raise EnvelopeError(f"payload length {n} does not match the datagram's {len(data)} bytes")
    end = HEADER_BYTES + n
    return Envelope(kind, signer, gen_us, data[HEADER_BYTES:end], data[:end], data[end:])


def public_key_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """X9.62 uncompressed point (65 bytes)."""
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def signer_id(key: ec.EllipticCurvePublicKey) -> bytes:
    """HashedId8-style id: the last 8 bytes of SHA-256 over the uncompressed public key."""
    return hashlib.sha256(public_key_bytes(key)).digest()[-8:]


def sign(payload: bytes, kind: MessageKind, key: ec.EllipticCurvePrivateKey, generation_us: int) -> bytes:
    """The envelope around ``payload``, signed with ``key`` (what a road-side unit sends)."""
    signed = _HEADER.pack(ENVELOPE_MARKER, TYPE_CODES[kind], signer_id(key.public_key()), generation_us,
                          len(payload)) + payload
    r, s = decode_dss_signature(key.sign(signed, _ECDSA))
    return signed + r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify(env: Envelope, key: ec.EllipticCurvePublicKey) -> bool:
    sig = encode_dss_signature(int.from_bytes(env.signature[:32], "big"), int.from_bytes(env.signature[32:], "big"))
    try:
        key.verify(sig, env.signed, _ECDSA)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Certificate:
    """One trusted signer (a road-side unit's key)."""

    name: str
    public_key: ec.EllipticCurvePublicKey
    valid_from_us: int
    valid_until_us: int
    permitted: frozenset[MessageKind]
    test_only: bool = False

    @property
    def signer_id(self) -> bytes:
        return signer_id(self.public_key)


class TrustStore:
    """The trusted signers by signer id."""

    def __init__(self, certificates: Iterable[Certificate] = ()):
        self._by_id = {c.signer_id: c for c in certificates}

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, signer: bytes) -> Certificate | None:
        return self._by_id.get(signer)

    def check(self, env: Envelope, now_ns: int, max_age_s: float, max_future_s: float) -> Certificate | DropReason:
        """The signer's certificate when ``env`` is authentic and valid now, else why not."""
        cert = self._by_id.get(env.signer_id)
        if cert is None:
            return DropReason.UNKNOWN_SIGNER
        if env.kind not in cert.permitted:
            return DropReason.NOT_PERMITTED
        gen_ns = env.generation_us * US
        if now_ns - gen_ns > max_age_s * 1e9 or gen_ns - now_ns > max_future_s * 1e9:
            return DropReason.GENERATION_TIME
        if not cert.valid_from_us <= env.generation_us <= cert.valid_until_us:
            return DropReason.CERT_INVALID
        if not verify(env, cert.public_key):
            return DropReason.BAD_SIGNATURE
        return cert


def _time_us(value: Any, where: str) -> int:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise SecurityError(f"{where}: {value!r} is not an ISO 8601 time (e.g. 2026-01-01T00:00:00Z)") from err
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise SecurityError(f"{where}: expected a UTC time such as 2026-01-01T00:00:00Z, got {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return round(value.timestamp() * 1e6)


def certificate_from_dict(entry: Any, where: str) -> Certificate:
    """One trust store entry: {id, public_key (hex, 65-byte uncompressed P-256 point), valid_from,
    valid_until, permitted: [bsm|map|spat|rsi|rsm, ...], test_only (optional, default false)}."""
    if not isinstance(entry, dict):
        raise SecurityError(f"{where}: expected a mapping with id, public_key, valid_from, valid_until, permitted")
    missing = [k for k in ("id", "public_key", "valid_from", "valid_until", "permitted") if k not in entry]
    if missing:
        raise SecurityError(f"{where}: missing {', '.join(missing)}")
    name = str(entry["id"])
    try:
        point = bytes.fromhex(str(entry["public_key"]))
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as err:
        raise SecurityError(f"{where} ({name}): public_key is not the hex of an uncompressed P-256 point "
                            f"(65 bytes, 04...): {err}") from err
    permitted = entry["permitted"]
    names = {k.value: k for k in MessageKind}
    if not isinstance(permitted, list) or not permitted or any(p not in names for p in permitted):
        raise SecurityError(f"{where} ({name}): permitted must be a list of {sorted(names)}, got {permitted!r}")
    lo, hi = _time_us(entry["valid_from"], f"{where} ({name}).valid_from"), \
        _time_us(entry["valid_until"], f"{where} ({name}).valid_until")
    if hi <= lo:
        raise SecurityError(f"{where} ({name}): valid_until is not after valid_from")
    return Certificate(name, key, lo, hi, frozenset(names[p] for p in permitted), bool(entry.get("test_only", False)))


def load_trust_store(path: str | Path, allow_test_only: bool) -> tuple[TrustStore, list[str]]:
    """The trust store file (YAML ``certificates: [...]``) and the names of the test-only entries left
    out because ``allow_test_only`` is false. Raises SecurityError naming the file and the entry."""
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise SecurityError(f"trust store {path}: cannot read it: {err}") from err
    entries = doc.get("certificates") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise SecurityError(f"trust store {path}: expected 'certificates:' with a list of entries")
    certs = [certificate_from_dict(e, f"trust store {path}, certificates[{i}]") for i, e in enumerate(entries)]
    ignored = [c.name for c in certs if c.test_only and not allow_test_only]
    return TrustStore(c for c in certs if allow_test_only or not c.test_only), ignored
