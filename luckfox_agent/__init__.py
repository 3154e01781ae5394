"""PowerStats agent for the Luckfox Pico Max: mirrors the files and serves the dashboard."""

__version__ = "0.1.0"
