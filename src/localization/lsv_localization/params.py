"""Loading the localizer's parameters from its YAML file (tests, benchmarks, tools)."""

from __future__ import annotations

from pathlib import Path

from lsv_common.paramfile import params_from_file
from lsv_common.share import find_package_file
from lsv_localization.ekf import EkfParams
from lsv_localization.localizer import LocalizerParams

CONFIG = find_package_file("lsv_localization", "config/localizer.param.yaml")


def params_from_yaml(path: str | Path | None = None) -> tuple[LocalizerParams, EkfParams]:
    """(LocalizerParams, EkfParams) from ``path`` (default: the package's config/localizer.param.yaml)."""
    return params_from_file(CONFIG if path is None else path, LocalizerParams, EkfParams)
