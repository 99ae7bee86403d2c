"""Where probe.py's STS calls are made under PROBE_SERVER: a fork of the test process per
request, with boto3 loaded once, the probe's environment and working directory, and boto3's
default session unset, so the default credential chain reads exactly what the probe got.
One per test process, started on first use; see tests/spawn.py for why forks."""

from __future__ import annotations

import atexit
import gc
import json
import os
import shutil
import socket
import tempfile
import threading
import traceback

import boto3

from tests.probe import sts_identities

_server: str | None = None
_lock = threading.Lock()


def path() -> str:
    """The socket of this test process's probe server, started on first use."""
    global _server
    with _lock:
        if _server is None:
            folder = tempfile.mkdtemp(prefix="ssoexec-probe-")
            atexit.register(shutil.rmtree, folder, True)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(os.path.join(folder, "probe.sock"))
            listener.listen(64)
            threading.Thread(target=_serve, args=(listener,), daemon=True).start()
            _server = listener.getsockname()
        return _server


def _serve(listener: socket.socket) -> None:
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=_answer, args=(connection,), daemon=True).start()


def _answer(connection: socket.socket) -> None:
    with connection:
        request = json.loads(b"".join(iter(lambda: connection.recv(65536), b"")))
        pid = os.fork()
        if pid == 0:
            try:
                gc.freeze()
                os.environ.clear()
                os.environ.update(request["env"])
                os.chdir(request["cwd"])
                boto3.DEFAULT_SESSION = None
                answer = {"identities": sts_identities(request["calls"], request["interval"])}
            except BaseException:
                answer = {"error": traceback.format_exc()}
            try:
                connection.sendall(json.dumps(answer).encode())
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
