"""Parameters of the V2X client (pure): one dataclass, loaded from config/v2x_client.param.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsv_common.params import spec
from lsv_v2x_client.admission import AdmissionParams
from lsv_v2x_client.checks import CheckParams
from lsv_v2x_client.codec import profile_names
from lsv_v2x_client.hints import HintParams


@dataclass(frozen=True)
class V2xClientParams:
    profile: str = field(metadata=spec("V2X message set: a codec profile registered in lsv_v2x_client.codec, "
                                       "e.g. csae53 (T/CSAE 53-2020)"))
    datagram_source: str = field(metadata=spec(
        "where datagrams come from: udp (the OBU, bind_address:port) or topic (lsv_msgs/V2xDatagram on "
        "~/input/datagrams: a recording replayed)", choices=("udp", "topic")))
    publish_datagrams: bool = field(metadata=spec(
        "republish every datagram received over UDP, undecoded, on ~/output/datagrams (so that recordings can "
        "replay the V2X client)"))
    bind_address: str = field(metadata=spec("UDP address to receive the OBU's datagrams on (127.0.0.1 = this "
                                            "computer only; the OBU's network interface address on a vehicle)"))
    port: int = field(metadata=spec("UDP port", min=1, max=65535))
    header_length: int = field(metadata=spec("OBU framing header in front of each UPER MessageFrame, stripped",
                                             unit="bytes", min=0, max=64))
    max_datagram_bytes: int = field(metadata=spec("longer datagrams are dropped as oversized", unit="bytes",
                                                  min=64, max=65507))
    max_datagrams_per_tick: int = field(metadata=spec("datagrams read per receive tick (the rest wait)",
                                                      min=1, max=10000))
    receive_period_s: float = field(metadata=spec("receive tick period", unit="s", min=0.001, max=0.1))
    publish_period_s: float = field(metadata=spec("hint / object / signal publication period", unit="s",
                                                  min=0.02, max=1.0))
    odometry_timeout_s: float = field(metadata=spec("ego odometry older than this counts as no ego pose", unit="s",
                                                    min=0.05, max=5.0))
    map_origin_lat_deg: float = field(metadata=spec("map origin latitude (same as the Lanelet2 map's projector)",
                                                    unit="deg", min=-89.9, max=89.9))
    map_origin_lon_deg: float = field(metadata=spec("map origin longitude", unit="deg", min=-180.0, max=180.0))
    map_origin_alt_m: float = field(metadata=spec("map origin ellipsoid height", unit="m", min=-500.0, max=9000.0))
    bsm_max_age_s: float = field(metadata=spec("BSM freshness tolerance", unit="s", min=0.05, max=10.0))
    rsm_max_age_s: float = field(metadata=spec("RSM participant freshness tolerance", unit="s", min=0.05, max=10.0))
    spat_max_age_s: float = field(metadata=spec("SPaT timing validity", unit="s", min=0.1, max=30.0))
    rsi_max_age_s: float = field(metadata=spec("RSI freshness tolerance (minute resolution)", unit="s", min=60.0,
                                               max=3600.0))
    max_future_s: float = field(metadata=spec("message time ahead of the ego clock tolerated", unit="s", min=0.0,
                                              max=10.0))
    max_range_m: float = field(metadata=spec("max distance of a remote road user from the ego vehicle", unit="m",
                                             min=10.0, max=5000.0))
    max_origin_distance_m: float = field(metadata=spec("max distance of anything from the map origin", unit="m",
                                                       min=100.0, max=200000.0))
    max_speed_mps: float = field(metadata=spec("max plausible speed of a remote road user", unit="m/s", min=1.0,
                                               max=100.0))
    duplicate_window_s: float = field(metadata=spec("same source+counter+content within this is a duplicate",
                                                    unit="s", min=0.1, max=12.0))
    rate_limit_hz: float = field(metadata=spec("sustained messages per source and type", unit="Hz", min=0.1,
                                               max=1000.0))
    rate_burst: float = field(metadata=spec("burst allowance per source and type", unit="messages", min=1.0,
                                            max=1000.0))
    max_sources: int = field(metadata=spec("sources tracked at once (more are dropped)", min=8, max=100000))
    ego_length_m: float = field(metadata=spec("ego footprint length", unit="m", min=0.5, max=20.0))
    ego_width_m: float = field(metadata=spec("ego footprint width", unit="m", min=0.3, max=5.0))
    ego_rear_overhang_m: float = field(metadata=spec("base_link to rear bumper", unit="m", min=0.0, max=10.0))
    ego_path_length_m: float = field(metadata=spec("straight ego path ahead for time-to-path", unit="m", min=5.0,
                                                   max=500.0))
    blind_zone_behind_m: float = field(metadata=spec("blind zone length behind the rear bumper", unit="m", min=0.0,
                                                     max=30.0))
    blind_zone_width_m: float = field(metadata=spec("blind zone width beside the footprint", unit="m", min=0.5,
                                                    max=10.0))
    rsi_hint_hold_s: float = field(metadata=spec("RSI hints live this long after the last RSI", unit="s", min=0.5,
                                                 max=60.0))
    silence_warn_s: float = field(default=3.0, metadata=spec(
        "no datagram for this long after some arrived: WARN on /diagnostics (the road-side unit or the OBU went "
        "silent; the planner then has no V2X signal states)", unit="s", min=0.5, max=600.0, optional=True))
    speed_limit_sign_types: tuple[int, ...] = field(
        default=(85,), metadata=spec("RSI sign types (GB 5768.2 codes) that carry a speed limit in km/h in their "
                                     "description", optional=True))
    # admission before decoding (lsv_v2x_client/admission.py): what a flood may cost
    max_message_bytes: int = field(default=4096, metadata=spec(
        "BSM, SPaT, RSM and RSI longer than this are dropped as oversized before decoding (only a MAP may be up "
        "to max_datagram_bytes)", unit="bytes", min=64, max=65507, optional=True))
    source_rate_hz: float = field(default=200.0, metadata=spec(
        "datagrams per UDP sender admitted to decoding, sustained (more: dropped as source_rate_limited)",
        unit="Hz", min=1.0, max=100000.0, optional=True))
    source_burst: float = field(default=100.0, metadata=spec(
        "burst allowance per UDP sender", unit="datagrams", min=1.0, max=100000.0, optional=True))
    total_rate_hz: float = field(default=400.0, metadata=spec(
        "datagrams of all senders together admitted to decoding, sustained (more: dropped as over_budget)",
        unit="Hz", min=1.0, max=100000.0, optional=True))
    total_burst: float = field(default=200.0, metadata=spec(
        "burst allowance of all senders together", unit="datagrams", min=1.0, max=100000.0, optional=True))
    decode_budget_bytes_per_s: float = field(default=65536.0, metadata=spec(
        "undecoded bytes per second (all senders) the decoder may be given; ~1.5 us of decoding per byte, so "
        "65536 is ~10 % of a core at most (more: dropped as decode_budget; a MAP seen before costs nothing)",
        unit="bytes/s", min=1024.0, max=1e8, optional=True))
    decode_budget_burst_bytes: float = field(default=32768.0, metadata=spec(
        "burst allowance of the decode budget (at least max_datagram_bytes)", unit="bytes", min=1024.0, max=1e8,
        optional=True))
    # signed messages (lsv_v2x_client/security.py)
    trust_store: str = field(default="", metadata=spec(
        "YAML file of the trusted road-side unit keys (id, public_key, valid_from, valid_until, permitted, "
        "test_only), a path or package://<pkg>/<path>; empty = none (no message can be authenticated). The "
        "shipped config names the simulator's, whose TEST key counts only on simulated time: a vehicle needs the "
        "site's own file", optional=True))
    require_signature: bool = field(default=False, metadata=spec(
        "drop unsigned messages (dropped.unsigned); false: they are used as unauthenticated advice", optional=True))
    signature_max_age_s: float = field(default=2.0, metadata=spec(
        "a signed message generated longer ago than this (or more than max_future_s ahead) is dropped "
        "(generation_time)", unit="s", min=0.1, max=60.0, optional=True))

    def __post_init__(self) -> None:
        if self.profile not in profile_names():
            raise ValueError(f"'profile' = {self.profile!r} is not one of the registered profiles "
                             f"{list(profile_names())}")
        if self.decode_budget_burst_bytes < self.max_datagram_bytes:
            raise ValueError(f"'decode_budget_burst_bytes' = {self.decode_budget_burst_bytes:g} is below "
                             f"'max_datagram_bytes' = {self.max_datagram_bytes}: the longest MAP could never be "
                             f"decoded")
        if self.max_message_bytes > self.max_datagram_bytes:
            raise ValueError(f"'max_message_bytes' = {self.max_message_bytes} is above 'max_datagram_bytes' = "
                             f"{self.max_datagram_bytes}")

    def admission_params(self) -> AdmissionParams:
        return AdmissionParams(source_rate_hz=self.source_rate_hz, source_burst=self.source_burst,
                               total_rate_hz=self.total_rate_hz, total_burst=self.total_burst,
                               decode_bytes_per_s=self.decode_budget_bytes_per_s,
                               decode_burst_bytes=self.decode_budget_burst_bytes, max_sources=self.max_sources,
                               source_idle_s=self.duplicate_window_s)

    def check_params(self) -> CheckParams:
        return CheckParams(bsm_max_age_s=self.bsm_max_age_s, rsm_max_age_s=self.rsm_max_age_s,
                           spat_max_age_s=self.spat_max_age_s, rsi_max_age_s=self.rsi_max_age_s,
                           max_future_s=self.max_future_s, max_range_m=self.max_range_m,
                           max_origin_distance_m=self.max_origin_distance_m, max_speed_mps=self.max_speed_mps,
                           duplicate_window_s=self.duplicate_window_s, rate_limit_hz=self.rate_limit_hz,
                           rate_burst=self.rate_burst, max_sources=self.max_sources,
                           speed_limit_sign_types=self.speed_limit_sign_types)

    def hint_params(self) -> HintParams:
        return HintParams(ego_length_m=self.ego_length_m, ego_width_m=self.ego_width_m,
                          ego_rear_overhang_m=self.ego_rear_overhang_m, ego_path_length_m=self.ego_path_length_m,
                          blind_zone_behind_m=self.blind_zone_behind_m, blind_zone_width_m=self.blind_zone_width_m,
                          rsi_hint_hold_s=self.rsi_hint_hold_s, speed_limit_sign_types=self.speed_limit_sign_types)


def default_param_file() -> Path:
    """The package's config/v2x_client.param.yaml (``lsv_common.share``)."""
    from lsv_common.share import find_package_file

    return find_package_file("lsv_v2x_client", "config/v2x_client.param.yaml")


def params_from_yaml(path: str | Path | None = None, **changes: Any) -> V2xClientParams:
    """Parameters from a .param.yaml (default: the package's), with ``changes`` applied (tests, benchmarks)."""
    from lsv_common.paramfile import params_from_file

    path = Path(path) if path is not None else default_param_file()
    (params,) = params_from_file(path, V2xClientParams, changes=changes)
    return params
