"""A closed loop for tests and benchmarks: the controller core driving the simulator's chassis ECU
and vehicle dynamics (``lsv_sim``), through the same CAN frames the bridge builds.

Not used on a vehicle. The plant steps at 10 ms, the controller at 20 ms (50 Hz); odometry is the
true rear-axle pose (optionally with noise), the vehicle status is what the ECU reports.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lsv_control.command_gate import Command, GateParams
from lsv_control.controller import (
    ControlInputs,
    Controller,
    ControllerParams,
    ControlOutput,
    DiagEntry,
    ObjectsInput,
    OdometryInput,
    StatusInput,
    TrajectoryInput,
)
from lsv_control.longitudinal import LongitudinalParams
from lsv_control.mrm import MrmParams
from lsv_control.pure_pursuit import PurePursuitParams
from lsv_control.trajectory import TrajectoryArrays

PLANT_STEP_NS = 10_000_000
CONTROL_STEP_NS = 20_000_000


def default_params() -> tuple[ControllerParams, PurePursuitParams, LongitudinalParams, GateParams, MrmParams]:
    """The values of config/controller.param.yaml (tests check that they agree)."""
    from lsv_common.paramfile import params_from_file
    from lsv_common.share import find_package_file

    path = find_package_file("lsv_control", "config/controller.param.yaml")
    return params_from_file(path, ControllerParams, PurePursuitParams,  # type: ignore[return-value]
                            LongitudinalParams, GateParams, MrmParams)


def make_controller(**overrides: object) -> Controller:
    cp, lat, lon, gate, mrm = default_params()
    groups = {"controller": cp, "lateral": lat, "longitudinal": lon, "gate": gate, "mrm": mrm}
    for key, value in overrides.items():
        group, name = key.split("__")
        groups[group] = dataclasses.replace(groups[group], **{name: value})
    return Controller(groups["controller"], groups["lateral"], groups["longitudinal"], groups["gate"], groups["mrm"])


def figure_eight(size_m: float = 15.0, speed_mps: float = 3.0, spacing_m: float = 0.25) -> TrajectoryArrays:
    """A closed figure-of-eight (lemniscate of Gerono x = A sin t, y = A sin t cos t), driven at ``speed_mps``.

    Curvature runs from 0 at the crossing to 1/A at the tips of the lobes; the path crosses itself at
    the origin at 90 degrees.
    """
    t = np.linspace(0.0, 2.0 * math.pi, 20001)
    x, y = size_m * np.sin(t), size_m * np.sin(t) * np.cos(t)
    s = np.concatenate(([0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))))
    si = np.arange(0.0, s[-1], spacing_m)
    xi, yi = np.interp(si, s, x), np.interp(si, s, y)
    dx, dy = np.gradient(xi), np.gradient(yi)
    yaw = np.arctan2(dy, dx)
    return TrajectoryArrays.from_columns(xi, yi, yaw, np.full(si.shape, speed_mps))


def window(loop: TrajectoryArrays, i0: int, n: int, speed_scale: np.ndarray | None = None) -> TrajectoryArrays:
    """``n`` points of a closed ``loop`` from index ``i0`` (what a planner would publish)."""
    idx = (np.arange(n) + i0) % loop.size
    v = loop.speed_mps[idx] if speed_scale is None else loop.speed_mps[idx] * speed_scale
    return TrajectoryArrays.from_columns(loop.x_m[idx], loop.y_m[idx], loop.yaw_rad[idx], v,
                                         loop.accel_mps2[idx], loop.grade[idx])


def straight(length_m: float, speed_mps: float, grade: float = 0.0, spacing_m: float = 0.5,
             stop_at_end: bool = False, accel_mps2: float = 0.5) -> TrajectoryArrays:
    """A straight path along +x with a trapezoid speed profile from rest (and to rest if ``stop_at_end``)."""
    s = np.arange(0.0, length_m + 1e-9, spacing_m)
    v = np.minimum(speed_mps, np.sqrt(2.0 * accel_mps2 * s + 0.5**2))
    a = np.where(v < speed_mps, accel_mps2, 0.0)
    if stop_at_end:
        v_end = np.sqrt(np.maximum(2.0 * accel_mps2 * (length_m - s), 0.0))
        a = np.where(v_end < v, -accel_mps2, a)
        v = np.minimum(v, v_end)
    return TrajectoryArrays.from_columns(s, np.zeros_like(s), np.zeros_like(s), v, a, np.full(s.shape, grade))


@dataclass
class Plant:
    """ECU + dynamics (lsv_sim) fed through CAN frames, with a constant road grade."""

    grade: float = 0.0
    x0: float = 0.0
    y0: float = 0.0
    yaw0: float = 0.0
    chassis: str = "dbc/lsv_chassis.yaml"
    now_ns: int = 0
    watchdog_ms: float = 200.0  # the ECU's command watchdog (raised in tests whose commands cross processes)
    counters: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from lsv_can_bridge.chassis_config import load_chassis_config
        from lsv_sim.chassis_ecu import ChassisEcu, EcuParams
        from lsv_sim.dynamics import VehicleState

        self.config = load_chassis_config(self.chassis)
        self.ecu = ChassisEcu(self.config, EcuParams(watchdog_ms=self.watchdog_ms))
        self.vs = VehicleState(x_m=self.x0, y_m=self.y0, yaw_rad=self.yaw0, brake_force_n=9000.0)

    def send(self, cmd: Command) -> None:
        from lsv_can_bridge import frames
        from lsv_can_bridge.values import Command as CanCommand

        c = CanCommand(acceleration_mps2=cmd.acceleration_mps2, speed_limit_mps=cmd.speed_limit_mps,
                       steering_angle_rad=cmd.steering_angle_rad, steering_rate_rps=cmd.steering_rate_rps,
                       gear=cmd.gear, parking_brake=cmd.parking_brake, enable=cmd.enable,
                       emergency_stop=cmd.emergency_stop, lights=cmd.lights)
        for frame_id, data in frames.build_command_frames(self.config, c, self.counters):
            self.ecu.on_frame(self.now_ns, frame_id, data)

    def step(self) -> None:
        dt = PLANT_STEP_NS / 1e9
        act = self.ecu.control(self.now_ns, self.vs, dt)
        self.vs = self.ecu.dyn.step(self.vs, act, self.grade * math.cos(self.vs.yaw_rad), dt)
        self.now_ns += PLANT_STEP_NS

    def status(self) -> StatusInput:
        st = self.ecu.status(self.vs)
        return StatusInput(st.speed_mps, st.steering_angle_rad, st.mode, st.fault_bits, False, self.now_ns)

    def odometry(self) -> OdometryInput:
        vs = self.vs
        return OdometryInput(vs.x_m, vs.y_m, vs.yaw_rad, vs.speed_mps, self.grade * math.cos(vs.yaw_rad), self.now_ns)


@dataclass
class Run:
    """One closed-loop run's trace (arrays of the control cycles)."""

    t_s: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    speed: list[float] = field(default_factory=list)
    accel_cmd: list[float] = field(default_factory=list)
    lateral_error: list[float] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    outputs: list[ControlOutput] = field(default_factory=list)


