"""Builds the python-telegram-bot Application: handlers, jobs, error handler, rate limiter."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot import jobs
from bot.config import Settings, TelegramSettings
from bot.errors import on_error
from bot.messenger import TelegramMessenger
from care.clock import Clock, SystemClock
from care.services import CareServices, CareSettings
from handlers import build_handlers
from handlers.commands_menu import register_commands
from handlers.context import BotData, CareContext
from storage.db import Database
from storage.migrate import migrate

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3


def care_settings(settings: Settings) -> CareSettings:
    """The slices of the config that care needs."""
    return CareSettings(
        locale=settings.locale,
        staff=settings.staff,
        business=settings.business,
        faq=settings.faq,
        tickets=settings.tickets,
        loyalty=settings.loyalty,
        stages=settings.stages,
        outreach=settings.outreach,
    )


def build_application(
    settings: Settings, *, clock: Clock | None = None, updater: bool = True
) -> Application[Any, CareContext, Any, Any, BotData, Any]:
    """A ready-to-run Application; the database opens in post_init and closes in post_shutdown."""
    clock = clock or SystemClock()

    async def post_init(app: Application[Any, CareContext, Any, Any, BotData, Any]) -> None:
        db = await Database.open(settings.storage.path)
        applied = await migrate(db)
        messenger = TelegramMessenger(app.bot)
        app.bot_data.care = CareServices.build(db, clock, care_settings(settings), messenger)
        log.info("started db=%s migrations_applied=%s", settings.storage.path, len(applied))
        staff_chats = [m.telegram_id for m in await app.bot_data.care.staff.members()]
        if settings.staff.chat_id is not None:
            staff_chats.append(settings.staff.chat_id)
        await register_commands(app.bot, staff_chats)

    async def post_shutdown(app: Application[Any, CareContext, Any, Any, BotData, Any]) -> None:
        if app.bot_data.care is not None:
            await app.bot_data.care.db.close()
            app.bot_data.care = None

    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.telegram.token)
        .context_types(ContextTypes(context=CareContext, bot_data=BotData))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .concurrent_updates(False)
    )
    if os.environ.get("CAREBOT_BENCH_NO_RATE_LIMITER") != "1":  # bench/throughput_bench.py only
        builder = builder.rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
    if settings.telegram.base_url:
        builder = builder.base_url(settings.telegram.base_url)
    if settings.telegram.base_file_url:
        builder = builder.base_file_url(settings.telegram.base_file_url)
    if not updater:
        builder = builder.updater(None)
    app = builder.build()
    app.add_handlers(build_handlers())
    app.add_error_handler(on_error)
    jobs.schedule(app, ticket_check=timedelta(minutes=settings.tickets.check_every_minutes))
    jobs.schedule_outreach(app, settings.outreach, settings.stages)
    return app


def quiet_http_logs() -> None:
    """The token is in every request URL: keep httpx below INFO."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


async def start_embedded(
    app: Application[Any, Any, Any, Any, Any, Any],
    poll_timeout: int = 1,
    *,
    webhook: TelegramSettings | None = None,
) -> None:
    """Start the application in a running event loop, as `run_polling` or `run_webhook` would
    (shell, tests); with `webhook` settings it listens for Telegram's POSTs instead of polling."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    if app.updater is None:
        return
    if webhook is not None and webhook.webhook_url:
        await app.updater.start_webhook(
            listen=webhook.webhook_listen,
            port=webhook.webhook_port,
            url_path=webhook.webhook_path,
            webhook_url=webhook.webhook_url,
            secret_token=webhook.webhook_secret,
        )
    else:
        await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)


async def stop_embedded(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop what `start_embedded` started, closing the database last."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
