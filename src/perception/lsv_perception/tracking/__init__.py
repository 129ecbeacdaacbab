"""Multi-object tracker (pure core, no rclpy): batched constant-velocity / constant-turn-rate
Kalman filters, gated Hungarian association, a track life cycle as a pure transition function,
per-class motion noise. ``MultiObjectTracker`` is the entry point."""

from lsv_perception.tracking.lifecycle import TrackState, transition, transition_array
from lsv_perception.tracking.params import TrackerParams
from lsv_perception.tracking.tracker import Measurements, MultiObjectTracker, Tracks

__all__ = ["Measurements", "MultiObjectTracker", "TrackState", "TrackerParams", "Tracks", "transition",
           "transition_array"]
