"""Traffic-light states from the camera at the map's heads: ``heads`` (map), ``classifier`` (image)."""

from lsv_perception.traffic_light.classifier import LightClassifierParams, LightObservation, classify
from lsv_perception.traffic_light.heads import LightHead, LightMapError, load_light_heads

__all__ = ["LightClassifierParams", "LightHead", "LightMapError", "LightObservation", "classify",
           "load_light_heads"]
