"""Codec: round trips of every message type, hand-derived UPER vectors, bad inputs."""

from __future__ import annotations

import dataclasses

import pytest

from lsv_v2x_client import samples
from lsv_v2x_client.codec import MAX_DATAGRAM, Codec, V2xDecodeError, get_profile, profile_names
from lsv_v2x_client.messages import Bsm, GeoPoint, LightState, MapData, Rsi, Rsm, Spat


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec("csae53")


ALL_SAMPLES = {
    "bsm": samples.bsm_message(),
    "bsm_emergency": samples.bsm_message(emergency=True, heading_deg=271.25, speed_mps=13.9),
    "map": samples.map_message(1),
    "map10": samples.map_message(10),
    "spat": samples.spat_message(),
    "rsi": samples.rsi_message(),
    "rsm": samples.rsm_message(),
}


@pytest.mark.parametrize("name", sorted(ALL_SAMPLES))
def test_dataclass_round_trip(codec: Codec, name: str) -> None:
    msg = ALL_SAMPLES[name]
    data = codec.encode(msg)
    assert codec.decode(data) == msg
    assert codec.encode(codec.decode(data)) == data


def test_message_kinds(codec: Codec) -> None:
    kinds = {type(codec.decode(codec.encode(m))) for m in ALL_SAMPLES.values()}
    assert kinds == {Bsm, MapData, Spat, Rsi, Rsm}


# Raw ASN.1 values with every OPTIONAL field we could fill, to check the module against itself
# (encode -> decode gives the same value) including parts the dataclass mapping does not keep.
FULL_BSM = ("bsmFrame", {
    "msgCnt": 127, "id": b"\xde\xad\xbe\xef\x00\x00\x00\x2a", "secMark": 59999, "timeConfidence": "time-000-010",
    "pos": {"lat": 302741234, "long": 1201551234, "elevation": 123},
    "posAccuracy": {"semiMajor": 10, "semiMinor": 8, "orientation": 1200},
    "posConfidence": {"pos": "a1m", "elevation": "elev-002-00"}, "transmission": "forwardGears",
    "speed": 417, "heading": 14400, "angle": -10, "motionCfd": {"speedCfd": "prec0-1ms", "headingCfd": "prec01deg"},
    "accelSet": {"long": -150, "lat": 20, "vert": 0, "yaw": 123},
    "brakes": {"brakePadel": "on", "wheelBrakes": (b"\x78", 5), "abs": "engaged", "auxBrakes": "off"},
    "size": {"width": 190, "length": 520, "height": 36}, "vehicleClass": {"classification": 65, "fuelType": 4},
    "safetyExt": {"events": (b"\x80\x00", 13), "lights": (b"\x08\x00", 9),
                  "pathHistory": {"crumbData": [{"llvOffset": {"offsetLL": ("position-LL1", {"lon": -200, "lat": 50})},
                                                 "timeOffset": 100, "speed": 400}]},
                  "pathPrediction": {"radiusOfCurve": 32767, "confidence": 180}},
    "emergencyExt": {"responseType": "emergency", "sirenUse": "inUse", "lightsUse": "inUse"},
})


def test_full_asn1_round_trip(codec: Codec) -> None:
    assert codec.decode_value(codec.encode_value(FULL_BSM)) == FULL_BSM
    msg = codec.decode(codec.encode_value(FULL_BSM))
    assert msg.is_emergency and msg.speed_mps == pytest.approx(8.34) and msg.heading_deg == pytest.approx(180.0)
    assert msg.position.elevation_m == pytest.approx(12.3)


def test_offsets_choose_all_sizes(codec: Codec) -> None:
    ref = samples.CENTRE
    pts = tuple(GeoPoint(ref.lat_e7 + d, ref.lon_e7 - d, ref.elevation_dm + v)
                for d, v in ((100, 1), (5000, -100), (30000, 200), (100000, 500), (2_000_000, 1000),
                             (8_000_000, -2000), (50_000_000, 30000)))
    parts = tuple(dataclasses.replace(samples.rsm_message().participants[0], ptc_id=i, position=p)
                  for i, p in enumerate(pts))
    msg = samples.rsm_message(participants=parts)
    value = codec.decode_value(codec.encode(msg))
    choices = [p["pos"]["offsetLL"][0] for p in value[1]["participants"]]
    assert choices == ["position-LL1", "position-LL2", "position-LL3", "position-LL4", "position-LL5",
                       "position-LL6", "position-LatLon"]
    assert codec.decode(codec.encode(msg)) == msg


