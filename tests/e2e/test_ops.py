"""Operating the running bot: status, restore refused while it runs, metrics, scheduled jobs."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
from pathlib import Path

import pytest

from bot import backup, health
from bot.cli import main
from tests.conftest import Harness, HarnessFactory


async def _beat(harness: Harness) -> None:
    assert harness.app.job_queue is not None
    (job,) = harness.app.job_queue.get_jobs_by_name("heartbeat")
    await job.run(harness.app)


async def test_status_is_healthy_while_the_bot_polls_and_fails_when_the_poller_stopped(
    harness: Harness,
) -> None:
    await _beat(harness)
    found = await health.checks(harness.settings, harness.clock.now())
    assert all(check.ok for check in found), found

    assert harness.app.feeder is not None
    await harness.app.feeder.stop()
    harness.clock.advance(minutes=3)
    await _beat(harness)

    found = await health.checks(harness.settings, harness.clock.now())
    assert {c.name: c.ok for c in found} == {
        "database": True,
        "poller": False,
        "jobs": True,
        "backup": True,
    }
    report = json.loads(health.render(found, as_json=True))
    assert report["ok"] is False


def test_status_fails_for_a_database_no_bot_ever_ran_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "care.sqlite3"\n', "utf-8")
    assert main(["migrate", "--config", str(config)]) == 0
    capsys.readouterr()

    assert main(["status", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "FAIL poller: never seen" in out
    assert out.strip().endswith("unhealthy")


async def test_restore_refuses_while_the_bot_runs(harness: Harness, tmp_path: Path) -> None:
    copy = await backup.take(harness.care, tmp_path / "copy.sqlite3")
    assert copy.ok
    with pytest.raises(backup.BotRunning, match="stop it first"):
        backup.restore(Path(copy.path), harness.settings.storage.path, harness.clock.now())


async def test_the_backup_job_is_scheduled_and_takes_a_verified_backup(
    harness: Harness, tmp_path: Path
) -> None:
    assert harness.app.job_queue is not None
    (job,) = harness.app.job_queue.get_jobs_by_name("backup")
    await job.run(harness.app)

    folder = Path(harness.settings.storage.path).parent / "backups"
    (made,) = folder.iterdir()
    assert backup.taken_at(made) == harness.clock.now()
    version, counts = backup.inspect(made)
    assert version > 0 and "customers" in counts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


async def test_the_metrics_endpoint_counts_updates_and_reads_the_database(
    harness_factory: HarnessFactory,
) -> None:
    port = _free_port()
    harness = await harness_factory(metrics={"port": port})
    alice = harness.customer()
    await alice.send("/start")
    await alice.next_message()
    await _beat(harness)

    text = await asyncio.to_thread(_scrape, port)

    assert "carebot_updates_total 1.0" in text
    assert 'carebot_inbox_updates{status="' in text
    assert 'carebot_heartbeat_age_seconds{part="jobs"} 0.0' in text
