"""The simulator's pure core: one scenario stepped in fixed time steps (no ROS, no hidden time).

``Simulator(scenario, world, chassis_config, ...)`` owns the ego vehicle (``dynamics`` driven by
the simulated ``ChassisEcu``, which only acts on CAN frames handed to ``on_can_frame``), the
scripted actors, the traffic lights and the faults of the scenario. ``step()`` advances
everything by one step; ``status_frames()`` gives the CAN status frames due now;
``ground_truth()`` is the state the sensors and the evaluation look at; ``trace`` records
every step for ``evaluation``. With the same scenario, seed and CAN input the run is
identical: nothing here reads a clock or an unseeded random source.

``ScenarioRsu`` turns the ground truth around one intersection into the V2X messages a road-
side unit would broadcast (SPaT from the lights' plans, MAP, RSI, RSM of the actors near it,
BSMs of the simulated vehicles), as ``lsv_v2x_client.messages`` dataclasses for its codec.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lsv_can_bridge.chassis_config import ChassisConfig
from lsv_common.params import spec as pspec
from lsv_sim.actors import ActorState, ActorType, Path, initial_state, step_actor
from lsv_sim.chassis_ecu import ChassisEcu, EcuParams
from lsv_sim.dynamics import Dynamics, VehicleParams, VehicleState
from lsv_sim.lights import LightState
from lsv_sim.scenario import Scenario, SyntheticWorld, height, make_world  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

NS = 1_000_000_000


@dataclass(frozen=True)
class SimParams:
    """Stepping and ego shape (ROS parameters of the simulator node)."""

    step_period_ms: float = field(default=10.0, metadata=pspec(
        "simulation step", unit="ms", min=1.0, max=50.0, optional=True))
    ego_length_m: float = field(default=3.0, metadata=pspec(
        "ego footprint length (bumper to bumper)", unit="m", min=0.5, max=15.0, optional=True))
    ego_width_m: float = field(default=1.4, metadata=pspec(
        "ego footprint width", unit="m", min=0.3, max=4.0, optional=True))
    ego_rear_overhang_m: float = field(default=0.55, metadata=pspec(
        "rear bumper to rear axle (the dynamics reference point)", unit="m", min=0.0, max=5.0, optional=True))


@dataclass(frozen=True)
class EgoShape:
    length_m: float = 3.0
    width_m: float = 1.4
    rear_overhang_m: float = 0.55

    def centre_offset_m(self) -> float:
        """Footprint centre ahead of the rear axle."""
        return 0.5 * self.length_m - self.rear_overhang_m

    def front_offset_m(self) -> float:
        return self.length_m - self.rear_overhang_m


@dataclass(frozen=True)
class ActorTruth:
    actor_id: str
    type: ActorType
    classification: int
    x_m: float
    y_m: float
    z_m: float
    yaw_rad: float
    speed_mps: float
    length_m: float
    width_m: float
    height_m: float
    active: bool  # moving or has moved (triggered)


@dataclass(frozen=True)
class LightTruth:
    light_id: str
    intersection_id: int
    phase_id: int
    state: LightState
    time_to_change_s: float


@dataclass(frozen=True)
class GroundTruth:
    t_ns: int  # simulated time since the scenario start
    ego: VehicleState
    ego_z_m: float
    ego_pitch_rad: float  # atan(grade along the heading): positive nose up (REP-103 pitch is the opposite)
    actors: tuple[ActorTruth, ...]
    lights: tuple[LightTruth, ...]
    faults: frozenset[str]  # types of the faults active now


class Trace:
    """Everything the evaluation needs, one row per step (preallocated, grown by doubling)."""

    EGO_COLS = ("t", "x", "y", "yaw", "speed", "accel", "steer", "z")

    def __init__(self, n_actors: int, n_lights: int, capacity: int = 1024):
        self._n = 0
        self.ego = np.zeros((capacity, len(self.EGO_COLS)))
        self.actors = np.zeros((capacity, n_actors, 4))  # x, y, yaw, speed
        self.lights = np.zeros((capacity, n_lights), dtype=np.int8)
        self.events: list[tuple[float, str]] = []  # (t, text)

    def __len__(self) -> int:
        return self._n

    def append(self, ego_row: tuple[float, ...], actors: np.ndarray, lights: np.ndarray) -> None:
        if self._n == len(self.ego):
            self.ego = np.concatenate([self.ego, np.zeros_like(self.ego)])
            self.actors = np.concatenate([self.actors, np.zeros_like(self.actors)])
            self.lights = np.concatenate([self.lights, np.zeros_like(self.lights)])
        self.ego[self._n] = ego_row
        self.actors[self._n] = actors
        self.lights[self._n] = lights
        self._n += 1

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ego[:self._n], self.actors[:self._n], self.lights[:self._n]


class Simulator:
    """One scenario, stepped every ``params.step_period_ms``; deterministic given its inputs."""

    def __init__(self, scenario: Scenario, chassis_config: ChassisConfig, world: Any | None = None,
                 params: SimParams | None = None, ecu_params: EcuParams | None = None,
                 vehicle: VehicleParams | None = None, seed: int | None = None):
        self.scenario = scenario
        self.world = world if world is not None else make_world(scenario.map)
        self.p = params or SimParams()
        self.shape = EgoShape(self.p.ego_length_m, self.p.ego_width_m, self.p.ego_rear_overhang_m)
        self.vehicle = vehicle or VehicleParams()
        self.dynamics = Dynamics(self.vehicle)
        self.ecu = ChassisEcu(chassis_config, ecu_params or EcuParams(), self.dynamics)
        self.rng = np.random.default_rng(scenario.seed if seed is None else seed)
        self.step_ns = round(self.p.step_period_ms * 1e6)
        self.dt = self.step_ns / NS
        s = scenario.ego_start
        # the scenario's start pose is the footprint centre; the dynamics reference is the rear axle
        off = self.shape.centre_offset_m()
        self.ego = VehicleState(x_m=s.x_m - off * math.cos(s.yaw_rad), y_m=s.y_m - off * math.sin(s.yaw_rad),
                                yaw_rad=s.yaw_rad, brake_force_n=self.vehicle.max_brake_force_n)
        self.paths = [Path(a.waypoints) for a in scenario.actors]
        self.actor_states: list[ActorState] = [initial_state(a, p)
                                               for a, p in zip(scenario.actors, self.paths, strict=True)]
        self.t_ns = 0
        self.steps = 0
        self.frames_in = 0
        self.trace = Trace(len(scenario.actors), len(scenario.lights), capacity=int(scenario.duration_s / self.dt) + 2)
        self._faults_now: frozenset[str] = frozenset()
        self._light_states = np.array([lt.state_at(0.0) for lt in scenario.lights], dtype=np.int8)
        self._record()

    # ------------------------------------------------------------------ inputs
    def on_can_frame(self, arbitration_id: int, data: bytes | bytearray, is_extended: bool = False) -> bool:
        """A frame from the bus, received at the current simulated time; True if a valid command."""
        ok = self.ecu.on_frame(self.t_ns, arbitration_id, data, is_extended)
        self.frames_in += ok
        return ok

    # ------------------------------------------------------------------ state
    @property
    def t_s(self) -> float:
        return self.t_ns / NS

    @property
    def done(self) -> bool:
        return self.t_ns >= round(self.scenario.duration_s * NS)

    def ego_centre(self, vs: VehicleState | None = None) -> tuple[float, float]:
        vs = vs or self.ego
        off = self.shape.centre_offset_m()
        return vs.x_m + off * math.cos(vs.yaw_rad), vs.y_m + off * math.sin(vs.yaw_rad)

    def faults(self) -> frozenset[str]:
        return self._faults_now

    def light_state(self, index: int) -> LightState:
        return LightState(int(self._light_states[index]))

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """Advance the whole world by one step."""
        dt = self.dt
        grade = self.world.grade_at(self.ego.x_m, self.ego.y_m, self.ego.yaw_rad)
        act = self.ecu.control(self.t_ns, self.ego, dt)
        self.ego = self.dynamics.step(self.ego, act, grade, dt)
        self.ecu.update_battery(self.ego, dt)
        t_s = self.t_s
        ego_xy = self.ego_centre()
        for i, (spec, path) in enumerate(zip(self.scenario.actors, self.paths, strict=True)):
            before = self.actor_states[i].phase
            self.actor_states[i] = step_actor(spec, path, self.actor_states[i], t_s, dt, ego_xy)
            if self.actor_states[i].phase is not before:
                self.trace.events.append((t_s + dt, f"{spec.actor_id} {self.actor_states[i].phase.value}"))
        self.t_ns += self.step_ns
        self.steps += 1
        t_s = self.t_s
        active = self.scenario.faults_active(t_s)
        faults = frozenset(f.type for f in active)
        for name in sorted(faults - self._faults_now):
            self.trace.events.append((t_s, f"fault {name} on"))
        for name in sorted(self._faults_now - faults):
            self.trace.events.append((t_s, f"fault {name} off"))
        self._faults_now = faults
        self.ecu.corrupt_counters = "can_counter_corrupt" in faults
        dark = {f.target for f in active if f.type == "light_dark"}
        for i, lt in enumerate(self.scenario.lights):
            state = lt.state_at(t_s, dark=None in dark or lt.light_id in dark)
            if state != self._light_states[i]:
                self.trace.events.append((t_s, f"light {lt.light_id} {state.name.lower()}"))
                self._light_states[i] = state
        self._record()

    def _record(self) -> None:
        vs = self.ego
        cx, cy = self.ego_centre(vs)
        z = height(self.world, cx, cy)
        actors = np.array([[s.x_m, s.y_m, s.yaw_rad, s.speed_mps] for s in self.actor_states]).reshape(-1, 4)
        self.trace.append((self.t_s, cx, cy, vs.yaw_rad, vs.speed_mps, vs.accel_mps2, vs.steer_rad, z),
                          actors, self._light_states)

    def status_frames(self) -> list[tuple[int, bytes]]:
        """CAN status frames due now (none while a chassis_status_silent fault is active)."""
        frames = self.ecu.status_frames(self.t_ns, self.ego)
        return [] if "chassis_status_silent" in self._faults_now else frames

    def repeat_status_frames(self) -> list[tuple[int, bytes]]:
        """Every CAN status frame again, time standing still (see ChassisEcu.repeat_status_frames)."""
        return [] if "chassis_status_silent" in self._faults_now else self.ecu.repeat_status_frames(self.ego)

    def ground_truth(self) -> GroundTruth:
        vs = self.ego
        cx, cy = self.ego_centre(vs)
        grade = self.world.grade_at(vs.x_m, vs.y_m, vs.yaw_rad)
        actors = []
        for spec, st in zip(self.scenario.actors, self.actor_states, strict=True):
            actors.append(ActorTruth(spec.actor_id, spec.type, spec.classification, st.x_m, st.y_m,
                                     height(self.world, st.x_m, st.y_m), st.yaw_rad, st.speed_mps, spec.length_m,
                                     spec.width_m, spec.height_m, st.phase.value != "waiting"))
        lights = tuple(LightTruth(lt.light_id, lt.intersection_id, lt.phase_id, self.light_state(i),
                                  lt.plan.time_to_change_s(self.t_s))
                       for i, lt in enumerate(self.scenario.lights))
        return GroundTruth(self.t_ns, vs, height(self.world, cx, cy), math.atan(grade), tuple(actors), lights,
                           self._faults_now)


# ---------------------------------------------------------------------------------- /diagnostics

DIAG_LEVELS = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}
COUNTER_MARKS = ("dropped", "bad_", "timeouts", "watchdog", "errors", "invalid")  # counters worth an event
COUNTER_EVENT_PERIOD_S = 5.0  # s (simulated); at most one event per counter in this time
MAX_DIAG_EVENTS = 5000


class DiagnosticsLog:
    """What the stack reported on /diagnostics, as events in simulated time (pure; the node feeds it).

    An event is a status changing level or message (``"<name>: <LEVEL> <message>"``), or a
    fault counter of a status (a key containing one of ``COUNTER_MARKS``) going up
    (``"<name>: <key> +<n>"``, at most once per ``COUNTER_EVENT_PERIOD_S`` per counter).
    """

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._last: dict[str, tuple[int, str]] = {}
        self._counters: dict[tuple[str, str], float] = {}
        self._counter_t: dict[tuple[str, str], float] = {}

    def update(self, t_s: float, name: str, level: int, message: str, values: dict[str, float]) -> None:
        if len(self.events) >= MAX_DIAG_EVENTS:
            return
        if self._last.get(name) != (level, message):
            self._last[name] = (level, message)
            lv = DIAG_LEVELS.get(level, str(level))
            self.events.append({"t_s": round(t_s, 3), "status": name, "level": lv,
                                "text": f"{name}: {lv} {message}"})
        for key, value in values.items():
            if not any(m in key for m in COUNTER_MARKS):
                continue
            k = (name, key)
            before = self._counters.get(k)
            if before is None or value < before:  # first sight, or the node restarted
                self._counters[k] = value
                continue
            if value > before and t_s - self._counter_t.get(k, -math.inf) >= COUNTER_EVENT_PERIOD_S:
                self._counters[k], self._counter_t[k] = value, t_s
                self.events.append({"t_s": round(t_s, 3), "status": name, "level": "COUNTER",
                                    "text": f"{name}: {key} +{value - before:g}"})


# ---------------------------------------------------------------------------------- V2X


class ScenarioRsu:
    """What the scenario's road-side unit broadcasts, built from the ground truth (pure).

    ``messages(gt, utc_ns)`` is called every 100 ms: SPaT, RSM (actors within range) and the
    BSMs of moving simulated vehicles every call; MAP and RSI once a second. While a
    ``v2x_forged_green`` fault is on, the SPaT is left out (jammed) and ``forged(gt, utc_ns)``
    gives an attacker's SPaT instead: every phase of the intersection protected green for 30 s
    (the sender signs it with a key nobody trusts, or not at all).
    """

    def __init__(self, scenario: Scenario, world: Any):
        from lsv_v2x_client import samples
        from lsv_v2x_client.messages import GeoPoint

        self.scenario = scenario
        self.world = world
        self.spec = scenario.v2x.rsu
        lat, lon = world.to_latlon(*self.spec.position)
        self.centre = GeoPoint.from_deg(lat, lon, 12.0)
        self.node = samples.intersection_node(self.spec.intersection_id, self.centre)
        self.lights = [(i, lt) for i, lt in enumerate(scenario.lights)
                       if lt.intersection_id == self.spec.intersection_id]
        self._count = 0
        self._calls = 0
        self._shift_m = 0.0  # v2x_spoofed: every position moved this far north and east

    def _geo(self, x: float, y: float) -> Any:
        from lsv_v2x_client.messages import GeoPoint

        lat, lon = self.world.to_latlon(x + self._shift_m, y + self._shift_m)
        return GeoPoint.from_deg(lat, lon, 12.0)

    def _faults(self, t_s: float) -> dict[str, float]:
        """Active V2X faults at ``t_s`` -> their magnitude (s or m)."""
        return {f.type: f.size for f in self.scenario.faults_active(t_s) if f.type in V2X_FAULTS}

    def spat(self, gt: GroundTruth, moy: int, ms: int) -> Any:
        from lsv_v2x_client import samples
        from lsv_v2x_client.messages import IntersectionSignals, NodeRef, Phase, PhaseStep, Spat
        from lsv_v2x_client.messages import LightState as V2xLight

        t_s = gt.t_ns / NS
        phases: dict[int, Any] = {}
        for i, lt in self.lights:
            if lt.phase_id in phases:
                continue
            if gt.lights[i].state == LightState.DARK:
                steps = (PhaseStep(V2xLight.DARK),)
            else:
                steps = tuple(PhaseStep(V2xLight(int(state)), "counting", round(a * 10), round(b * 10), round(b * 10),
                                        round(b * 10)) for state, a, b in lt.plan.upcoming(t_s, 3))
            phases[lt.phase_id] = Phase(lt.phase_id, steps)
        inter = IntersectionSignals(NodeRef(samples.REGION, self.spec.intersection_id), status_bits=0x0400,
                                    phases=tuple(phases[k] for k in sorted(phases)), moy=moy, timestamp_ms=ms)
        return Spat(msg_count=self._count, intersections=(inter,), moy=moy, timestamp_ms=ms)

    def messages(self, gt: GroundTruth, utc_ns: int) -> list[Any]:
        from lsv_sim.rsu import time_fields
        from lsv_v2x_client import samples
        from lsv_v2x_client.messages import Bsm, MapData, Participant

        faults = self._faults(gt.t_ns / NS)
        # v2x_stale / v2x_future: the message times lag behind / run ahead of the clock
        shift_ns = round((faults.get("v2x_future", 0.0) - faults.get("v2x_stale", 0.0)) * NS)
        moy, ms = time_fields(utc_ns + shift_ns)
        self._shift_m = faults.get("v2x_spoofed", 0.0) / math.sqrt(2.0)
        self._count = (self._count + 1) % 128
        out: list[Any] = []
        if self.lights and "v2x_forged_green" not in faults:
            out.append(self.spat(gt, moy, ms))
        cx, cy = self.spec.position
        participants = []
        for k, a in enumerate(gt.actors):
            if math.hypot(a.x_m - cx, a.y_m - cy) > self.spec.range_m:
                continue
            heading_raw = round((math.degrees(math.pi / 2 - a.yaw_rad) % 360.0) / 0.0125) % 28800
            speed_raw = min(round(a.speed_mps / 0.02), 8190)
            if a.type in (ActorType.CAR, ActorType.EMERGENCY_VEHICLE) and a.active and a.speed_mps > 0.1:
                emergency = a.type is ActorType.EMERGENCY_VEHICLE
                out.append(Bsm(msg_count=self._count, vehicle_id=f"SIM{k:05d}".encode()[:8], sec_mark_ms=ms,
                               position=self._geo(a.x_m, a.y_m), speed_raw=speed_raw, heading_raw=heading_raw,
                               width_cm=round(a.width_m * 100), length_cm=round(a.length_m * 100),
                               vehicle_class=62 if emergency else 10, transmission="forwardGears",
                               response_type="emergency" if emergency else None,
                               siren_use="inUse" if emergency else None, lights_use="inUse" if emergency else None))
            ptc = {ActorType.PEDESTRIAN: "pedestrian", ActorType.CYCLIST: "non-motor"}.get(a.type, "motor")
            participants.append(Participant(
                ptc_type=ptc, ptc_id=k + 1, source="lidar", sec_mark_ms=ms, position=self._geo(a.x_m, a.y_m),
                speed_raw=speed_raw, heading_raw=heading_raw, width_cm=round(a.width_m * 100),
                length_cm=round(a.length_m * 100), pos_confidence="a50cm",
                height_5cm=min(round(a.height_m / 0.05), 127)))
        if participants:
            centre = self._geo(*self.spec.position) if self._shift_m else self.centre
            out.append(samples.rsm_message(self._count, ms, centre, tuple(participants[:16])))
        if self._calls % 10 == 0:
            out.append(MapData(msg_count=1, nodes=(self.node,), moy=moy))
            centre = self._geo(*self.spec.position) if self._shift_m else self.centre
            out.append(samples.rsi_message(self._count, moy, centre))
        self._calls += 1
        return out


    def forged(self, gt: GroundTruth, utc_ns: int) -> list[Any]:
        """The forged SPaT of a ``v2x_forged_green`` fault (empty without one): the right intersection,
        the right time, every phase green for 30 s more."""
        from lsv_sim.rsu import time_fields
        from lsv_v2x_client import samples
        from lsv_v2x_client.messages import IntersectionSignals, NodeRef, Phase, PhaseStep, Spat
        from lsv_v2x_client.messages import LightState as V2xLight

        if not self.lights or "v2x_forged_green" not in self._faults(gt.t_ns / NS):
            return []
        moy, ms = time_fields(utc_ns)
        green = (PhaseStep(V2xLight.PROTECTED_GREEN, "counting", 0, 300, 300, 300),)
        phases = tuple(Phase(pid, green) for pid in sorted({lt.phase_id for _, lt in self.lights}))
        inter = IntersectionSignals(NodeRef(samples.REGION, self.spec.intersection_id), status_bits=0x0400,
                                    phases=phases, moy=moy, timestamp_ms=ms)
        return [Spat(msg_count=self._count, intersections=(inter,), moy=moy, timestamp_ms=ms)]


# applied by ScenarioRsu; v2x_malformed by ``malform``; v2x_forged_green by ScenarioRsu.forged and the sender
V2X_FAULTS = ("v2x_stale", "v2x_future", "v2x_spoofed", "v2x_forged_green")
MALFORM_KINDS = 3


def malform(payload: bytes, k: int) -> bytes:
    """The ``k``-th malformed version of a UPER datagram (v2x_malformed fault), cycling through:
    truncated to a third, every byte inverted, and 0xFF filler of the same length. Pure."""
    kind = k % MALFORM_KINDS
    if kind == 0:
        return payload[: max(1, len(payload) // 3)]
    if kind == 1:
        return bytes(b ^ 0xFF for b in payload)
    return b"\xff" * len(payload)
