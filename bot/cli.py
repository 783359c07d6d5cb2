"""The `carebot` command: run, demo, shell, migrate, check-config, customers."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from telegram.error import TelegramError

from bot import customers_cli, faq_cli, inbox_cli
from bot.config import (
    ConfigError,
    Settings,
    config_warnings,
    default_config_path,
    load_settings,
)
from bot.database import open_database
from bot.logs import command_logging, protect
from storage.errors import StorageError
from storage.migrate import current_version

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
    faq_cli.add_parser(sub, CONFIG_HELP)
    customers_cli.configure(command("customers", "import or export customers as CSV"))
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
        print(
            f"telegram error: {exc} (check [telegram] token and base_url, and the network)",
            file=sys.stderr,
        )
        return 4
    except KeyboardInterrupt:
        return 130


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
            return asyncio.run(shell.run_demo(args.data_dir, role=args.role, lang=args.lang))
        settings = _load(config, require_token=False)
        return asyncio.run(shell.run_shell(settings, role=args.role, lang=args.lang))
    if args.command == "customers":
        return customers_cli.run(args, _load(config, require_token=False))
    if args.command == "outreach":
        return _outreach(args, config)
    if args.command == "inbox":
        return inbox_cli.run(args, _load(config, require_token=False))
    raise AssertionError(args.command)


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
