"""Loading the localizer's parameters from its YAML file (tests, benchmarks, tools)."""

from __future__ import annotations

from pathlib import Path

import yaml

from lsv_common.params import build_params, flatten
from lsv_localization.ekf import EkfParams
from lsv_localization.localizer import LocalizerParams

CONFIG = Path(__file__).resolve().parent.parent / "config" / "localizer.param.yaml"


def params_from_yaml(path: str | Path | None = None) -> tuple[LocalizerParams, EkfParams]:
    """(LocalizerParams, EkfParams) from ``path`` (default: the package's config/localizer.param.yaml)."""
    if path is None:
        path = CONFIG
        if not path.exists():  # installed: the share directory
            from ament_index_python.packages import get_package_share_directory  # type: ignore[import-not-found]

            path = Path(get_package_share_directory("lsv_localization")) / "config" / "localizer.param.yaml"
    values = flatten(yaml.safe_load(Path(path).read_text())["/**"]["ros__parameters"])
    return build_params(LocalizerParams, values, str(path)), build_params(EkfParams, values, str(path))
