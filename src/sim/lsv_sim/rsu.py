"""Simulated C-V2X road-side unit (pure): what an RSU at one intersection broadcasts at time t.

A fixed-time four-arm intersection (geometry of ``lsv_v2x_client.samples.intersection_node``):
phases 1 and 3 (arms from the south and north) green 0-15 s, yellow 15-18 s, red 18-40 s of a
40 s cycle; phases 2 and 4 red 0-20 s, green 20-35 s, yellow 35-38 s, red 38-40 s. Every call
to ``messages(now_ns)`` (10 Hz) gives a SPaT and an RSM (a pedestrian walking back and forth
over the southern crosswalk), and once a second the MAP and an RSI (works north of the
crossing, a 15 km/h limit on the southern arm). Time is an argument.

``RsuSigner`` signs each UPER payload in the envelope of ``lsv_v2x_client.security`` with the
TEST-ONLY key below (as a real RSU signs with its own key); the simulator's trust store
(src/v2x_client/config/trust_store.sim.yaml) lists its public key as ``test_only``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from lsv_v2x_client import samples, security
from lsv_v2x_client.messages import (
    GeoPoint,
    IntersectionSignals,
    LightState,
    MapData,
    NodeRef,
    Participant,
    Phase,
    PhaseStep,
    Spat,
    V2xMessage,
)

NS = 1_000_000_000
MINUTE_NS = 60 * NS

# TEST ONLY - NOT A SECRET. The simulated road-side unit's signing key (ECDSA P-256). Its private half
# is public (it is in this repository), so anybody can sign with it: the simulator's trust store marks
# its public key test_only, and the v2x_client honours that only on simulated time. Never put this
# key, or its public half, in a vehicle's trust store.
TEST_ONLY_SIGNING_KEY_PEM = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgM/DaYaZLGA8wbPIk
jQlTqJDJMvqb1u9B8AyenkVrAQuhRANCAATehU0ypCszsVLq/qIGSlUwiv9kGuH2
lw0dxfQAd9bwyO0I/HwBMetazYdGRZxer64+hwpLFrzddG0pp/ZvOjRn
-----END PRIVATE KEY-----
"""