def run_closed_loop(controller: Controller, plant: Plant, duration_s: float,
                    inputs: Callable[[Plant, int], ControlInputs], keep_outputs: bool = False) -> Run:
    """Step plant and controller for ``duration_s``; ``inputs(plant, now_ns)`` builds each cycle's inputs."""
    run = Run()
    end = plant.now_ns + int(duration_s * 1e9)
    while plant.now_ns < end:
        if plant.now_ns % CONTROL_STEP_NS == 0:
            out = controller.step(plant.now_ns, inputs(plant, plant.now_ns))
            plant.send(out.command)
            run.t_s.append(plant.now_ns / 1e9)
            run.x.append(plant.vs.x_m)
            run.y.append(plant.vs.y_m)
            run.speed.append(plant.vs.speed_mps)
            run.accel_cmd.append(out.command.acceleration_mps2)
            run.lateral_error.append(out.lateral_error_m)
            run.states.append(out.mrm.state.value)
            if keep_outputs:
                run.outputs.append(out)
        plant.step()
    return run


def no_objects(now_ns: int) -> ObjectsInput:
    return ObjectsInput.none(now_ns)


def heartbeats(nodes: Sequence[str], now_ns: int, level: int = 0) -> dict[str, DiagEntry]:
    """/diagnostics entries of ``nodes``, all received at ``now_ns``."""
    return {f"{n}: heartbeat": DiagEntry(n, level, "ok" if level == 0 else "fault", now_ns) for n in nodes}


def fresh_inputs(traj_fn: Callable[[Plant, int], TrajectoryArrays | None],
                 nodes: Sequence[str] = ("localizer", "can_bridge")) -> Callable[[Plant, int], ControlInputs]:
    """Inputs where everything is fresh every cycle; ``traj_fn`` gives the trajectory."""
    def build(plant: Plant, now_ns: int) -> ControlInputs:
        return ControlInputs(plant.odometry(), TrajectoryInput(traj_fn(plant, now_ns), now_ns), plant.status(),
                             no_objects(now_ns), heartbeats(nodes, now_ns))
    return build


def path_error(loop: TrajectoryArrays, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance of each (x, y) to the densely sampled ``loop`` (true cross-track error, independent of the
    controller's own estimate)."""
    from scipy.spatial import cKDTree

    s = np.arange(0.0, loop.s_m[-1], 0.02)
    tree = cKDTree(np.column_stack([np.interp(s, loop.s_m, loop.x_m), np.interp(s, loop.s_m, loop.y_m)]))
    d, _ = tree.query(np.column_stack([x, y]))
    return d
