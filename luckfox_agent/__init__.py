"""PowerStats agent for the Luckfox Pico Max: mirrors the files and serves the dashboard.

The package is standard library only and must run on Python 3.9. Modules import what they
need lazily: on a 256 MB board every imported module is resident memory.
"""

__version__ = "0.2.0"
