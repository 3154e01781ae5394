"""Command line entry point: `python3 -m luckfox_agent [--config FILE] COMMAND`.

Exit codes (also in docs/agent.md):
  0  success
  1  the command ran but failed (mirror failed, doctor found problems, status unhealthy)
  2  usage error (unknown command or option)
  3  configuration error (missing, unreadable or invalid config file)
  4  cannot start serving (address in use, TLS files unreadable)
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import sys

from . import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import List, Optional

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_START, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
DEFAULT_CONFIG = "/etc/powerstats-agent.conf"
COMMANDS = ("serve", "mirror-once", "status", "setup", "hash-password", "doctor", "logs")

USAGE = f"""\
usage: python3 -m luckfox_agent [--config FILE] [--verbose] COMMAND [OPTIONS]

PowerStats agent {__version__}: mirrors the PowerStats files and serves the dashboard.

commands:
  serve [--user=NAME] [--syslog]
                  mirror loop + web server (the daemon); started as root with --user, it
                  binds its port (80 too) and then serves as NAME; --syslog logs to syslog
  mirror-once     poll the source once and exit (0 = up to date, 1 = failed)
  status [--json] show the last mirror result, file ages and whether the server answers
  setup           ask for the source, token and admin password; write the config
                  (keeping its owner, group and mode; a new one is root:powerstats 0640)
  hash-password [--stdin]
                  print a hash of an admin password for [admin] password_hash
  doctor          check config, source, disk, permissions and clock; print what to fix
  logs [--lines=N]
                  print the agent's last N (50) lines from the journal or syslog

options:
  --config FILE   configuration file (default {DEFAULT_CONFIG})
  --verbose, -v   log at debug level
  --version       print the version and exit
  --help, -h      show this help and exit

exit codes: 0 ok, 1 failed, 2 usage, 3 config error, 4 cannot start serving, 130 interrupted
"""


def _usage_error(message: str) -> int:
    sys.stderr.write(f"error: {message}\n\n{USAGE}")
    return EXIT_USAGE


def main(argv: Optional[List[str]] = None) -> int:
    """Run the agent; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    config_path = DEFAULT_CONFIG
    verbose = False
    command: Optional[str] = None
    options: List[str] = []
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return EXIT_OK
        if arg == "--version":
            print(f"powerstats-agent {__version__}")
            return EXIT_OK
        if arg in ("-v", "--verbose"):
            verbose = True
        elif arg == "--config" or arg.startswith("--config="):
            if "=" in arg:
                config_path = arg.split("=", 1)[1]
            elif args:
                config_path = args.pop(0)
            else:
                return _usage_error("--config needs a file name")
        elif command is None and not arg.startswith("-"):
            command = arg
        elif command is not None:
            options.append(arg)
        else:
            return _usage_error(f"unknown option {arg}")
    if command is None:
        return _usage_error("no command given")
    if command not in COMMANDS:
        return _usage_error(f"unknown command {command!r}")
    allowed = {
        "status": {"--json"},
        "hash-password": {"--stdin"},
        "serve": {"--syslog", "--user="},
        "logs": {"--lines="},
    }.get(command, set())
    for option in options:
        name, equals, value = option.partition("=")
        if name + equals not in allowed or (equals and not value):
            return _usage_error(f"{command} does not take {option}")
        if name == "--lines" and not value.isdigit():
            return _usage_error("--lines needs a number, e.g. --lines=100")
    try:
        if command == "serve":  # without the other commands' code (see daemon.py)
            from .daemon import dispatch, serve

            return dispatch(serve, config_path, verbose, options)
        from . import commands

        return commands.run(command, config_path, verbose, options)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
