"""Lidar pipeline core (pure: no rclpy): crop, voxel downsample, slope-aware ground removal,
grid clustering, oriented boxes and an ONNX point-set classifier.

Entry point: ``from lsv_perception.lidar.pipeline import LidarPipeline, LidarConfig``.
"""
