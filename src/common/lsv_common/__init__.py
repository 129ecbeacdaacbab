"""Shared building blocks of the low-speed vehicle stack.

Pure modules (no rclpy): ``rate``, ``middleware``, ``pointcloud`` (numpy side).
ROS helpers for the thin node shells: ``params``, ``diagnostics``, ``node``.
"""
