"""DBC-driven vehicle interface over python-can: commands out, vehicle status in, counters, checksums, watchdogs."""
