"""The GNSS antenna's mounting (lever arm), read from the sensor extrinsics file (pure, no ROS).

One source of truth for sensor mounting: the localizer does not carry its own copy of the lever
arm. Its parameter ``extrinsics_file`` names a ROS parameter file whose ``/**: ros__parameters:
extrinsics: gnss: {x, y}`` give the antenna in ``base_link`` (rear axle centre on the ground, x
forward, y left). In the simulator that is ``package://lsv_sim/config/sensors.param.yaml``, the file
the simulator node itself loads to place its antenna; on a vehicle it is the vehicle's measured
extrinsics file, in the same layout. The antenna height (``z``) is not used: the filter is planar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lsv_common.paramfile import ParamFileError, params_from_file
from lsv_common.params import ParameterError, spec
from lsv_common.share import resolve_package_url


class ExtrinsicsError(ParameterError):
    """The extrinsics file is missing or has no valid GNSS mounting (a node exits with a config error)."""


@dataclass(frozen=True)
class GnssMount:
    """Where the GNSS antenna is in base_link (m)."""

    x_m: float = field(metadata=spec("GNSS antenna ahead of base_link (the rear axle)", unit="m", min=-5.0,
                                     max=10.0, name="extrinsics.gnss.x"))
    y_m: float = field(metadata=spec("GNSS antenna left of base_link", unit="m", min=-3.0, max=3.0,
                                     name="extrinsics.gnss.y"))

    @property
    def xy(self) -> tuple[float, float]:
        return self.x_m, self.y_m


ANTENNA_AT_BASE_LINK = GnssMount(0.0, 0.0)  # synthetic inputs that put the fix at base_link itself (tests, benchmarks)


def load_gnss_mount(url: str) -> GnssMount:
    """The antenna mounting of the extrinsics file ``url`` (a path or ``package://<pkg>/<path>``).

    Raises ExtrinsicsError naming the file when it is missing or lacks ``extrinsics.gnss.x/y``:
    no default applies, a vehicle must say where its antenna is.
    """
    found, looked = resolve_package_url(url)
    if found is None or not found.is_file():
        where = f" (looked in {', '.join(str(p) for p in looked)})" if looked else ""
        raise ExtrinsicsError(f"extrinsics file '{url}' not found{where}: set the localizer's 'extrinsics_file' "
                              "to the vehicle's sensor extrinsics (extrinsics.gnss.x/y in base_link)")
    try:
        (mount,) = params_from_file(found, GnssMount)
    except (ParamFileError, ParameterError) as err:
        raise ExtrinsicsError(f"extrinsics file '{url}' ({found}): {err}") from err
    return mount
