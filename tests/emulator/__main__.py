"""Run the emulator in the foreground: python -m tests.emulator [--port N] [--port-file PATH] ..."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

from .core import Emulator


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--port-file", type=Path, help="write the base URL to this file")
    parser.add_argument("--seed-session", metavar="NAME", help="seed a token cache for NAME")
    parser.add_argument("--start-url", help="start URL of the seeded token")
    parser.add_argument("--sso-region", default="us-east-1", help="region of the seeded token")
    parser.add_argument("--home", type=Path, help="HOME under which to seed .aws/sso/cache")
    parser.add_argument("--credential-lifetime", type=int, help="role credential lifetime (s)")
    parser.add_argument("--token-lifetime", type=int, help="access token lifetime (s)")
    args = parser.parse_args(argv)
    if args.seed_session and not (args.start_url and args.home):
        parser.error("--seed-session needs --start-url and --home")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    emu = Emulator()
    if args.credential_lifetime is not None:
        emu.credential_lifetime = args.credential_lifetime
    if args.token_lifetime is not None:
        emu.token_lifetime = args.token_lifetime
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emu.start(args.port)
    try:
        if args.seed_session:
            path = emu.write_token_cache(
                args.home,
                args.seed_session,
                start_url=args.start_url,
                region=args.sso_region,
            )
            print(f"seeded token cache {path}", file=sys.stderr, flush=True)
        if args.port_file:
            _write_atomically(args.port_file, emu.url + "\n")
        print(f"emulator listening on {emu.url}", file=sys.stderr, flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
