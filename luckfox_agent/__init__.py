"""PowerStats agent for the Luckfox Pico Max: mirrors the files and serves the dashboard.

The package is standard library only and must run on Python 3.9. Modules import what they
need lazily: on a 256 MB board every imported module is resident memory.
"""

import time as _time

__version__ = "0.2.0"
# When the process started, for the uptime on /admin. Taken at the package's first import
# (the start of every command), not in status.py, which loads with the first status request.
# Monotonic: the board has no clock battery, and NTP moves the wall clock after boot.
STARTED = _time.monotonic()
