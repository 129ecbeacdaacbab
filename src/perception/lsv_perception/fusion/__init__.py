"""Camera-lidar fusion (pure core, no rclpy): 3D boxes projected into the image with the
calibration, matched with 2D detections by IoU (Hungarian), classes and scores merged; V2X
objects turned into another measurement source for the tracker."""

from lsv_perception.fusion.fuse import FusionParams, FusionResult, fuse_camera
from lsv_perception.fusion.projection import Calibration, box_corners, iou_matrix, project_boxes

__all__ = ["Calibration", "FusionParams", "FusionResult", "box_corners", "fuse_camera", "iou_matrix",
           "project_boxes"]
