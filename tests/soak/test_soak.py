"""The soak, short version: relaydesk under injected faults and SIGKILLed processes, then the full audit.

`relaydesk bench soak --minutes 10` runs the long version. Each run draws a new seed unless RELAYDESK_SOAK_SEED names
one; a failure prints the seed and the command that replays the same faults, restarts and traffic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from relaydesk.bench.soak import SoakPlan, new_seed, run_soak

pytestmark = pytest.mark.slow
VISITORS = 2  # per helpdesk, chatting at once


def _seed() -> int:
    seed = int(os.environ.get("RELAYDESK_SOAK_SEED") or new_seed())
    print(f"soak seed {seed}")
    return seed


def _verdict(result: dict[str, Any], backend: str, seconds: float) -> str:
    """The run's table, every broken guarantee, and how to replay the run."""
    replay = (f"relaydesk bench soak --backends {backend} --minutes {seconds / 60:.2f} --visitors {VISITORS} "
              f"--seed {result['seed']}  (or RELAYDESK_SOAK_SEED={result['seed']} with this test)")
    return "\n".join(["", *result["table"], *result["problems"], f"logs: {result['logs']}", f"replay: {replay}"])


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_servers_two_workers_under_faults_lose_and_double_nothing(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    seconds = 15.0
    result = await run_soak(SoakPlan("postgres", postgres_url, seconds, _seed(), tmp_path, redis_url=redis_url,
                                     visitors_per_helpdesk=VISITORS))
    assert result["passed"], _verdict(result, "postgres", seconds)
    assert result["kills"] == {"server": 1, "worker": 1}
    assert result["figures"]["dead letters (permanent faults)"] > 0


async def test_single_sqlite_process_under_faults_loses_and_doubles_nothing(tmp_path: Path) -> None:
    seconds = 15.0
    result = await run_soak(SoakPlan("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'soak.db'}", seconds, _seed(),
                                     tmp_path, visitors_per_helpdesk=VISITORS))
    assert result["passed"], _verdict(result, "sqlite", seconds)
    assert result["kills"] == {"server": 1}
    assert result["figures"]["dead letters (permanent faults)"] > 0