# ------------------------------------------------------------------------------ hand-derived vectors
#
# UPER (X.691, unaligned): a constrained INTEGER (lb..ub) is (value - lb) in ceil(log2(ub - lb + 1))
# bits; a SEQUENCE with "..." starts with one extension bit, then one presence bit per OPTIONAL
# field in order; a CHOICE with "..." has an extension bit then the index in ceil(log2(n)) bits;
# an ENUMERATED with "..." an extension bit then the index; fixed-size OCTET/BIT STRINGs have no
# length; SEQUENCE (SIZE(a..b)) OF has (count - a) in ceil(log2(b - a + 1)) bits; the whole
# message is zero-padded to a whole octet.
#
# BSM (T/CSAE 53-2020 BasicSafetyMessage) of an emergency vehicle:
#   0        MessageFrame extension bit                          0
#   000      MessageFrame index: bsmFrame = 0 of 5                3 bits
#   0        BasicSafetyMessage extension bit
#   0000001  presence: timeConfidence posAccuracy posConfidence angle motionCfd safetyExt emergencyExt
#   0000101  msgCnt 5                                  MsgCount 0..127: 7 bits
#   0x0102030405060708  id                             OCTET STRING (SIZE(8)): 64 bits
#   0x7530   secMark 30000 ms                          DSecond 0..65535: 16 bits
#   0        Position3D presence: elevation absent
#   1202741000 in 31 bits  lat 30.2741 deg             Latitude -900000000..900000001 (+900000000)
#   3001550999 in 32 bits  long 120.1551 deg           Longitude -1799999999..1800000001 (+1799999999)
#   010      transmission forwardGears (2)             8 values, no extension: 3 bits
#   250 in 13 bits  speed 5.00 m/s                     Speed 0..8191, 0.02 m/s
#   7200 in 15 bits heading 90.0 deg (east)            Heading 0..28800, 0.0125 deg
#   2000/12, 2000/12, 127/8, 32767/16  accelSet long 0, lat 0, vert 0, yaw 0 (offsets by the lower bounds)
#   0000000  BrakeSystemStatus: 7 optional fields absent
#   0        VehicleSize presence: height absent; 180 in 10 bits width 1.80 m; 460 in 12 bits length 4.60 m
#   0 0      VehicleClassification extension bit, fuelType absent; 62 in 8 bits classification 62 (fire, light)
#   0 111    VehicleEmergencyExtensions extension bit; responseType, sirenUse, lightsUse present
#   0 001    responseType: extension bit, emergency (1) of 7: 3 bits
#   10       sirenUse inUse (2) of 4: 2 bits
#   010      lightsUse inUse (2) of 8: 3 bits
#   -> 290 bits, padded to 37 octets
BSM_VECTOR = bytes.fromhex("0010a020406080a0c0e10ea608f60be1165d0112e81f47081f41f41fdfffc00b41cc0f9c64")

# SPAT with one intersection, one phase, red for 20 s more (counting down):
#   0 011    MessageFrame extension bit; index spatFrame = 3 of 5
#   0 110    SPAT extension bit; presence: moy yes, timeStamp yes, name no
#   0001001  msgCnt 9
#   470000 in 20 bits  moy                             MinuteOfTheYear 0..527040: 20 bits
#   12000 in 16 bits   timeStamp 12.000 s in the minute
#   00000    IntersectionStateList count 1             SIZE(1..32): 5 bits (count - 1)
#   0 000    IntersectionState extension bit; moy, timeStamp, timeConfidence absent
#   1        NodeReferenceID presence: region present; 1 in 16 bits region; 101 in 16 bits id
#   0x0000   status: IntersectionStatusObject SIZE(16), no flags
#   0000     PhaseList count 1                         SIZE(1..16): 4 bits
#   2 in 8 bits  Phase id 2                            PhaseID 0..255
#   0000     PhaseStateList count 1
#   0 1      PhaseState extension bit; timing present
#   0 0011   light: extension bit, red (3) of 9: 4 bits
#   0 0      TimeChangeDetails extension bit; index counting = 0 of 2: 1 bit
#   11000    TimeCountingDown presence: minEndTime, maxEndTime yes; timeConfidence, nextStartTime, nextDuration no
#   0, 180, 250, 200 in 16 bits each: startTime 0 (started), minEndTime 18.0 s, maxEndTime 25.0 s,
#            likelyEndTime 20.0 s                        TimeMark 0..36001: 16 bits
#   -> 202 bits, padded to 26 octets
SPAT_VECTOR = bytes.fromhex("3612e57e05dc000800080328000001023300000016801f401900")


def pack(fields: list[tuple[int, int]]) -> bytes:
    """(value, number of bits) fields -> octets, zero-padded: the layouts spelled out above."""
    bits = "".join(format(v, f"0{n}b") for v, n in fields)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


BSM_FIELDS = [(0, 1), (0, 3), (0, 1), (0b0000001, 7), (5, 7), (0x0102030405060708, 64), (30000, 16),
              (0, 1), (302741000 + 900000000, 31), (1201551000 + 1799999999, 32), (2, 3), (250, 13), (7200, 15),
              (2000, 12), (2000, 12), (127, 8), (32767, 16), (0, 7), (0, 1), (180, 10), (460, 12), (0, 1), (0, 1),
              (62, 8), (0, 1), (0b111, 3), (0, 1), (1, 3), (2, 2), (2, 3)]
