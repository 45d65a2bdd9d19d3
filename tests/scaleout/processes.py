"""Start real relaydesk processes (`serve`, `worker`) against the test's databases, and stop or kill them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from tests.conftest import free_port


class Process:
    """One relaydesk process; its output goes to a log file the test can show when it fails."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log_path = log
        self._log = log.open("ab")
        self.popen = subprocess.Popen([sys.executable, "-m", "relaydesk", *args], env={**os.environ, **env},
                                      stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown, leases left behind."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def relaydesk_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "RELAYDESK_DATABASE_URL": database_url,
        "RELAYDESK_DATA_DIR": str(data_dir),
        "RELAYDESK_SECRET_KEY": "test-secret-key",
        "RELAYDESK_LOG_JSON": "true",
        "RELAYDESK_LOG_LEVEL": "info",
        "RELAYDESK_DELIVERY_POLL_S": "0.1",
        "RELAYDESK_DELIVERY_BACKOFF_BASE_S": "0.1",
        "RELAYDESK_DELIVERY_BACKOFF_CAP_S": "0.5",
    }
    env.update(extra)
    return env


async def start_server(env: dict[str, str], log: Path, *, workers: bool = False) -> tuple[Process, str]:
    """A `relaydesk serve` process, returned once /readyz answers 200."""
    port = free_port()
    process = Process(["serve", "--port", str(port), "--workers" if workers else "--no-workers"], env, log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    async with httpx2.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"server exited:\n{process.output()}")
            try:
                if (await client.get(f"{url}/readyz", timeout=1)).status_code == 200:
                    return process, url
            except httpx2.HTTPError:
                pass
            await asyncio.sleep(0.1)
    process.stop()
    raise RuntimeError(f"server did not become ready:\n{process.output()}")
