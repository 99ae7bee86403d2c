"""The child that proves what it received: run under ssoexec, it asks STS who it is (with
boto3's default credential chain, as any tool would) and prints one JSON object on stdout.

PROBE_NO_AWS=1 skips the STS call (for tests about argv, pids and exit codes only).
PROBE_CALLS=N asks STS N times, PROBE_INTERVAL seconds apart (for --server refresh tests).
"""

import json
import os
import sys
import time


def main() -> None:
    report = {
        "pid": os.getpid(),
        "argv": sys.argv[1:],
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "SSOEXEC_"))},
    }
    if os.environ.get("PROBE_NO_AWS") != "1":
        import boto3

        # With no region at all, botocore cannot sign for an AWS_ENDPOINT_URL_STS override.
        region = None if os.environ.get("AWS_DEFAULT_REGION") else "us-east-1"
        client = boto3.client("sts", region_name=region)
        calls = int(os.environ.get("PROBE_CALLS", "1"))
        identities = []
        for index in range(calls):
            if index:
                time.sleep(float(os.environ.get("PROBE_INTERVAL", "1")))
            identity = client.get_caller_identity()
            identities.append({"arn": identity["Arn"], "account": identity["Account"]})
        report.update(identities[0])
        report["identities"] = identities
    print(json.dumps(report))


if __name__ == "__main__":
    main()
