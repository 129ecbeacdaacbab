"""Pose estimate from GNSS, wheel odometry and IMU (EKF)."""
