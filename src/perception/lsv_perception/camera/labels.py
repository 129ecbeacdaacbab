"""Labels files and the mapping of label names to ``lsv_msgs/DetectedObject`` classes.

A labels file has one class name per line, in the model's class-id order (line 1 = class 0);
blank lines and lines starting with ``#`` are skipped. A line may map a name to a message class
explicitly: ``person = pedestrian`` (the name the model uses, then one of ``CLASSIFICATIONS``'
keys). Otherwise the name itself is looked up in ``CLASSIFICATIONS`` and then in ``ALIASES``
(common COCO / KITTI / nuScenes names); anything else becomes ``CLASS_UNKNOWN``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: label name -> lsv_msgs/DetectedObject.CLASS_* value (kept equal to the .msg constants by a test)
CLASSIFICATIONS = {
    "unknown": 0, "car": 1, "truck": 2, "bus": 3, "cyclist": 4, "motorcycle": 5, "pedestrian": 6,
    "animal": 7, "emergency_vehicle": 8, "static_obstacle": 9,
}
#: other common names of the same classes (lower case)
ALIASES = {
    "person": "pedestrian", "people": "pedestrian", "walker": "pedestrian", "bicycle": "cyclist",
    "bicyclist": "cyclist", "rider": "cyclist", "motorbike": "motorcycle", "motorcyclist": "motorcycle",
    "van": "car", "vehicle": "car", "trailer": "truck", "construction_vehicle": "truck", "dog": "animal",
    "cat": "animal", "horse": "animal", "ambulance": "emergency_vehicle", "police": "emergency_vehicle",
    "fire_truck": "emergency_vehicle", "obstacle": "static_obstacle", "barrier": "static_obstacle",
    "traffic_cone": "static_obstacle", "cone": "static_obstacle",
}


class LabelsError(ValueError):
    """The labels file is missing or unreadable."""


def classification_of(name: str) -> int:
    """``CLASS_*`` value of a label name (``CLASS_UNKNOWN`` for a name not known)."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    key = ALIASES.get(key, key)
    return CLASSIFICATIONS.get(key, CLASSIFICATIONS["unknown"])


def load_labels(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(names, classifications (C,) uint8 CLASS_* per class id) from a labels file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LabelsError(f"cannot read the labels file '{p}': {err}") from err
    names, classes = [], []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            name, target = (s.strip() for s in line.split("=", 1))
            key = target.lower()
            if key not in CLASSIFICATIONS:
                raise LabelsError(f"{p}:{lineno}: '{target}' is not one of {sorted(CLASSIFICATIONS)}")
            names.append(name)
            classes.append(CLASSIFICATIONS[key])
        else:
            names.append(line)
            classes.append(classification_of(line))
    if not names:
        raise LabelsError(f"the labels file '{p}' has no class names (one name per line expected)")
    return names, np.asarray(classes, np.uint8)
