"""ssoexec's own overhead before the command runs, next to the bare boto3 floor.

Measured in one run, against the bundled emulator on 127.0.0.1 with a valid SSO token:

  ssoexec   `ssoexec -p dev -- true` (the installed console script), no agent: a cold run
  handoff   the same cold run with a dead agent's socket there: it asks (refused), fetches,
            and forks the hand-off (which finds no agent): what an agent costs a cold run
  warm      `ssoexec -p dev -- true` answered by a running agent (no AWS call)
  boto3     a minimal script: import boto3, resolve the same profile's credentials, exec `true`
  nested    `ssoexec -p dev -- true` inside an ssoexec child for dev (reuses, no AWS call)
  cp-cold   `ssoexec credential-process -p dev`, no agent
  cp-warm   `ssoexec credential-process -p dev`, answered by the agent
  export    `ssoexec export -p dev`: a subcommand (typer) that fetches, no agent
  complete  `ssoexec completion bash`: a subcommand that makes no AWS call (typer, no botocore)
  python    `python -c pass`, the interpreter's own start-up, for scale
  before    (with --before PATH) the cold run of another installed ssoexec, e.g. the last
            release in a venv of its own: whether a change made the cold run slower
  before-export, before-complete   (with --before) the two subcommands of that ssoexec

Runs are interleaved so that machine noise hits every variant alike. Reported: the median and
spread of wall time, the median peak RSS (see `peak_rss`), and the ratios of the medians
to boto3's.

    python benchmarks/exec_overhead.py [--runs 40] [--before /path/to/old/venv/bin/ssoexec]
"""

from __future__ import annotations

import argparse
import os
import socket
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


def measure(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one whole process, exec'd command included."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    status = child.wait()
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{argv} failed with status {status}")
    return elapsed


# A process forked from this one starts with this one's resident set counted in its peak, and
# keeps that peak through exec. So the peak is taken by a small fresh interpreter that forks
# the run itself (its own few MiB are then the floor) and reports its children's ru_maxrss.
PEAK_HELPER = """\
import os, resource, sys
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0); os.dup2(null, 1)
    os.execvpe(sys.argv[1], sys.argv[1:], os.environ)
_, status = os.waitpid(pid, 0)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if status == 0 else -1)
"""


def peak_rss(argv: list[str], env: dict[str, str]) -> int:
    """Peak RSS (KiB) of one whole run, before and after its exec, measured from a helper."""
    helper = [sys.executable, "-I", "-S", "-c", PEAK_HELPER, *argv]
    output = subprocess.run(helper, env=env, capture_output=True, text=True, check=True).stdout
    if int(output) < 0:
        raise SystemExit(f"{argv} failed")
    return int(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--before", help="another installed ssoexec script, to compare cold runs")
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
            "SSOEXEC_AGENT_IDLE": "3600",
            **emulator.endpoint_env(),
        }
        # Each its own TMPDIR, where the agent's socket lives: none, a dead one's, a live one's.
        cold_env = {**env, "TMPDIR": make_tmp(scratch, "cold")}
        handoff_env = {**env, "TMPDIR": make_tmp(scratch, "handoff")}
        warm_env = {**env, "TMPDIR": make_tmp(scratch, "warm")}
        plant_dead_socket(handoff_env["TMPDIR"])
        nested_env = dict(cold_env)
        probe = subprocess.run(
            [ssoexec, "-p", "dev", "--", "env"],
            env=cold_env,
            capture_output=True,
            text=True,
            check=True,
        )
        nested_env.update(line.split("=", 1) for line in probe.stdout.splitlines())
        subprocess.run([ssoexec, "agent", "start"], env=warm_env, check=True)

        run = [ssoexec, "-p", "dev", "--", "true"]
        credential_process = [ssoexec, "credential-process", "-p", "dev"]
        export = [ssoexec, "export", "-p", "dev"]
        completion = [ssoexec, "completion", "bash"]
        variants = {
            "ssoexec": (run, cold_env),
            "handoff": (run, handoff_env),
            "warm": (run, warm_env),
            "boto3": ([sys.executable, str(baseline)], cold_env),
            "nested": (run, nested_env),
            "cp-cold": (credential_process, cold_env),
            "cp-warm": (credential_process, warm_env),
            "export": (export, cold_env),
            "complete": (completion, cold_env),
            "python": ([sys.executable, "-c", "pass"], cold_env),
        }
        if args.before:
            variants["before"] = ([args.before, *run[1:]], cold_env)
            variants["before-export"] = ([args.before, *export[1:]], cold_env)
            variants["before-complete"] = ([args.before, *completion[1:]], cold_env)
        try:
            for argv, variant_env in variants.values():  # warm the page cache and .pyc files
                measure(argv, variant_env)
            calls_before = emulator.calls["GetRoleCredentials"]
            times: dict[str, list[float]] = {name: [] for name in variants}
            rss: dict[str, list[int]] = {name: [] for name in variants}
            for _ in range(args.runs):
                for name, (argv, variant_env) in variants.items():
                    times[name].append(measure(argv, variant_env))
            for _ in range(min(args.runs, 10)):
                for name, (argv, variant_env) in variants.items():
                    rss[name].append(peak_rss(argv, variant_env))
            calls = emulator.calls["GetRoleCredentials"] - calls_before
        finally:
            subprocess.run([ssoexec, "agent", "stop"], env=warm_env, check=False)

    fetching = ["ssoexec", "handoff", "boto3", "cp-cold", "export"]
    fetching += ["before", "before-export"] if args.before else []
    print(
        f"{args.runs} interleaved runs each, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores; GetRoleCredentials calls: {calls} "
        f"(expected {len(fetching) * (args.runs + min(args.runs, 10))}: {', '.join(fetching)}; "
        "none warm or nested)"
    )
    print(f"{'variant':13} {'median ms':>10} {'p10 ms':>8} {'p90 ms':>8} {'peak RSS MiB':>13}")
    for name in variants:
        ordered = sorted(times[name])
        p10 = ordered[len(ordered) // 10]
        p90 = ordered[(len(ordered) * 9) // 10 - 1]
        print(
            f"{name:13} {statistics.median(ordered) * 1000:10.1f} {p10 * 1000:8.1f} "
            f"{p90 * 1000:8.1f} {statistics.median(rss[name]) / 1024:13.1f}"
        )
    boto3 = statistics.median(times["boto3"])
    for name in ("ssoexec", "handoff", "warm", "nested", "cp-cold", "cp-warm", "before"):
        if name in times:
            print(f"ratio {name} / boto3 (medians): {statistics.median(times[name]) / boto3:.2f}")
    for name, old in (
        ("ssoexec", "before"),
        ("export", "before-export"),
        ("complete", "before-complete"),
    ):
        if old in times:
            ratio = statistics.median(times[name]) / statistics.median(times[old])
            print(f"ratio {name} / {old} (medians): {ratio:.2f}")


def make_tmp(scratch: str, name: str) -> str:
    path = Path(scratch) / f"tmp-{name}"
    path.mkdir()
    return str(path)


def plant_dead_socket(tmpdir: str) -> None:
    """The socket file an agent killed with SIGKILL leaves: there, and nobody listening."""
    folder = Path(tmpdir) / f"ssoexec-{os.getuid()}"
    folder.mkdir(mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(folder / "agent.sock"))
    dead.close()


if __name__ == "__main__":
    main()
