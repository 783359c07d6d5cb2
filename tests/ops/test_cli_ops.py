"""`carebot backup`, `carebot restore` and `carebot status` from the command line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from storage.migrate import latest_version


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[storage]\npath = "care.sqlite3"\n\n[backup]\ndir = "saved"\n', "utf-8")
    assert main(["migrate", "--config", str(path)]) == 0
    with sqlite3.connect(tmp_path / "care.sqlite3") as conn:
        conn.execute("CREATE TABLE marks (what TEXT)")
        conn.execute("INSERT INTO marks VALUES ('kept')")
    return path


def _marks(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM marks").fetchone()[0])


def test_backup_then_restore_round_trips_and_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    capsys.readouterr()

    assert main(["backup", "--config", str(config)]) == 0
    (made,) = (tmp_path / "saved").iterdir()
    assert ": ok (" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "care.sqlite3") as conn:
        assert conn.execute("SELECT ok, path FROM backups").fetchall() == [(1, str(made))]
        conn.execute("DELETE FROM marks")

    assert main(["restore", str(made), "--config", str(config)]) == 0
    assert _marks(tmp_path / "care.sqlite3") == 1
    (aside,) = tmp_path.glob("care.sqlite3.replaced-*")
    assert _marks(aside) == 0
    assert "kept at" in capsys.readouterr().out


def test_restore_of_a_newer_schema_exits_non_zero_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    newer = tmp_path / "newer.sqlite3"
    assert main(["backup", "--to", str(newer), "--config", str(config)]) == 0
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
        conn.execute("DELETE FROM marks")
    capsys.readouterr()

    assert main(["restore", str(newer), "--config", str(config)]) == 5
    assert "schema version" in capsys.readouterr().err
    assert _marks(tmp_path / "care.sqlite3") == 1
    assert not list(tmp_path.glob("care.sqlite3.replaced-*"))


def test_status_names_a_failed_last_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    with sqlite3.connect(tmp_path / "care.sqlite3") as conn:
        conn.execute(
            "INSERT INTO backups (started_at, finished_at, path, ok, error)"
            " VALUES (?, ?, 'x', 0, 'disk full')",
            ("2026-11-22T10:00:00+00:00", "2026-11-22T10:00:01+00:00"),
        )
    capsys.readouterr()

    assert main(["status", "--config", str(config)]) == 1
    assert "FAIL backup: last backup failed at 2026-11-22T10:00:01+00:00: disk full" in (
        capsys.readouterr().out
    )


def test_a_backup_that_cannot_be_written_is_one_line_and_exit_5(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    (tmp_path / "saved").write_text("a file, not a folder", "utf-8")
    capsys.readouterr()

    assert main(["backup", "--config", str(config)]) == 5
    err = capsys.readouterr().err
    assert err.startswith("error: backup to ") and "Traceback" not in err