SPAT_FIELDS = [(0, 1), (3, 3), (0, 1), (0b110, 3), (9, 7), (470000, 20), (12000, 16), (0, 5),
               (0, 1), (0b000, 3), (1, 1), (1, 16), (101, 16), (0, 16), (0, 4), (2, 8), (0, 4),
               (0, 1), (1, 1), (0, 1), (3, 4), (0, 1), (0, 1), (0b11000, 5), (0, 16), (180, 16), (250, 16),
               (200, 16)]


def test_vectors_match_the_layouts() -> None:
    assert pack(BSM_FIELDS) == BSM_VECTOR
    assert pack(SPAT_FIELDS) == SPAT_VECTOR


def test_bsm_vector(codec: Codec) -> None:
    msg = codec.decode(BSM_VECTOR)
    assert msg == Bsm(msg_count=5, vehicle_id=bytes(range(1, 9)), sec_mark_ms=30000,
                      position=GeoPoint(302741000, 1201551000), speed_raw=250, heading_raw=7200, width_cm=180,
                      length_cm=460, vehicle_class=62, transmission="forwardGears", response_type="emergency",
                      siren_use="inUse", lights_use="inUse", accel_raw=(0, 0, 0, 0))
    assert msg.speed_mps == pytest.approx(5.0) and msg.heading_deg == pytest.approx(90.0) and msg.is_emergency
    assert codec.encode(msg) == BSM_VECTOR


def test_spat_vector(codec: Codec) -> None:
    msg = codec.decode(SPAT_VECTOR)
    assert msg.msg_count == 9 and msg.moy == 470000 and msg.timestamp_ms == 12000
    (inter,) = msg.intersections
    assert (inter.ref.region, inter.ref.node_id, inter.status_bits) == (1, 101, 0)
    (phase,) = inter.phases
    assert phase.phase_id == 2
    (step,) = phase.steps
    assert step.light is LightState.RED and step.timing == "counting"
    assert (step.start, step.min_end, step.max_end, step.likely_end) == (0, 180, 250, 200)
    assert codec.encode(msg) == SPAT_VECTOR


# ------------------------------------------------------------------------------ bad input

def test_oversized_empty_truncated(codec: Codec) -> None:
    with pytest.raises(V2xDecodeError) as e:
        codec.decode(b"\x00" * (MAX_DATAGRAM + 1))
    assert e.value.reason == "oversized"
    with pytest.raises(V2xDecodeError) as e:
        codec.decode(b"")
    assert e.value.reason == "malformed"
    for n in range(1, len(BSM_VECTOR) - 1):
        with pytest.raises(V2xDecodeError):
            codec.decode(BSM_VECTOR[:n])


def test_constraint_violation_is_malformed(codec: Codec) -> None:
    # TimeMark is 0..36001 in 16 bits: set startTime's bits to 0xffff (65535 > 36001)
    bits = bin(int.from_bytes(SPAT_VECTOR, "big"))[2:].zfill(len(SPAT_VECTOR) * 8)
    start = 1 + 3 + 1 + 3 + 7 + 20 + 16 + 5 + 1 + 3 + 1 + 16 + 16 + 16 + 4 + 8 + 4 + 1 + 1 + 1 + 4 + 1 + 1 + 5
    bad = bits[:start] + "1" * 16 + bits[start + 16:]
    with pytest.raises(V2xDecodeError) as e:
        codec.decode(int(bad, 2).to_bytes(len(SPAT_VECTOR), "big"))
    assert e.value.reason == "malformed"


def test_unknown_message_extension(codec: Codec) -> None:
    # MessageFrame extension bit 1, extension index 0 as a normally small number (0 + 6 bits),
    # open type of length 1 (0x01) holding one octet: a well-formed alternative added after 2020
    # (e.g. the phase-2 message frame extension) that this profile does not know.
    with pytest.raises(V2xDecodeError) as e:
        codec.decode(bytes([0b10000000, 0x01, 0x00]))
    assert e.value.reason == "unsupported"
    # an unknown LightState (an enumeration extension: bit 1, then index 0 as a normally small
    # number) in an otherwise valid SPaT
    fields = list(SPAT_FIELDS)
    i = fields.index((3, 4))  # light red
    fields[i - 1:i + 1] = [(1, 1), (0, 7)]
    with pytest.raises(V2xDecodeError) as e:
        codec.decode(pack(fields))
    assert e.value.reason == "unsupported"


def test_profiles() -> None:
    assert "csae53" in profile_names()
    assert get_profile("csae53").pdu == "MessageFrame"
    with pytest.raises(ValueError, match="unknown V2X profile"):
        get_profile("j2735")
