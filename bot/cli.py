"""The `carebot` command: run, demo, shell, migrate, check-config, customers, backup, restore,
status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import sqlite3
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot import (
    backup,
    campaign_cli,
    customers_cli,
    faq_cli,
    first_run,
    health,
    inbox_cli,
    purchases_cli,
    report_cli,
)
from bot.app import care_settings
from bot.backup import BackupError
from bot.config import (
    TOKEN_ENV,
    ConfigError,
    Settings,
    config_warnings,
    default_config_path,
    load_settings,
)
from bot.database import open_database
from bot.logs import command_logging, protect
from bot.messenger import OfflineMessenger
from care.clock import SystemClock
from care.ops import BackupOutcome
from care.services import CareServices
from storage.db import Database
from storage.errors import StorageError
from storage.migrate import current_version, latest_version

log = logging.getLogger(__name__)
CONFIG_HELP = "config file (default: $CAREBOT_CONFIG or config.toml)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="carebot", description="Telegram customer-care bot.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", default=None, help=CONFIG_HELP)
        return p

    command("run", "run the bot by long polling")
    command("migrate", "apply database migrations and exit")
    check = command("check-config", "validate a config file and exit")
    check.add_argument("file", nargs="?", help="the file to check (default: --config)")
    shell = command("shell", "chat with the bot in this terminal through the local sandbox")
    shell.add_argument("--as", dest="role", choices=("customer", "staff"), default="customer")
    shell.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="the chatting user's Telegram language"
    )
    demo = command("demo", "seed a demo database and open the shell (no token needed)")
    demo.add_argument("--as", dest="role", choices=("customer", "staff"), default="customer")
    demo.add_argument("--lang", choices=("en", "zh"), default="en")
    demo.add_argument("--data-dir", default="demo-data", help="where the demo database lives")
    demo.add_argument(
        "--reset", action="store_true", help="start again from a fresh demo database"
    )
    faq_cli.add_parser(sub, CONFIG_HELP)
    customers_cli.configure(command("customers", "import or export customers as CSV"))
    purchases_cli.configure(command("purchases", "import purchase history from CSV"))
    inbox_cli.configure(command("inbox", "list updates parked after failing; --retry ID"))
    outreach = command("outreach", "plan (dry run) or send scheduled outreach")
    steps = outreach.add_subparsers(dest="outreach_command", required=True)
    dry = steps.add_parser("plan", help="who would get what on a day; nothing is queued or sent")
    dry.add_argument("--date", required=True, help="the day, YYYY-MM-DD")
    dry.add_argument("--json", action="store_true", help="one JSON object per line")
    once = steps.add_parser("run-once", help="plan and send what is due now, then exit")
    once.add_argument("--now", default=None, help="ISO-8601 moment with offset (default: now)")
    for step in (dry, once):
        step.add_argument("--config", default=argparse.SUPPRESS, help="config file")
    report_cli.configure(command("report", "the owner's report: HTML file (--out) or --json"))
    init = command("init", "first run: check the token, write the config, capture the owner's id")
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")
    init.add_argument("--base-url", default=None, help="a Bot API server other than Telegram's")
    init.add_argument("--wait", type=float, default=600.0, help="seconds to wait for the owner")
    init.add_argument("--code", default=None, help="the one-time start code (default: random)")
    take = command("backup", "take an online backup of the database (safe while the bot runs)")
    take.add_argument("--to", default=None, help="the backup file (default: in [backup] dir)")
    restore = command("restore", "replace the database with a backup (the bot must be stopped)")
    restore.add_argument("file", help="the backup file to restore")
    status = command("status", "is the bot polling, running its jobs, backed up? (exit 1 if not)")
    status.add_argument("--json", action="store_true", help="one JSON object")
    campaign_cli.configure(command("campaign", "queue a campaign from a TOML file, or its status"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `carebot` console script."""
    args = build_parser().parse_args(argv)
    interactive = args.command in ("shell", "demo")
    level = logging.DEBUG if args.verbose else logging.WARNING if interactive else logging.INFO
    with command_logging(level):
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"storage error: {exc}", file=sys.stderr)
        return 3
    except TelegramError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"telegram error: {telegram_problem(exc)}", file=sys.stderr)
        return 4
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 5
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`carebot report --json | head`): stop quietly, as Unix tools do
        # (and keep Python's exit-time flush from failing on the closed pipe again)
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def telegram_problem(exc: TelegramError) -> str:
    """One line: what went wrong reaching Telegram at start-up, and the fix."""
    if isinstance(exc, InvalidToken):
        return (
            "the bot token was refused: copy it again from @BotFather (/mybots, API Token) into"
            f" [telegram] token or ${TOKEN_ENV}"
        )
    if isinstance(exc, NetworkError):
        return (
            f"cannot reach the Bot API ({exc}): check the network, a firewall or proxy, and"
            " [telegram] base_url (-v shows the traceback)"
        )
    return f"{exc} (check [telegram] token and base_url, and the network)"


def _load(path: str, *, require_token: bool = True) -> Settings:
    """Read the config and tell the log filter its secrets before anything can log them."""
    settings = load_settings(path, require_token=require_token)
    protect(settings.telegram.token, settings.telegram.webhook_secret)
    return settings