def signing_key_test_only() -> ec.EllipticCurvePrivateKey:
    """The simulated RSU's TEST key (see TEST_ONLY_SIGNING_KEY_PEM)."""
    key = load_pem_private_key(TEST_ONLY_SIGNING_KEY_PEM, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


class RsuSigner:
    """Signs UPER payloads the way a road-side unit would (``security.sign``); default: the TEST key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey | None = None):
        self.key = key if key is not None else signing_key_test_only()

    @classmethod
    def rogue(cls) -> RsuSigner:
        """A signer with a fresh key that no trust store has (a forger's)."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def sign(self, payload: bytes, msg: V2xMessage, now_ns: int) -> bytes:
        """The signed datagram of ``payload`` (the encoding of ``msg``), generated at UTC ``now_ns``."""
        return security.sign(payload, msg.kind, self.key, now_ns // 1_000)


def forged_datagram(payload: bytes, msg: V2xMessage, now_ns: int, rogue: RsuSigner, k: int) -> bytes:
    """A forger's datagram (``v2x_forged_green`` fault), in turn: unsigned (taken as unauthenticated
    advice) and signed with ``rogue``'s key (dropped as unknown_signer)."""
    return payload if k % 2 == 0 else rogue.sign(payload, msg, now_ns)
CYCLE_S = 40.0
# (light, start, end) of each phase group within the cycle, s
PLAN = {
    (1, 3): ((LightState.PROTECTED_GREEN, 0.0, 15.0), (LightState.YELLOW, 15.0, 18.0), (LightState.RED, 18.0, 40.0)),
    (2, 4): ((LightState.RED, 0.0, 20.0), (LightState.PROTECTED_GREEN, 20.0, 35.0), (LightState.YELLOW, 35.0, 38.0),
             (LightState.RED, 38.0, 40.0)),
}


@dataclass(frozen=True)
class RsuParams:
    centre_lat_deg: float = samples.CENTRE.lat_deg
    centre_lon_deg: float = samples.CENTRE.lon_deg
    intersection_id: int = 101
    pedestrian_speed_mps: float = 1.2


def time_fields(now_ns: int) -> tuple[int, int]:
    """(MinuteOfTheYear, ms in the minute) of a UTC time in ns since the epoch."""
    year = dt.datetime.fromtimestamp(now_ns / NS, tz=dt.UTC).year
    since = now_ns - int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()) * NS
    return since // MINUTE_NS, (since % MINUTE_NS) // 1_000_000


def phase_steps(phases: tuple[int, ...], t_cycle: float) -> tuple[PhaseStep, ...]:
    """The current state of a phase group and the next two, as count-down timing from now (0.1 s)."""
    plan = PLAN[phases]
    i = next(k for k, (_, a, b) in enumerate(plan) if a <= t_cycle < b)
    steps = []
    for k in range(3):
        light, a, b = plan[(i + k) % len(plan)]
        offset = ((i + k) // len(plan)) * CYCLE_S
        start = max(0.0, a + offset - t_cycle)
        end = b + offset - t_cycle
        tenths = round(end * 10)
        steps.append(PhaseStep(light, "counting", round(start * 10), tenths, tenths, tenths))
    return tuple(steps)


class SimulatedRsu:
    def __init__(self, params: RsuParams = RsuParams()):
        self.params = params
        self.centre = GeoPoint.from_deg(params.centre_lat_deg, params.centre_lon_deg, 12.0)
        self.node = samples.intersection_node(params.intersection_id, self.centre)
        self._count = 0
        self._calls = 0

    def spat(self, now_ns: int) -> Spat:
        moy, ms = time_fields(now_ns)
        t_cycle = (now_ns / NS) % CYCLE_S
        phases = tuple(Phase(pid, phase_steps(group, t_cycle)) for group in PLAN for pid in group)
        inter = IntersectionSignals(NodeRef(samples.REGION, self.params.intersection_id), status_bits=0x0400,
                                    phases=tuple(sorted(phases, key=lambda p: p.phase_id)), moy=moy, timestamp_ms=ms)
        return Spat(msg_count=self._count, intersections=(inter,), moy=moy, timestamp_ms=ms)

    def pedestrian(self, now_ns: int) -> Participant:
        """Walks east-west over the southern crosswalk (9 m south of the centre, 16 m long)."""
        _, ms = time_fields(now_ns)
        span = 16.0
        s = (now_ns / NS * self.params.pedestrian_speed_mps) % (2 * span)
        east = -8.0 + (s if s < span else 2 * span - s)
        heading = 7200 if s < span else 21600  # east, then west (0.0125 deg)
        return Participant(ptc_type="pedestrian", ptc_id=1, source="video", sec_mark_ms=ms,
                           position=samples.offset_point(self.centre, east, -9.0),
                           speed_raw=round(self.params.pedestrian_speed_mps / 0.02), heading_raw=heading,
                           width_cm=50, length_cm=50, pos_confidence="a50cm", height_5cm=34)

    def messages(self, now_ns: int) -> list[V2xMessage]:
        """What the RSU sends in this 100 ms slot."""
        self._count = (self._count + 1) % 128
        out: list[V2xMessage] = [self.spat(now_ns),
                                 samples.rsm_message(self._count, time_fields(now_ns)[1], self.centre,
                                                     (self.pedestrian(now_ns),))]
        if self._calls % 10 == 0:
            out.append(MapData(msg_count=1, nodes=(self.node,), moy=time_fields(now_ns)[0]))
            out.append(samples.rsi_message(self._count, time_fields(now_ns)[0], self.centre))
        self._calls += 1
        return out
