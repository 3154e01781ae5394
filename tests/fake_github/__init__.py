"""A fake GitHub REST API for tests, benchmarks and the demo (loopback only)."""

from .objects import git_sha
from .repository import Repository
from .server import EMPTY_REPOSITORY, NOT_FAST_FORWARD, FakeGitHub, Grant, LoggedRequest

__all__ = [
    "EMPTY_REPOSITORY",
    "NOT_FAST_FORWARD",
    "FakeGitHub",
    "Grant",
    "LoggedRequest",
    "Repository",
    "git_sha",
]
