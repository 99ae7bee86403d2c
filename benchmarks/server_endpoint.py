"""The --server endpoint under load, on a kept-alive connection, and how soon --server exits.

Measured in one run, against the bundled emulator on 127.0.0.1 with a valid SSO token:

  burst N   N clients connect at once (a barrier releases them together) and each GETs the
            credentials on its own connection, as `make -jN` of SDK processes would; reported:
            failures, and the p50 / p90 / max latency from connect to the whole response.
            The JavaScript SDK's container provider gives up after 1 s without retrying.
  keepalive requests on one kept-alive http.client connection: median and max per request.
  exit      `ssoexec -p dev -- true` and `ssoexec -p dev --server -- true`, interleaved,
            whole-process wall time medians.

    python benchmarks/server_endpoint.py [--bursts 50 200] [--repeat 5] [--runs 20] [--source DIR]

--source runs the ssoexec package found in DIR (e.g. `git archive` of an older commit) through
the installed script, for before/after figures.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.exec_overhead import CONFIG, START_URL  # noqa: E402
from tests.emulator import Emulator  # noqa: E402

# The child writes its endpoint and token to a file, then stays until that file is removed.
HOLD = """\
import os, sys, time
path = sys.argv[1]
with open(path + ".tmp", "w") as out:
    out.write(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] + "\\n")
    out.write(os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"] + "\\n")
os.rename(path + ".tmp", path)
while os.path.exists(path):
    time.sleep(0.05)
"""


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def one_request(host: str, port: int, request: bytes, timeout: float) -> float:
    """Seconds from connect to the end of the response (Connection: close), or raise."""
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data.startswith(b"HTTP/1.1 200 "):
        raise OSError(f"answer {data[:40]!r}")
    return time.perf_counter() - started


def burst(uri: str, token: str, clients: int, timeout: float = 30) -> tuple[list[float], int]:
    url = urlsplit(uri)
    request = (
        f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: {token}\r\n"
        f"Connection: close\r\n\r\n"
    ).encode()
    barrier = threading.Barrier(clients)
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client() -> None:
        barrier.wait()
        try:
            seconds = one_request(url.hostname, url.port, request, timeout)
        except OSError:
            with lock:
                failures[0] += 1
            return
        with lock:
            latencies.append(seconds)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def keepalive(uri: str, token: str, requests: int) -> list[float]:
    url = urlsplit(uri)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    times = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("GET", url.path, headers={"Authorization": token})
            answer = connection.getresponse()
            answer.read()
            times.append(time.perf_counter() - started)
            assert answer.status == 200, answer.status
    finally:
        connection.close()
    return times


def wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, nargs="*", default=[50, 200])
    parser.add_argument("--repeat", type=int, default=5, help="bursts of each size")
    parser.add_argument("--keepalive", type=int, default=20, help="requests on one connection")
    parser.add_argument("--runs", type=int, default=20, help="runs of each exit variant")
    parser.add_argument("--source", help="a source tree whose ssoexec package to run instead")
    args = parser.parse_args()

    ssoexec = str(Path(sys.executable).parent / "ssoexec")
    with Emulator() as emulator, tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        (home / ".aws").mkdir(parents=True)
        (home / ".aws" / "config").write_text(CONFIG)
        emulator.write_token_cache(home, "bench", start_url=START_URL)
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            **emulator.endpoint_env(),
        }
        if args.source:
            env["PYTHONPATH"] = str(Path(args.source).resolve())
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")

        ready = Path(scratch) / "endpoint"
        server = subprocess.Popen(
            [ssoexec, "-p", "dev", "--server", "--", sys.executable, "-c", HOLD, str(ready)],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("ssoexec --server did not start")
                time.sleep(0.05)
            uri, token = ready.read_text().split()
            burst(uri, token, 5)  # warm up
            for clients in args.bursts:
                latencies: list[float] = []
                failures = 0
                for _ in range(args.repeat):
                    got, failed = burst(uri, token, clients)
                    latencies += got
                    failures += failed
                ordered = sorted(latencies)
                over = sum(1 for seconds in ordered if seconds > 1)
                print(
                    f"burst {clients:4} x{args.repeat}: {failures} failed, {over} over 1 s; "
                    f"p50 {percentile(ordered, 0.5) * 1000:.1f} ms, "
                    f"p90 {percentile(ordered, 0.9) * 1000:.1f} ms, "
                    f"max {ordered[-1] * 1000:.1f} ms"
                )
            times = keepalive(uri, token, args.keepalive)
            print(
                f"keepalive {args.keepalive} requests on one connection: "
                f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms, "
                f"total {sum(times) * 1000:.0f} ms"
            )
        finally:
            ready.unlink(missing_ok=True)
            server.wait(timeout=30)

        variants = {
            "plain": [ssoexec, "-p", "dev", "--", "true"],
            "server": [ssoexec, "-p", "dev", "--server", "--", "true"],
        }
        for argv in variants.values():  # warm the page cache and .pyc files
            wall(argv, env)
        walls: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, argv in variants.items():
                walls[name].append(wall(argv, env))
        for name, seconds in walls.items():
            print(
                f"exit {name:7} `{' '.join(variants[name][1:])}`: median of {args.runs} "
                f"{statistics.median(seconds) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
