"""Signed V2X (safety review item 6): a forged SPaT green must never reach the planner as authenticated.

Envelope, trust store, every drop reason (checked before decoding), authenticity carried to the
signal states, and the simulator's TEST key against the simulator's trust store.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from lsv_v2x_client import samples, security, timeref
from lsv_v2x_client.checks import EgoState
from lsv_v2x_client.core import V2xClientCore
from lsv_v2x_client.messages import LightState, MessageKind
from lsv_v2x_client.params import params_from_yaml

NS = timeref.NS
MOY = 470_000
MSG_NS = timeref.year_start_ns(2026) + MOY * timeref.MINUTE_NS + 12_000 * timeref.MS  # the samples' time
NOW = MSG_NS + 100 * timeref.MS
YEAR_US = 365 * 24 * 3600 * 1_000_000
RSU_KEY = ec.generate_private_key(ec.SECP256R1())
ROGUE_KEY = ec.generate_private_key(ec.SECP256R1())
SIM_TRUST_STORE = Path(__file__).resolve().parents[1] / "config" / "trust_store.sim.yaml"


def cert(key=RSU_KEY, permitted=frozenset(MessageKind), from_us=NOW // 1000 - YEAR_US,
         until_us=NOW // 1000 + YEAR_US) -> security.Certificate:
    return security.Certificate("rsu-101", key.public_key(), from_us, until_us, permitted)


def make_core(*certs, **changes) -> V2xClientCore:
    core = V2xClientCore(params_from_yaml(**changes), security.TrustStore(certs or (cert(),)))
    core.set_ego(EgoState(0.0, -30.0, math.pi / 2, 4.0, NOW))
    calls = []
    decode = core.codec.decode
    core.codec.decode = lambda data: calls.append(1) or decode(data)
    core.decode_calls = calls  # type: ignore[attr-defined]
    return core


def spat(red: bool, msg_count: int = 5):
    return samples.spat_message(msg_count=msg_count, red_phases=(1, 2, 3, 4) if red else ())


def signed(core: V2xClientCore, msg, key=RSU_KEY, generation_ns: int = NOW) -> bytes:
    return security.sign(core.codec.encode(msg), msg.kind, key, generation_ns // 1000)


def drops(core: V2xClientCore) -> dict[str, int]:
    return {k.removeprefix("dropped."): v for k, v in core.drop_counts().items() if v and k.startswith("dropped.")}


def phase2(core: V2xClientCore) -> list[tuple[LightState, bool]]:
    return sorted({(s.state, s.authenticated) for s in core.outputs(NOW).signals if s.phase_id == 2})


# -- the hazard: a forged SPaT green --------------------------------------------------------------
def test_forged_spat_green_signed_with_an_untrusted_key_is_dropped_before_decoding():
    core = make_core()
    assert not core.receive(signed(core, spat(red=False), key=ROGUE_KEY), "10.6.6.6:1", NOW)
    assert drops(core) == {"unknown_signer": 1} and core.decode_calls == []
    assert core.outputs(NOW).signals == []


def test_forged_unsigned_spat_green_is_unauthenticated_and_hides_no_authenticated_red():
    core = make_core()
    assert core.receive(signed(core, spat(red=True)), "192.168.1.20:30300", NOW)  # the real RSU: red
    assert core.receive(core.codec.encode(spat(red=False)), "10.6.6.6:1", NOW)  # the forger: green, unsigned
    # both published: the RSU's red as authenticated, the green as unauthenticated advice
    assert phase2(core) == [(LightState.RED, True), (LightState.PROTECTED_GREEN, False)]
    assert core.authenticated == 1


def test_require_signature_drops_unsigned_messages_before_decoding():
    core = make_core(require_signature=True)
    assert not core.receive(core.codec.encode(spat(red=False)), "10.6.6.6:1", NOW)
    assert drops(core) == {"unsigned": 1} and core.decode_calls == []
    assert core.receive(signed(core, spat(red=False)), "192.168.1.20:30300", NOW)


# -- every check --------------------------------------------------------------------------------
def test_authentic_signed_messages_are_accepted_and_marked():
    core = make_core()
    for msg in (samples.map_message(), spat(red=True)):
        assert core.receive(signed(core, msg), "192.168.1.20:30300", NOW), msg.kind
    assert phase2(core) == [(LightState.RED, True)] and core.authenticated == 2 and drops(core) == {}


def test_bad_signature_is_dropped_before_decoding():
    core = make_core()
    good = bytearray(signed(core, spat(red=False)))
    for i in (security.HEADER_BYTES + 3, len(good) - 1, 17):  # payload, signature, generation time (1 us)
        bad = bytearray(good)
        bad[i] ^= 0x01
        assert not core.receive(bytes(bad), "192.168.1.20:30300", NOW)
    assert drops(core) == {"bad_signature": 3} and core.decode_calls == []


def test_a_signer_may_sign_only_its_permitted_types():
    core = make_core(cert(permitted=frozenset({MessageKind.MAP})))
    assert core.receive(signed(core, samples.map_message()), "192.168.1.20:30300", NOW)
    assert not core.receive(signed(core, spat(red=False)), "192.168.1.20:30300", NOW)
    assert drops(core) == {"not_permitted": 1}


@pytest.mark.parametrize(("age_s", "reason"), [(1.0, None), (3.0, "generation_time"), (-1.0, "generation_time")])
def test_generation_time_window(age_s: float, reason: str | None):
    core = make_core()
    ok = core.receive(signed(core, spat(red=False), generation_ns=NOW - int(age_s * NS)), "192.168.1.20:1", NOW)
    assert ok == (reason is None) and drops(core) == ({reason: 1} if reason else {})


def test_a_key_outside_its_validity_is_not_trusted():
    core = make_core(cert(until_us=NOW // 1000 - 10_000_000))  # expired 10 s ago
    assert not core.receive(signed(core, spat(red=False)), "192.168.1.20:30300", NOW)
    core2 = make_core(cert(from_us=NOW // 1000 + 10_000_000))  # not valid yet
    assert not core2.receive(signed(core2, spat(red=False)), "192.168.1.20:30300", NOW)
    assert drops(core) == drops(core2) == {"cert_invalid": 1}


def test_malformed_envelopes():
    core = make_core()
    good = signed(core, spat(red=False))
    map_as_spat = security.sign(core.codec.encode(samples.map_message()), MessageKind.SPAT, RSU_KEY, NOW // 1000)
    for bad in (good[:-1], good + b"\x00", good[:1] + b"\x09" + good[2:], map_as_spat):
        assert not core.receive(bad, "192.168.1.20:30300", NOW)
    assert drops(core) == {"bad_envelope": 4} and core.decode_calls == []
    assert not core.receive(b"\xf4" + good[1:], "192.168.1.20:30300", NOW)  # another version: not UPER either
    assert drops(core)["malformed"] == 1 and core.decode_calls == []


def test_envelope_round_trip_and_signer_id():
    payload = b"\x30\x01\x02"
    data = security.sign(payload, MessageKind.SPAT, RSU_KEY, 123_456)
    env = security.parse_envelope(data)
    assert (env.kind, env.generation_us, env.payload) == (MessageKind.SPAT, 123_456, payload)
    assert env.signer_id == security.signer_id(RSU_KEY.public_key()) and len(env.signer_id) == 8
    assert security.verify(env, RSU_KEY.public_key()) and not security.verify(env, ROGUE_KEY.public_key())
    assert len(data) == len(payload) + security.OVERHEAD_BYTES and security.is_envelope(data)
    assert [b for b in range(256) if security.is_envelope(bytes([b]))] == [0xF3]  # no UPER MessageFrame starts so


# -- trust store file ----------------------------------------------------------------------------
def test_trust_store_file_and_test_only_keys(tmp_path):
    pub = security.public_key_bytes(RSU_KEY.public_key()).hex()
    path = tmp_path / "trust.yaml"
    path.write_text(f"certificates:\n- {{id: site-rsu, public_key: {pub}, valid_from: 2025-01-01T00:00:00Z,\n"
                    f"   valid_until: '2030-01-01T00:00:00Z', permitted: [spat, map]}}\n"
                    f"- {{id: sim, public_key: {pub}, valid_from: 2025-01-01, valid_until: 2030-01-01,\n"
                    f"   permitted: [spat], test_only: true}}\n")
    store, ignored = security.load_trust_store(path, allow_test_only=False)
    assert len(store) == 1 and ignored == ["sim"]
    c = store.get(security.signer_id(RSU_KEY.public_key()))
    assert c is not None and c.name == "site-rsu" and c.permitted == {MessageKind.SPAT, MessageKind.MAP}
    for text, words in (("certificates: 3\n", "list"), (f"certificates:\n- {{id: x, public_key: {pub}}}\n", "missing"),
                        ("certificates:\n- {id: x, public_key: 04ab, valid_from: 2025-01-01, valid_until: "
                         "2026-01-01, permitted: [spat]}\n", "public_key"),
                        (f"certificates:\n- {{id: x, public_key: {pub}, valid_from: 2025-01-01, valid_until: "
                         f"2026-01-01, permitted: [tim]}}\n", "permitted")):
        path.write_text(text)
        with pytest.raises(security.SecurityError, match=words) as err:
            security.load_trust_store(path, True)
        assert str(path) in str(err.value)


def test_the_simulators_test_key_is_in_the_simulators_trust_store_as_test_only():
    from lsv_sim import rsu
    store, ignored = security.load_trust_store(SIM_TRUST_STORE, allow_test_only=True)
    core = V2xClientCore(params_from_yaml(), store)
    msg = dataclasses.replace(spat(red=True))
    assert core.receive(rsu.RsuSigner().sign(core.codec.encode(msg), msg, NOW), "127.0.0.1:9", NOW)
    assert core.authenticated == 1 and ignored == []
    assert len(security.load_trust_store(SIM_TRUST_STORE, allow_test_only=False)[0]) == 0
