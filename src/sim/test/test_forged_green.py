"""The v2x_forged_green fault (safety review item 6) through the real V2X client core: while it is on,
the road-side unit's signed SPaT is jammed and a forger's all-green SPaT arrives, in turn unsigned
(taken as unauthenticated advice) and signed with a key no trust store has (dropped)."""

from __future__ import annotations

from lsv_can_bridge.chassis_config import load_chassis_config
from lsv_sim.core import NS, ScenarioRsu, Simulator
from lsv_sim.rsu import RsuSigner, forged_datagram
from lsv_sim.scenario import load_scenario, parse_scenario
from lsv_v2x_client.checks import EgoState
from lsv_v2x_client.messages import LightState
from lsv_v2x_client.params import default_param_file, params_from_yaml

CONFIG = load_chassis_config("dbc/lsv_chassis.yaml")
START_UTC_NS = 1_780_300_800 * NS


def test_forged_green_reaches_the_client_only_as_unauthenticated_advice() -> None:
    from lsv_v2x_client import security
    from lsv_v2x_client.core import V2xClientCore

    sc = parse_scenario({
        "name": "f", "duration_s": 10, "seed": 3, "map": {"world": "synthetic", "bounds_m": [-200, -200, 200, 200]},
        "ego": {"start": {"x": 0, "y": 0}}, "v2x": {"enabled": True, "rsu": {"position": [0, 0]}},
        "lights": [{"id": "w", "stop_line": [[-12, 0], [-12, -3.5]], "heading_deg": 0, "intersection_id": 101,
                    "phase_id": 2, "plan": [{"state": "red", "duration_s": 60}]}],
        "faults": [{"type": "v2x_forged_green", "at_s": 1.0}]}, "f.yaml")
    sim = Simulator(sc, CONFIG)
    rsu, signer, rogue = ScenarioRsu(sc, sim.world), RsuSigner(), RsuSigner.rogue()
    store, _ = security.load_trust_store(default_param_file().parent / "trust_store.sim.yaml", allow_test_only=True)
    params = params_from_yaml(map_origin_lat_deg=sc.map.origin_lat_deg, map_origin_lon_deg=sc.map.origin_lon_deg)
    core = V2xClientCore(params, store)
    forged = 0
    states: dict[str, set] = {"before": set(), "during": set()}
    while sim.t_s < 4.0:
        for _ in range(10):
            sim.step()
        now = START_UTC_NS + sim.t_ns
        core.set_ego(EgoState(0.0, 0.0, 0.0, 0.0, now))
        for msg in rsu.messages(sim.ground_truth(), now):
            core.receive(signer.sign(core.codec.encode(msg), msg, now), "127.0.0.1:9", now)
        for msg in rsu.forged(sim.ground_truth(), now):
            core.receive(forged_datagram(core.codec.encode(msg), msg, now, rogue, forged), "127.0.0.1:66", now)
            forged += 1
        phase = "before" if sim.t_s < 1.0 else "during"
        states[phase] |= {(s.state, s.authenticated) for s in core.outputs(now).signals if s.phase_id == 2}
    assert states["before"] == {(LightState.RED, True)}  # the RSU's own, signed
    assert (LightState.PROTECTED_GREEN, True) not in states["during"]  # a forged green is never authenticated
    assert (LightState.PROTECTED_GREEN, False) in states["during"]  # the unsigned forgeries: advice only
    assert forged >= 20 and core.drop_counts()["dropped.unknown_signer"] >= forged // 2 - 1


def test_the_forged_green_scenario_is_shipped() -> None:
    sc = load_scenario("v2x_forged_green")
    assert {f.type for f in sc.faults} == {"camera_dropout", "v2x_forged_green"}
    assert sc.pass_criteria.no_red_light_violation and sc.v2x.enabled
