"""The child that proves what it received: run under ssoexec, it asks STS who it is (with
boto3's default credential chain, as any tool would) and prints one JSON object on stdout.

PROBE_NO_AWS=1 skips the STS call (for tests about argv, pids and exit codes only).
PROBE_CALLS=N asks STS N times, PROBE_INTERVAL seconds apart (for --server refresh tests).
PROBE_SERVER=PATH has the STS calls made by a fork of the test process, which has boto3 loaded
already (tests/probe_server.py), with this process's environment and working directory: the
same default credential chain, without importing boto3 here each time.
"""

import json
import os
import socket
import sys
import time


def sts_identities(calls: int, interval: float) -> list[dict]:
    """[{arn, account}] of `calls` GetCallerIdentity calls through boto3's default chain."""
    import boto3

    # With no region at all, botocore cannot sign for an AWS_ENDPOINT_URL_STS override.
    region = None if os.environ.get("AWS_DEFAULT_REGION") else "us-east-1"
    client = boto3.client("sts", region_name=region)
    identities = []
    for index in range(calls):
        if index:
            time.sleep(interval)
        identity = client.get_caller_identity()
        identities.append({"arn": identity["Arn"], "account": identity["Account"]})
    return identities


def identities_from_server(path: str, calls: int, interval: float) -> list[dict]:
    request = {"env": dict(os.environ), "cwd": os.getcwd(), "calls": calls, "interval": interval}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(path)
        connection.sendall(json.dumps(request).encode() + b"\n")
        connection.shutdown(socket.SHUT_WR)
        answer = json.loads(b"".join(iter(lambda: connection.recv(65536), b"")))
    if "error" in answer:  # what the same failure here would print: its traceback, exit 1
        sys.stderr.write(answer["error"])
        sys.exit(1)
    return answer["identities"]


def main() -> None:
    report = {
        "pid": os.getpid(),
        "argv": sys.argv[1:],
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "SSOEXEC_"))},
    }
    if os.environ.get("PROBE_NO_AWS") != "1":
        calls = int(os.environ.get("PROBE_CALLS", "1"))
        interval = float(os.environ.get("PROBE_INTERVAL", "1"))
        server = os.environ.get("PROBE_SERVER")
        if server:
            identities = identities_from_server(server, calls, interval)
        else:
            identities = sts_identities(calls, interval)
        report.update(identities[0])
        report["identities"] = identities
    print(json.dumps(report))


if __name__ == "__main__":
    main()
