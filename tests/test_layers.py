"""Architecture rules: imports point handlers → care → storage, and only the clock reads time."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What each package may import from the project (bot may import everything).
ALLOWED = {
    "storage": {"storage"},
    "care": {"care", "storage"},
    "handlers": {"handlers", "care", "storage"},
}
PROJECT = {"bot", "handlers", "care", "storage"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_upward_imports() -> None:
    violations = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path) & PROJECT - allowed:
                violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


def test_care_and_storage_never_import_telegram() -> None:
    for package in ("care", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            assert "telegram" not in _imports(path), path


def test_only_the_clock_reads_the_time() -> None:
    offenders = []
    for package in ("care", "storage", "handlers", "bot"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text("utf-8")
            if ("datetime.now(" in text or "datetime.utcnow(" in text) and path.name != "clock.py":
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_sandbox_imports_nothing_from_the_project() -> None:
    # The sandbox plays Telegram: it must not know the bot it is testing.
    violations = []
    for path in (ROOT / "sandbox").rglob("*.py"):
        for name in _imports(path) & PROJECT:
            violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert (ROOT / "sandbox" / "server.py").exists()
    assert violations == []
