"""Print the pinned distributions of the running venv, in requirements.lock format.

`pip freeze` also lists the *.egg-info metadata that the ROS wheels carry for their inner
packages (action_msgs, rclpy, ...); those are not installable names, so only distributions
installed by pip (a *.dist-info with an INSTALLER file) are listed.
"""

import importlib.metadata as md
import sys

SKIP = {"pip"}

pins = {}
for dist in md.distributions():
    path = getattr(dist, "_path", None)
    if path is None or path.suffix != ".dist-info" or dist.read_text("INSTALLER") is None:
        continue
    name = dist.metadata["Name"]
    if name.lower() in SKIP or name.lower().startswith(("lsv-", "lsv_")) or dist.read_text("direct_url.json"):
        continue
    pins[name.lower()] = f"{name}=={dist.version}"
sys.stdout.write("".join(f"{pins[k]}\n" for k in sorted(pins)))
