"""The localizer's core (pure, no ROS): the EKF plus everything around it - projection of GNSS
fixes to the map frame, initialisation of the heading, the road pitch, input freshness and health.

Feed it measurements with ``on_*`` (each with the ``now_ns`` it arrived), ask ``estimate(now_ns)``
for the pose to publish and ``health(now_ns)`` for /diagnostics. The heading must come from
somewhere before the filter starts: an initial pose, the IMU's absolute yaw (when configured), or
the GNSS course over ground once the vehicle has moved ``course_init_distance_m`` in a straight line.

Every input is checked first (``checks.py``): a sample with a bad field is dropped, counted under its
reason and the health WARNs while such samples keep arriving. The GNSS antenna's mounting comes from
the sensor extrinsics file named by ``extrinsics_file`` (``extrinsics.py``), the one the simulator
reads too.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from lsv_common.params import spec
from lsv_localization.checks import TEXT, Drop, ImuSample, check_gnss, check_imu, check_pose, check_status
from lsv_localization.ekf import NS, YAW, B, Ekf, EkfParams, Outcome, V, W
from lsv_localization.extrinsics import ANTENNA_AT_BASE_LINK, GnssMount, load_gnss_mount

log = logging.getLogger(__name__)

G = 9.81  # m/s^2
OK, WARN, ERROR = 0, 1, 2  # diagnostic levels


@dataclass(frozen=True)
class LocalizerParams:
    origin_lat_deg: float = field(metadata=spec("map origin latitude (same as the map, V2X and simulator)",
                                                unit="deg", min=-89.9, max=89.9, name="map_origin.latitude_deg"))
    origin_lon_deg: float = field(metadata=spec("map origin longitude", unit="deg", min=-180.0, max=180.0,
                                                name="map_origin.longitude_deg"))
    extrinsics_file: str = field(metadata=spec("sensor extrinsics file giving the GNSS antenna in base_link "
                                               "(extrinsics.gnss.x/y): the file the simulator reads, or the "
                                               "vehicle's; a file path or a package:// URL",
                                               name="extrinsics_file"))
    publish_period_s: float = field(metadata=spec("odometry period", unit="s", min=0.005, max=0.5,
                                                  name="publish_period_s"))
    gnss_timeout_s: float = field(metadata=spec("no GNSS fix this long -> dead reckoning (WARN)", unit="s",
                                                min=0.1, max=10.0, name="timeouts.gnss_s"))
    status_timeout_s: float = field(metadata=spec("no wheel speed this long -> ERROR (cannot dead-reckon)",
                                                  unit="s", min=0.02, max=5.0, name="timeouts.vehicle_status_s"))
    imu_timeout_s: float = field(metadata=spec("no IMU this long -> WARN (steering yaw rate only)", unit="s",
                                               min=0.02, max=5.0, name="timeouts.imu_s"))
    max_position_sigma_m: float = field(metadata=spec("position sigma above this -> ERROR", unit="m", min=0.1,
                                                      max=50.0, name="health.max_position_sigma_m"))
    gnss_reject_error_s: float = field(metadata=spec("GNSS fixes rejected by the gate for this long -> ERROR",
                                                     unit="s", min=0.5, max=60.0, name="health.gnss_reject_error_s"))
    bad_input_hold_s: float = field(metadata=spec("WARN for this long after the last dropped (invalid or gated) "
                                                  "input", unit="s", min=0.1, max=60.0,
                                                  name="health.bad_input_hold_s"))
    init_position_sigma_m: float = field(metadata=spec("position sigma of a fresh initialisation", unit="m",
                                                       min=0.01, max=50.0, name="init.position_sigma_m"))
    init_yaw_sigma_rad: float = field(metadata=spec("heading sigma of a fresh initialisation", unit="rad",
                                                    min=0.001, max=1.0, name="init.yaw_sigma_rad"))
    course_init_distance_m: float = field(metadata=spec("GNSS course initialisation: straight distance driven",
                                                        unit="m", min=0.5, max=100.0,
                                                        name="init.course_distance_m"))
    use_imu_yaw_for_init: bool = field(metadata=spec("initialise the heading from the IMU orientation (only for "
                                                     "an IMU with an absolute, map-aligned yaw)",
                                                     name="init.use_imu_yaw"))
    pitch_time_constant_s: float = field(metadata=spec("low-pass of the road pitch", unit="s", min=0.0, max=10.0,
                                                       name="pitch_time_constant_s"))


@dataclass(frozen=True)
class Estimate:
    t_ns: int
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    yaw_rate_rps: float
    pitch_rad: float  # ROS convention (REP 103): + = nose down; uphill is negative
    covariance: np.ndarray  # (6, 6) of [x, y, yaw, v, w, gyro bias]
    gyro_bias_rps: float


@dataclass
class Counters:
    gnss_fixes: int = 0
    gnss_accepted: int = 0
    gnss_rejected: int = 0
    gnss_no_fix: int = 0
    status_msgs: int = 0  # wheel speeds accepted
    imu_msgs: int = 0  # IMU samples accepted
    dropped: dict[Drop, int] = field(default_factory=lambda: dict.fromkeys(Drop, 0))  # per reason


class Localizer:
    """``gnss_mount``: where the fixes' antenna is in base_link. The node passes the one of the extrinsics
    file (``configured_localizer``); the default, the antenna at base_link, is for synthetic inputs that
    put the fix at base_link itself (the controller's closed-loop tests and benchmarks)."""

    def __init__(self, p: LocalizerParams, ekf: EkfParams, gnss_mount: GnssMount = ANTENNA_AT_BASE_LINK):
        from lsv_v2x_client.projection import LocalProjection

        self.p = p
        self.gnss_mount = gnss_mount
        self.ekf = Ekf(ekf, self.gnss_mount.xy)
        self.projection = LocalProjection(p.origin_lat_deg, p.origin_lon_deg)
        self.counters = Counters()
        self.last_gnss_ns: int | None = None
        self.last_gnss_accepted_ns: int | None = None
        self.rejecting_since_ns: int | None = None
        self.last_status_ns: int | None = None
        self.last_imu_ns: int | None = None
        self.last_mahalanobis2 = 0.0
        self.last_wheel_speed_mahalanobis2 = 0.0
        self._dropped_at: dict[Drop, int] = {}  # reason -> now_ns of its last drop
        self._last_speed: float | None = None
        self._imu_yaw: float | None = None
        self._course_start: tuple[float, float] | None = None
        self._pending_fix: tuple[float, float] | None = None
        self.pitch_rad = 0.0
        self._pitch_t_ns: int | None = None
        self._dvdt = 0.0
        self._status_prev: tuple[int, float] | None = None
        self.init_source = ""

    # --- inputs ---
    def _drop(self, now_ns: int, reason: Drop) -> None:
        """Count a dropped input; log when a reason starts (again), not for every sample."""
        if reason not in self._recent(now_ns):
            log.warning("dropping inputs: %s", TEXT[reason])
        self.counters.dropped[reason] += 1
        self._dropped_at[reason] = now_ns

    def _speed_at(self, now_ns: int) -> float | None:
        """The last accepted wheel speed if it is fresh (to start the filter with), else None (unknown)."""
        fresh = self.last_status_ns is not None and (now_ns - self.last_status_ns) / NS <= self.p.status_timeout_s
        return self._last_speed if fresh else None

    def _recent(self, now_ns: int) -> list[Drop]:
        """Reasons of drops within ``bad_input_hold_s`` before ``now_ns``."""
        return [r for r, t in self._dropped_at.items() if (now_ns - t) / NS <= self.p.bad_input_hold_s]

    def on_initial_pose_quaternion(self, now_ns: int, x: float, y: float,
                                   orientation: tuple[float, float, float, float]) -> bool:
        """An initial pose with its orientation (x, y, z, w), read through the checked conversion. Returns
        whether it was used (a bad one is dropped and counted)."""
        yaw = check_pose(x, y, orientation)
        if isinstance(yaw, Drop):
            self._drop(now_ns, yaw)
            return False
        return self.on_initial_pose(now_ns, x, y, yaw)

    def on_initial_pose(self, now_ns: int, x: float, y: float, yaw: float) -> bool:
        """(Re)initialise base_link at (x, y) heading ``yaw`` (map frame). Returns whether it was used."""
        if not all(math.isfinite(v) for v in (x, y, yaw)):
            self._drop(now_ns, Drop.INITIAL_POSE)
            return False
        self.ekf.initialize(now_ns, x, y, yaw, self.p.init_position_sigma_m, self.p.init_yaw_sigma_rad,
                            self._speed_at(now_ns))
        self.init_source = "initial pose"
        log.info("initialised from the initial pose (%.2f, %.2f, %.3f rad)", x, y, yaw)
        return True

    def on_gnss(self, now_ns: int, lat_deg: float, lon_deg: float, has_fix: bool,
                cov_en: np.ndarray | None) -> bool | None:
        """A NavSatFix; ``cov_en`` (2, 2) east/north covariance in m^2 or None. Returns accepted (None if unused)."""
        self.counters.gnss_fixes += 1
        if not has_fix:
            self.counters.gnss_no_fix += 1
            return None
        bad = check_gnss(lat_deg, lon_deg, cov_en)
        if bad is not None:
            self._drop(now_ns, bad)
            return None
        x, y = self.projection.forward_point(lat_deg, lon_deg)  # the antenna
        self.last_gnss_ns = now_ns
        if not self.ekf.initialized:
            self._try_initialise(now_ns, x, y)
            return None
        res = self.ekf.update_gnss(now_ns, x, y, cov_en)
        self.last_mahalanobis2 = res.mahalanobis2
        if res.accepted:
            self.counters.gnss_accepted += 1
            self.last_gnss_accepted_ns = now_ns
            self.rejecting_since_ns = None
        else:
            self.counters.gnss_rejected += 1
            if self.rejecting_since_ns is None:
                self.rejecting_since_ns = now_ns
        return res.accepted

    def _try_initialise(self, now_ns: int, x: float, y: float) -> None:
        """Start the filter at the antenna fix (x, y) once a heading is known: base_link is behind it."""
        if self.p.use_imu_yaw_for_init and self._imu_yaw is not None:
            bx, by = self.ekf.base_from_antenna(x, y, self._imu_yaw)
            self.ekf.initialize(now_ns, bx, by, self._imu_yaw, self.p.init_position_sigma_m,
                                self.p.init_yaw_sigma_rad, self._speed_at(now_ns))
            self.init_source = "GNSS + IMU yaw"
            log.info("initialised from GNSS and the IMU yaw")
            return
        moving = self._last_speed is not None and self._last_speed > 0.5
        if not moving:
            self._course_start = None
            return
        if self._course_start is None:
            self._course_start = (x, y)
            return
        dx, dy = x - self._course_start[0], y - self._course_start[1]
        if math.hypot(dx, dy) >= self.p.course_init_distance_m:
            course = math.atan2(dy, dx)
            bx, by = self.ekf.base_from_antenna(x, y, course)
            self.ekf.initialize(now_ns, bx, by, course, self.p.init_position_sigma_m,
                                max(self.p.init_yaw_sigma_rad, 0.1), self._speed_at(now_ns))
            self.init_source = "GNSS course"
            log.info("initialised from the GNSS course over %.1f m", math.hypot(dx, dy))

    def on_vehicle_status(self, now_ns: int, speed_mps: float, steer_rad: float) -> None:
        """Wheel speed (m/s) and steering angle (rad): checked, range-limited and gated before use."""
        bad = check_status(speed_mps, steer_rad)
        if bad is None and self.ekf.check_wheel_speed(speed_mps) is Outcome.OUT_OF_RANGE:
            bad = Drop.WHEEL_SPEED_OUT_OF_RANGE
        if bad is None and self.ekf.initialized:
            res = self.ekf.update_wheel_speed(now_ns, speed_mps)
            self.last_wheel_speed_mahalanobis2 = res.mahalanobis2
            if not res.accepted:
                bad = Drop.WHEEL_SPEED_GATED
            else:
                self.ekf.update_steering(now_ns, speed_mps, steer_rad)  # the model uses the speed: only a good one
        if bad is not None:
            self._drop(now_ns, bad)
            return
        self.counters.status_msgs += 1
        self.last_status_ns = now_ns
        if self._status_prev is not None and now_ns > self._status_prev[0]:
            dt = (now_ns - self._status_prev[0]) / NS
            a = (speed_mps - self._status_prev[1]) / dt
            self._dvdt += (a - self._dvdt) * min(1.0, dt / 0.2)  # derivative of the wheel speed, smoothed
        self._status_prev = (now_ns, speed_mps)
        self._last_speed = speed_mps

    def on_imu(self, now_ns: int, yaw_rate_rps: float, orientation: tuple[float, float, float, float] | None,
               accel_x_mps2: float | None) -> None:
        """IMU sample: yaw rate (rad/s, + left), orientation quaternion (x, y, z, w) or None, forward specific force
        (m/s^2) or None. A sample with any bad field is dropped whole."""
        sample = check_imu(yaw_rate_rps, orientation, accel_x_mps2)
        if not isinstance(sample, ImuSample):
            self._drop(now_ns, sample)
            return
        self.counters.imu_msgs += 1
        self.last_imu_ns = now_ns
        pitch = sample.pitch_rad
        if sample.yaw_rad is not None:
            self._imu_yaw = sample.yaw_rad
        elif sample.accel_x_mps2 is not None:
            # the accelerometer reads dv/dt + g sin(uphill angle); uphill is negative pitch in ROS
            pitch = -math.asin(min(max((sample.accel_x_mps2 - self._dvdt) / G, -1.0), 1.0))
        if pitch is not None:
            if self._pitch_t_ns is None:
                self.pitch_rad = pitch
            else:
                dt = max(0.0, (now_ns - self._pitch_t_ns) / NS)
                tau = self.p.pitch_time_constant_s
                self.pitch_rad += (pitch - self.pitch_rad) * (1.0 if tau <= 0.0 else min(1.0, dt / tau))
            self._pitch_t_ns = now_ns
        if self.ekf.initialized:
            self.ekf.update_gyro(now_ns, yaw_rate_rps)

    # --- outputs ---
    def estimate(self, now_ns: int) -> Estimate | None:
        """The state predicted to ``now_ns``; None until initialised."""
        if not self.ekf.initialized or not self.finite():
            return None  # a diverged filter publishes nothing (the controller stops); health says ERROR
        self.ekf.predict(now_ns)
        s = self.ekf.x
        return Estimate(self.ekf.t_ns or now_ns, float(s[0]), float(s[1]), float(s[YAW]), float(s[V]), float(s[W]),
                        self.pitch_rad, self.ekf.P.copy(), float(s[B]))

    def finite(self) -> bool:
        """State and covariance are finite (a numerical failure never reaches the odometry)."""
        return bool(np.isfinite(self.ekf.x).all() and np.isfinite(self.ekf.P).all())

    def _age_s(self, t_ns: int | None, now_ns: int) -> float:
        return math.inf if t_ns is None else max(0.0, (now_ns - t_ns) / NS)

    def health(self, now_ns: int) -> tuple[int, str, dict[str, float | int | str]]:
        """(level, message, values) for /diagnostics."""
        p = self.p
        gnss_age = self._age_s(self.last_gnss_accepted_ns, now_ns)
        status_age = self._age_s(self.last_status_ns, now_ns)
        imu_age = self._age_s(self.last_imu_ns, now_ns)
        counts = {k: v for k, v in vars(self.counters).items() if k != "dropped"}
        values: dict[str, float | int | str] = {
            "initialised_from": self.init_source or "-", "gnss_age_s": gnss_age, "wheel_speed_age_s": status_age,
            "imu_age_s": imu_age, "last_mahalanobis2": self.last_mahalanobis2,
            "last_wheel_speed_mahalanobis2": self.last_wheel_speed_mahalanobis2,
            "gnss_antenna_x_m": self.gnss_mount.x_m, "gnss_antenna_y_m": self.gnss_mount.y_m,
            "extrinsics_file": self.p.extrinsics_file, **counts,
            **{r.value: n for r, n in self.counters.dropped.items()}}
        recent = self._recent(now_ns)
        dropping = "dropping " + ", ".join(f"{TEXT[r]} ({self.counters.dropped[r]})" for r in recent)
        if not self.ekf.initialized:
            return ERROR, "not initialised: waiting for GNSS and a heading (initial pose, IMU yaw or GNSS course)" + \
                (f"; {dropping}" if recent else ""), values
        if not self.finite():
            return ERROR, "filter state not finite: re-initialise (initial pose)", values
        sigma = self.ekf.position_sigma_m()
        values.update({"position_sigma_m": sigma, "yaw_sigma_rad": math.sqrt(self.ekf.P[YAW, YAW]),
                       "gyro_bias_rps": float(self.ekf.x[B]), "pitch_rad": self.pitch_rad})
        problems: list[tuple[int, str]] = []
        if status_age > p.status_timeout_s:
            problems.append((ERROR, f"no accepted wheel speed for {status_age:.1f} s"))
        if sigma > p.max_position_sigma_m:
            problems.append((ERROR, f"position sigma {sigma:.2f} m above {p.max_position_sigma_m} m"))
        # how long the fixes that kept arriving were all rejected (a dropout does not count)
        rejecting = 0.0 if self.rejecting_since_ns is None or self.last_gnss_ns is None \
            else (self.last_gnss_ns - self.rejecting_since_ns) / NS
        if rejecting > p.gnss_reject_error_s:
            problems.append((ERROR, f"GNSS disagrees with the estimate for {rejecting:.1f} s"))
        if imu_age > p.imu_timeout_s:
            problems.append((WARN, f"no IMU for {imu_age:.1f} s (steering yaw rate only)"))
        if gnss_age > p.gnss_timeout_s:
            problems.append((WARN, f"dead reckoning: no accepted GNSS fix for {gnss_age:.1f} s"))
        elif self.rejecting_since_ns is not None:
            problems.append((WARN, "GNSS outlier rejected"))
        if recent:
            problems.append((WARN, dropping))
        if not problems:
            return OK, "GNSS + wheel + IMU", values
        level = max(lv for lv, _ in problems)
        return level, "; ".join(text for lv, text in problems if lv == level), values


def configured_localizer(p: LocalizerParams, ekf: EkfParams) -> Localizer:
    """The localizer as the node builds it: the GNSS antenna where ``p.extrinsics_file`` mounts it
    (ExtrinsicsError when that file has no ``extrinsics.gnss.x/y``)."""
    return Localizer(p, ekf, load_gnss_mount(p.extrinsics_file))
