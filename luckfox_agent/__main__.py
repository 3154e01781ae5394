"""Command line entry point: `python3 -m luckfox_agent`."""

import sys

from . import __version__


def main(argv: "list[str] | None" = None) -> int:
    """Run the agent; returns the process exit code."""
    print(f"powerstats-agent {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
