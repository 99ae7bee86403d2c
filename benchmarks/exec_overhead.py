"""ssoexec's own overhead before the command runs, next to the bare boto3 floor.

Measured in one run, against the bundled emulator on 127.0.0.1 with a valid SSO token:

  ssoexec   `ssoexec -p dev -- true` (the installed console script)
  boto3     a minimal script: import boto3, resolve the same profile's credentials, exec `true`
  nested    `ssoexec -p dev -- true` inside an ssoexec child for dev (reuses, no AWS call)
  python    `python -c pass`, the interpreter's own start-up, for scale

Runs are interleaved so that machine noise hits every variant alike. Reported: the median and
spread of wall time, the median peak RSS (ru_maxrss of the whole process, before its exec),
and the ratio of the ssoexec and boto3 medians.

    python benchmarks/exec_overhead.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.emulator import Emulator  # noqa: E402

START_URL = "https://d-bench00001.awsapps.com/start"
CONFIG = f"""\
[sso-session bench]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = bench
sso_account_id = 111111111111
sso_role_name = Admin
region = eu-west-1
"""

BASELINE = """\
import os
import boto3

credentials = boto3.Session(profile_name="dev").get_credentials().get_frozen_credentials()
env = dict(os.environ, AWS_ACCESS_KEY_ID=credentials.access_key,
           AWS_SECRET_ACCESS_KEY=credentials.secret_key, AWS_SESSION_TOKEN=credentials.token)
os.execvpe("true", ["true"], env)
"""


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one whole process, exec'd command included."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv} failed with status {child.returncode}")
    return elapsed, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    ssoexec = str(bin_dir / "ssoexec")
    with Emulator() as emulator, tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        (home / ".aws").mkdir(parents=True)
        (home / ".aws" / "config").write_text(CONFIG)
        emulator.write_token_cache(home, "bench", start_url=START_URL)
        baseline = Path(scratch) / "baseline.py"
        baseline.write_text(BASELINE)
        env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            **emulator.endpoint_env(),
        }
        nested_env = dict(env)
        probe = subprocess.run(
            [ssoexec, "-p", "dev", "--", "env"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        nested_env.update(line.split("=", 1) for line in probe.stdout.splitlines())

        variants = {
            "ssoexec": ([ssoexec, "-p", "dev", "--", "true"], env),
            "boto3": ([sys.executable, str(baseline)], env),
            "nested": ([ssoexec, "-p", "dev", "--", "true"], nested_env),
            "python": ([sys.executable, "-c", "pass"], env),
        }
        for argv, variant_env in variants.values():  # warm the page cache and .pyc files
            measure(argv, variant_env)
        calls_before = emulator.calls["GetRoleCredentials"]
        times: dict[str, list[float]] = {name: [] for name in variants}
        rss: dict[str, list[int]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, (argv, variant_env) in variants.items():
                seconds, peak = measure(argv, variant_env)
                times[name].append(seconds)
                rss[name].append(peak)
        calls = emulator.calls["GetRoleCredentials"] - calls_before

    print(
        f"{args.runs} interleaved runs each, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores; GetRoleCredentials calls: {calls} "
        f"(expected {2 * args.runs}: ssoexec and boto3, none for nested)"
    )
    print(f"{'variant':10} {'median ms':>10} {'p10 ms':>8} {'p90 ms':>8} {'peak RSS MiB':>13}")
    for name in variants:
        ordered = sorted(times[name])
        p10 = ordered[len(ordered) // 10]
        p90 = ordered[(len(ordered) * 9) // 10 - 1]
        print(
            f"{name:10} {statistics.median(ordered) * 1000:10.1f} {p10 * 1000:8.1f} "
            f"{p90 * 1000:8.1f} {statistics.median(rss[name]) / 1024:13.1f}"
        )
    ratio = statistics.median(times["ssoexec"]) / statistics.median(times["boto3"])
    print(f"ratio ssoexec / boto3 (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
