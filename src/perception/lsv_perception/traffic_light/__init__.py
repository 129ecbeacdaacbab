"""Traffic-light states from the camera at the map's heads: ``heads`` (map), ``classifier`` (image)."""

from lsv_perception.traffic_light.classifier import LightClassifierParams, LightObservation, classify
from lsv_perception.traffic_light.heads import LightHead, LightMap, LightMapError, load_light_heads, load_light_map

__all__ = ["LightClassifierParams", "LightHead", "LightMap", "LightMapError", "LightObservation", "classify",
           "load_light_heads", "load_light_map"]
