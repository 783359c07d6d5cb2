"""The deployment files: the systemd unit parses, the Dockerfile copies what the package needs.

Docker itself may not run where the tests do, so the Dockerfile is checked by reading it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _directives(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_runs_slim_python_as_a_user_with_data_on_a_volume() -> None:
    directives = _directives((ROOT / "Dockerfile").read_text("utf-8"))
    bases = [args for name, args in directives if name == "FROM"]
    assert bases and all(re.match(r"python:3\.11-slim\b", base) for base in bases)
    final = directives[max(i for i, (name, _) in enumerate(directives) if name == "FROM") :]
    users = [args for name, args in final if name == "USER"]
    assert users and not users[-1].startswith(("root", "0"))
    assert ("VOLUME", '["/data"]') in final
    health = [args for name, args in final if name == "HEALTHCHECK"]
    assert len(health) == 1 and 'CMD ["carebot", "status"]' in health[0]
    assert ("CMD", '["carebot", "run"]') in final


def test_the_image_and_the_unit_install_the_semantic_matcher() -> None:
    directives = _directives((ROOT / "Dockerfile").read_text("utf-8"))
    installs = [args for name, args in directives if name == "RUN" and "pip install" in args]
    assert len(installs) == 1 and "'.[semantic]'" in installs[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "semantic" in project["project"]["optional-dependencies"]
    unit = (ROOT / "deploy" / "carebot.service").read_text("utf-8")
    assert "[semantic]" in unit


def test_the_dockerfile_copies_every_package_the_project_ships() -> None:
    directives = _directives((ROOT / "Dockerfile").read_text("utf-8"))
    copied = set()
    for name, args in directives:
        if name == "COPY" and not args.startswith("--from"):
            sources = args.split()[:-1]
            for source in sources:
                assert (ROOT / source).exists(), source
                copied.add(source.rstrip("/"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    packages = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {package.rstrip("*") for package in packages} <= copied
    assert {"pyproject.toml", project["project"]["readme"]} <= copied


def test_compose_keeps_the_data_on_a_volume_and_the_token_in_the_environment() -> None:
    text = (ROOT / "compose.yaml").read_text("utf-8")
    assert "carebot-data:/data" in text
    assert "CAREBOT_TOKEN: ${CAREBOT_TOKEN:?" in text
    assert not re.search(r"\d+:[A-Za-z0-9_-]{30,}", text), "a token is written in compose.yaml"


UNIT = ROOT / "deploy" / "carebot.service"


def test_the_systemd_unit_restarts_on_failure_and_is_hardened() -> None:
    lines = set(UNIT.read_text("utf-8").splitlines())
    for needed in (
        "Restart=on-failure",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/carebot",
        "NoNewPrivileges=yes",
    ):
        assert needed in lines


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    carebot = Path(sys.executable).with_name("carebot")  # verify wants ExecStart to exist
    if not carebot.exists():
        pytest.skip("the carebot script is not installed beside this python")
    unit = tmp_path / "carebot.service"
    unit.write_text(
        UNIT.read_text("utf-8").replace("/opt/carebot/bin/carebot", str(carebot)), "utf-8"
    )
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # systemd-analyze exits 0 on directives it ignores; it names them on stderr
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
