"""Prefect servers: the local one for scheduled runs (reuse one that answers, else start
`prefect server start`), and a temporary one for a single CLI run."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import logging
import os
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wirehouse.settings import LOCAL_API_URL

logger = logging.getLogger(__name__)

START_TIMEOUT = 90.0
# Where `make serve` puts its server: the settings' local server URL, taken apart.
DEFAULT_HOST, DEFAULT_PORT = urlsplit(LOCAL_API_URL).hostname, urlsplit(LOCAL_API_URL).port
SERVER_LOG = Path("warehouse/prefect-server.log")


@dataclass
class LocalServer:
    api_url: str
    process: subprocess.Popen | None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True when a Prefect API answers its health check at ``api_url``."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def ensure_server(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> LocalServer:
    """Point this process at a Prefect server on ``host:port``, starting one when none answers.

    Sets PREFECT_API_URL (and PREFECT_UI_URL) in the environment, so it must run before prefect is imported.

    Returns:
        The server; `LocalServer.stop` ends it if this call started it.
    """
    api_url = f"http://{host}:{port}/api"
    os.environ["PREFECT_API_URL"] = api_url
    os.environ["PREFECT_UI_URL"] = f"http://{host}:{port}"
    if healthy(api_url):
        print(f"using the Prefect server at http://{host}:{port}")
        return LocalServer(api_url, None)
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or shutil.which("prefect")
    if prefect is None:
        raise RuntimeError("the prefect command is not installed in this environment")
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    log = open(SERVER_LOG, "ab")
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": api_url}
    process = subprocess.Popen(
        [prefect, "server", "start", "--host", host, "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {process.returncode}; see {SERVER_LOG}")
        if healthy(api_url):
            print(f"started a Prefect server at http://{host}:{port} (log: {SERVER_LOG})")
            return LocalServer(api_url, process)
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"prefect server did not answer within {START_TIMEOUT:.0f} s; see {SERVER_LOG}")


@dataclass
class TemporaryServer:
    """Prefect's temporary API server for one CLI run, started before prefect is imported.

    Prefect would start the same server at the first flow call, after importing its whole server
    stack into this process (about 2.5 s) and then waiting for the subprocess (about 3.5 s). Started
    first thing instead, it boots on the other core while this process imports the pipeline.
    """

    api_url: str
    process: subprocess.Popen
    log: Any = None   # the server's output: kept off the user's terminal (its shutdown is noisy)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Block until the API answers; raises RuntimeError when it exits or never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the temporary Prefect server exited with code {self.process.returncode}: {self._last_line()}"
                )
            if healthy(self.api_url, timeout=1.0):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the temporary Prefect server did not answer within {timeout:.0f} s")

    def stop(self, timeout: float = 5.0) -> None:
        """End the server: SIGTERM, then SIGKILL after ``timeout`` seconds (0: SIGTERM, not waited for)."""
        if self.process.poll() is None:
            self.process.terminate()
            if timeout <= 0:   # the CLI is about to exit: the server ends on its own
                return
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()

    def _last_line(self) -> str:
        if self.log is None:
            return "no output"
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().decode(errors="replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else "no output"


def start_temporary() -> TemporaryServer:
    """Start Prefect's temporary server (the command Prefect itself runs, UI off) on a free loopback
    port and point this process at it (PREFECT_API_URL). Call before prefect is imported."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise RuntimeError("prefect is not installed in this environment")
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent), "--factory",
            "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "error", "--lifespan", "on",
        ],
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        # Its own session: a Ctrl-C or a closed terminal reaches the CLI, which decides; the server
        # must not die first under a run that is still reporting to it.
        start_new_session=True,
    )
    os.environ["PREFECT_API_URL"] = api_url
    return TemporaryServer(api_url, process, log)


def _die_with_parent() -> None:
    """In the server's process before exec (Linux): a SIGTERM when the CLI dies, even by SIGKILL,
    so a killed run leaves no orphaned server behind."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
