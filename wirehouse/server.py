"""A local Prefect server for scheduled runs: reuse one that answers, else start `prefect server start`."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

START_TIMEOUT = 90.0
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 4200
LOCAL_API_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/api"   # where `make serve` puts its server
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
