"""`ssoexec configure` against a large portal that throttles, next to the rate limit's floor.

The bundled emulator plays a portal of --accounts accounts with --roles roles each that answers
429 TooManyRequestsException above --rate calls a second per API (ListAccounts,
ListAccountRoles). The floor is the time the limit alone imposes on the calls answered: every
ListAccountRoles call plus the ListAccounts pages, at --rate a second. Reported: wall time
(ssoexec's start-up and the writing of the file included), the floor, their ratio (target under
1.3), the 429s the portal answered, and whether every profile was written.

    python benchmarks/portal_throttling.py [--accounts 500] [--roles 2] [--rate 20] [--runs 1]

Extra environment for ssoexec (e.g. AWS_MAX_ATTEMPTS) passes through.
"""

from __future__ import annotations

import argparse
import configparser
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.emulator import Emulator, organisation  # noqa: E402

START_URL = "https://d-bench00001.awsapps.com/start"
LISTINGS = ("ListAccounts", "ListAccountRoles")


def one_run(args: argparse.Namespace, ssoexec: str) -> dict:
    with (
        tempfile.TemporaryDirectory() as root,
        Emulator(organisation(args.accounts, args.roles)) as emu,
    ):
        home = Path(root)
        (home / ".aws").mkdir()
        emu.write_token_cache(home, "bench", start_url=START_URL, region="us-east-1")
        (home / ".aws" / "config").write_text(
            f"[sso-session bench]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        )
        emu.rate_limit = args.rate
        env = {
            **os.environ,
            "HOME": str(home),
            "TMPDIR": root,
            "AWS_EC2_METADATA_DISABLED": "true",
            **emu.endpoint_env(),
        }
        env.pop("AWS_CONFIG_FILE", None)
        env.pop("AWS_PROFILE", None)
        start = time.perf_counter()
        result = subprocess.run(
            [ssoexec, "configure", "--sso-session", "bench"],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        wall = time.perf_counter() - start
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(home / ".aws" / "config")
        profiles = [s for s in parser.sections() if s.startswith("profile ")]
        calls = dict(emu.calls)
        throttled = dict(emu.throttled)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
    answered = sum(calls.get(api, 0) - throttled.get(api, 0) for api in LISTINGS)
    floor = answered / args.rate
    return {
        "wall": wall,
        "floor": floor,
        "ok": result.returncode == 0 and len(profiles) == args.accounts * args.roles,
        "profiles": len(profiles),
        "calls": calls,
        "throttled": throttled,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--roles", type=int, default=2)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    ssoexec = str(Path(sys.executable).parent / "ssoexec")
    for n in range(args.runs):
        run = one_run(args, ssoexec)
        print(
            f"run {n + 1}: {args.accounts} accounts x {args.roles} roles at {args.rate:g}/s: "
            f"wall {run['wall']:.1f}s, floor {run['floor']:.1f}s, "
            f"ratio {run['wall'] / run['floor']:.2f}x; "
            f"{run['profiles']} profiles ({'all' if run['ok'] else 'NOT all, or it failed'}); "
            f"calls {run['calls'].get('ListAccounts', 0)} ListAccounts + "
            f"{run['calls'].get('ListAccountRoles', 0)} ListAccountRoles, "
            f"429s {sum(run['throttled'].values())}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
