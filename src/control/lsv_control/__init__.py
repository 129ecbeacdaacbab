"""Trajectory follower, command gate and minimal-risk manoeuvre."""
