"""Built-in simulator: vehicle dynamics, sensors, simulated chassis ECU on CAN, simulated road-side unit, scenarios."""