def _dispatch(args: argparse.Namespace) -> int:
    config = args.config or default_config_path()
    if args.command == "check-config":
        path = args.file or config
        settings = _load(path)
        for warning in config_warnings(settings):
            print(f"warning: {path}: {warning}", file=sys.stderr)
        print(
            f"{path}: ok (storage {settings.storage.path}, {len(settings.staff.owners)} owner(s))"
        )
        return 0
    if args.command == "run":
        settings = _load(config)
        for warning in config_warnings(settings):
            log.warning("config %s: %s", config, warning)
        return _run(settings)
    if args.command == "migrate":
        settings = _load(config, require_token=False)
        return asyncio.run(_migrate(settings.storage.path))
    if args.command == "faq":
        return faq_cli.run(args, _load(config, require_token=False))
    if args.command in ("shell", "demo"):
        from bot import shell

        if args.command == "demo":
            return asyncio.run(
                shell.run_demo(args.data_dir, role=args.role, lang=args.lang, reset=args.reset)
            )
        settings = _load(config, require_token=False)
        return asyncio.run(shell.run_shell(settings, role=args.role, lang=args.lang))
    if args.command == "customers":
        return customers_cli.run(args, _load(config, require_token=False))
    if args.command == "purchases":
        return purchases_cli.run(args, _load(config, require_token=False))
    if args.command == "outreach":
        return _outreach(args, config)
    if args.command == "inbox":
        return inbox_cli.run(args, _load(config, require_token=False))
    if args.command == "report":
        return report_cli.run(args, _load(config, require_token=False))
    if args.command == "init":
        return _init(Path(config), args)
    if args.command == "backup":
        return _backup(_load(config, require_token=False), args.to)
    if args.command == "restore":
        return _restore(_load(config, require_token=False), Path(args.file))
    if args.command == "status":
        return asyncio.run(_status(_load(config, require_token=False), as_json=args.json))
    if args.command == "campaign":
        return campaign_cli.run(args, _load(config, require_token=False))
    raise AssertionError(args.command)


def _init(path: Path, args: argparse.Namespace) -> int:
    """`carebot init`: the token from $CAREBOT_TOKEN or asked for, then the guided set-up."""
    if path.exists() and not args.force:
        print(
            f"{path} exists: check it with `carebot check-config`, or use --force", file=sys.stderr
        )
        return 2
    token = os.environ.get(TOKEN_ENV, "")
    from_env = bool(token)
    if not token:
        prompt = "Bot token from @BotFather (send it /newbot to make one): "
        token = (getpass.getpass(prompt) if sys.stdin.isatty() else input(prompt)).strip()
    if not token:
        print("no token given", file=sys.stderr)
        return 2
    protect(token)
    answers = first_run.Answers(token, from_env, args.base_url)
    try:
        return asyncio.run(
            first_run.init(path, answers, print, wait_seconds=args.wait, code=args.code)
        )
    except first_run.InitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 6


def _backup(settings: Settings, to: str | None) -> int:
    """`carebot backup`: the copy first (never migrating the database), then its record."""
    path = settings.storage.path
    if not Path(path).is_file():
        raise BackupError(f"no database at {path}")
    now = SystemClock().now()
    target = Path(to) if to else backup.backup_dir(settings.backup, path) / backup.backup_name(now)
    try:
        copy = backup.online_copy(path, target)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"backup to {target} failed: {exc}") from exc
    backup.log_copy(copy)
    outcome = BackupOutcome(now, str(target), True, copy.size_bytes, copy.counts)
    asyncio.run(_record_backup(settings, outcome))
    total = sum(copy.counts.values())
    print(f"{target}: ok ({copy.size_bytes} bytes, {total} rows, schema {copy.schema_version})")
    return 0


async def _record_backup(settings: Settings, outcome: BackupOutcome) -> None:
    db = await Database.open(settings.storage.path)
    try:
        if await current_version(db) == latest_version():  # an older one has no backups table
            messenger = OfflineMessenger()
            care = CareServices.build(db, SystemClock(), care_settings(settings), messenger)
            await care.ops.record_backup(outcome)
    finally:
        await db.close()


def _restore(settings: Settings, source: Path) -> int:
    """`carebot restore FILE`."""
    done = backup.restore(source, settings.storage.path, SystemClock().now())
    log.info("restored source=%s schema_version=%s", source, done.schema_version)
    if done.aside is not None:
        print(f"the replaced database is kept at {done.aside}")
    print(
        f"{settings.storage.path}: restored from {source} (schema {done.schema_version},"
        f" {sum(done.counts.values())} rows); start the bot to migrate it forward if needed"
    )
    return 0


async def _status(settings: Settings, *, as_json: bool) -> int:
    """`carebot status`: 0 when healthy, 1 naming what is not."""
    found = await health.checks(settings, SystemClock().now())
    print(health.render(found, as_json=as_json))
    return 0 if all(check.ok for check in found) else 1


def _outreach(args: argparse.Namespace, config: str) -> int:
    from datetime import date

    from bot import outreach_cli

    if args.outreach_command == "plan":
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            print(f"--date: not a date (YYYY-MM-DD): {args.date}", file=sys.stderr)
            return 2
        settings = _load(config, require_token=False)
        return asyncio.run(outreach_cli.plan(settings, day, as_json=args.json))
    try:
        now = outreach_cli.parse_now(args.now)
    except ValueError as exc:
        print(f"--now: {exc}", file=sys.stderr)
        return 2
    asyncio.run(outreach_cli.run_once(_load(config), now))
    return 0


def _run(settings: Settings) -> int:
    from bot.app import serve

    log.info("starting base_url=%s", settings.telegram.base_url or "telegram")
    asyncio.run(serve(settings))
    return 0


async def _migrate(path: str) -> int:
    db, applied = await open_database(path)
    try:
        version = await current_version(db)
    finally:
        await db.close()
    print(f"{path}: schema version {version} ({len(applied)} migration(s) applied)")
    return 0
