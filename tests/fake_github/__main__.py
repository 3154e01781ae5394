"""Run the fake GitHub on its own: `python -m tests.fake_github --port N --repo o/r --token T`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .server import FakeGitHub


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_github", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--repo", default="owner/repo", help="repository owner/name to serve")
    parser.add_argument("--token", default="ghp_fake_token", help="the token that may write")
    parser.add_argument("--prefix", default="", help='API path prefix, e.g. "/api/v3" (GHES)')
    parser.add_argument(
        "--seeded", action="store_true", help="start with one commit instead of an empty repo"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeGitHub(
        token=args.token, repository=args.repo, empty=not args.seeded, prefix=args.prefix
    )
    await fake.start(args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # One line on stdout that a parent process can wait for and parse.
    print(f"fake GitHub API at {fake.api_url} serving {args.repo}", flush=True)
    await stop.wait()
    await fake.stop()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(_serve(_parse(sys.argv[1:] if argv is None else argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
