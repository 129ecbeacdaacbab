"""Lanelet2 route, behaviour (lights, crosswalks, obstacles, emergency vehicles, mission stops),
velocity profile, trajectory."""
