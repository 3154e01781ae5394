"""`serve`, the command the init scripts run, apart from the commands run by hand.

The daemon runs for months; `setup`, `doctor` and the others run now and then from a shell.
Keeping their code out of the daemon's imports keeps it out of its resident memory.
"""

from __future__ import annotations

import os
import sys

from . import log
from .config import Config, ConfigError, load

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Callable, List

OK, FAILED, CONFIG_ERROR, START_ERROR = 0, 1, 3, 4


def load_config(path: str, verbose: bool) -> Config:
    """Load the config, keep its token out of the log, and log as it says."""
    config = load(path)
    log.add_secret(config.source_token)
    log.configure("debug" if verbose else config.log_level, config.log_target)
    return config


def dispatch(
    handler: Callable[[str, bool, List[str]], int],
    config_path: str,
    verbose: bool,
    options: List[str],
) -> int:
    """Run one command; ConfigError becomes exit code 3 with the message."""
    log.configure("debug" if verbose else "info", "stderr")
    try:
        return handler(config_path, verbose, options)
    except ConfigError as err:
        sys.stderr.write(f"configuration error: {err}\n")
        return CONFIG_ERROR


def serve(config_path: str, verbose: bool, options: List[str]) -> int:
    """Run the daemon (`--user NAME`: bind as root, then serve as NAME; `--syslog`)."""
    if "--syslog" in options:
        log.force_target("syslog")
    try:
        config = load_config(config_path, verbose)
    except ConfigError as err:
        log.error("configuration error: %s", err)  # stderr may lead nowhere under init
        raise
    from .agent import Agent
    from .privileges import PrivilegeError, check

    user = next((o.split("=", 1)[1] for o in options if o.startswith("--user=")), "")
    try:
        if user:
            check(user)  # before binding: a wrong user is named, not a refused port
        agent = Agent(config, user)
    except (OSError, PrivilegeError) as err:
        if isinstance(err, PermissionError) and 0 < config.port < 1024:
            log.error(
                "cannot bind port %d as uid %d: ports below 1024 need root; start it as root "
                "with --user=powerstats (the init scripts do) or give it CAP_NET_BIND_SERVICE",
                config.port,
                os.geteuid(),
            )
        else:
            log.error("cannot start: %s", err)
        return START_ERROR
    if os.geteuid() == 0:
        log.warning("serving as root; start it with --user powerstats (the init scripts do)")
    return agent.run()
