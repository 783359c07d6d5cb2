"""Builds the python-telegram-bot Application: handlers, jobs, error handler, rate limiter."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseHandler,
    ContextTypes,
    TypeHandler,
)

from bot import backup, jobs, metrics
from bot.config import Settings, TelegramSettings
from bot.database import open_database
from bot.errors import on_error
from bot.messenger import TelegramMessenger
from bot.pipeline import ChatOrderedProcessor, UpdateFeeder
from bot.request import BotApiRequest
from care.clock import Clock, SystemClock
from care.ops import STAFF_CHAT_FACT
from care.services import CareServices
from care.settings import CareSettings
from handlers import (
    at_risk,
    campaign_guided,
    campaigns,
    customer,
    fallback,
    faq,
    loyalty,
    membership,
    outreach,
    pipeline,
    reports,
    segments,
    setup,
    staff,
    stages,
    tickets,
)
from handlers.commands_menu import register_commands
from handlers.context import BotData, CareContext
from storage import ops as ops_repo
from storage.db import Database

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3


# Every handler, in registration order. Order matters: PTB runs at most one handler per group, in
# group order, and within a group the first that matches. Group -2 runs on every update first;
# -1 lets a ticket claim a message that answers it (and stops the update); 0 holds the features,
# the catch-alls last. The redelivery guard and the "handled" mark wrap all of them
# (bot/pipeline.py).
BEFORE, THREADS, FEATURES = -2, -1, 0
HANDLERS: tuple[tuple[int, Callable[[], Sequence[BaseHandler[Any, Any, Any]]]], ...] = (
    # a customer blocked or unblocked the bot (my_chat_member): reachability, and nothing else
    # (first in its group, so the visit the line below notes cannot undo a block)
    (BEFORE, membership.handlers),
    # the caller's language; a customer's oversized text is refused here
    (BEFORE, lambda: [TypeHandler(Update, pipeline.before_update)]),
    # a customer's message or a staff reply in a ticket's thread joins that ticket
    (THREADS, tickets.thread_handlers),
    # /start /help /language /timezone /stop /resume /forget, the menu and settings buttons
    (FEATURES, customer.handlers),
    # /whoami for anyone, an owner's /setup staffchat in a group
    (FEATURES, setup.handlers),
    # /staff /audit
    (FEATURES, staff.handlers),
    # /feedback /complaint /mytickets, staff /tickets /ticket /reply /resolve /reopen, CSAT
    (FEATURES, tickets.handlers),
    # /points /history /card /phone, staff /earn /redeem /adjust /void /customer
    (FEATURES, loyalty.handlers),
    # staff /stage
    (FEATURES, stages.handlers),
    # staff /customers at-risk and its pages
    (FEATURES, at_risk.handlers),
    # /birthday, staff /outreach, check-in and mute buttons
    (FEATURES, outreach.handlers),
    # staff /segment /tag, managers' /campaign (guided, then one line) and its buttons,
    # customers' "stop these"
    (FEATURES, segments.handlers),
    (FEATURES, campaign_guided.handlers),
    (FEATURES, campaigns.handlers),
    # managers' /report: an album of charts
    (FEATURES, reports.handlers),
    # staff /faq /unanswered, the FAQ's own buttons
    (FEATURES, faq.handlers),
    # free text goes to the FAQ only after every conversation above had its chance
    (FEATURES, faq.question_handlers),
    # unknown commands and buttons nobody claimed
    (FEATURES, fallback.handlers),
)


def care_settings(settings: Settings) -> CareSettings:
    """The slices of the config that care needs (a copy: care never holds the token)."""
    return CareSettings(**{f.name: getattr(settings, f.name) for f in fields(CareSettings)})


async def with_stored_staff_chat(db: Database, slices: CareSettings) -> CareSettings:
    """The staff chat an owner chose with /setup staffchat, unless the config names one."""
    if slices.staff.chat_id is not None:
        return slices
    async with db.read() as tx:
        stored = await ops_repo.fact(tx, STAFF_CHAT_FACT)
    if stored is None:
        return slices
    return replace(slices, staff=replace(slices.staff, chat_id=int(stored)))


class CareApplication(Application[Any, CareContext, Any, Any, BotData, Any]):
    """PTB's Application with carebot's update pipeline: a durable inbox feeds it instead of
    PTB's Updater, and a per-chat ordered processor marks every update handled."""

    __slots__ = ("feeder", "processor", "settings")

    processor: ChatOrderedProcessor
    settings: Settings
    feeder: UpdateFeeder | None


def build_application(settings: Settings, *, clock: Clock | None = None) -> CareApplication:
    """A ready-to-run Application; the database opens in post_init and closes in post_shutdown."""
    clock = clock or SystemClock()
    background: list[asyncio.Task[None]] = []
    processor = ChatOrderedProcessor()
    held = contextlib.ExitStack()  # the run lock and the metrics server, for post_shutdown

    async def post_init(app: Application[Any, CareContext, Any, Any, BotData, Any]) -> None:
        held.enter_context(backup.run_lock(settings.storage.path, exclusive=False))
        db, applied = await open_database(settings.storage.path)
        messenger = TelegramMessenger(app.bot)
        slices = await with_stored_staff_chat(db, care_settings(settings))
        app.bot_data.care = CareServices.build(db, clock, slices, messenger)
        processor.bind(app, app.bot_data.care)
        background.append(asyncio.create_task(app.bot_data.care.outbox.run(), name="outbox"))
        # The FAQ index (encoders loaded, every phrasing encoded) is built now, not on the first
        # customer's question: seconds for a café FAQ, a minute for 1,000 entries with e5.
        background.append(asyncio.create_task(_warm_faq(app.bot_data.care), name="faq-warm-up"))
        log.info("started db=%s migrations_applied=%s", settings.storage.path, len(applied))
        staff_chats = [m.telegram_id for m in await app.bot_data.care.staff.members()]
        if slices.staff.chat_id is not None:
            staff_chats.append(slices.staff.chat_id)
        await register_commands(app.bot, staff_chats)
        if settings.metrics.port:
            held.enter_context(metrics.serve(app, settings.metrics))
        # What start-up built lives as long as the process: keep it out of every full garbage
        # collection (each scanned it all: pauses of up to 50 ms under load, stalling every chat).
        gc.freeze()

    async def post_shutdown(app: Application[Any, CareContext, Any, Any, BotData, Any]) -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        background.clear()
        if app.bot_data.care is not None:
            await app.bot_data.care.db.close()
            app.bot_data.care = None
        held.close()

    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .application_class(CareApplication)
        .token(settings.telegram.token)
        .context_types(ContextTypes(context=CareContext, bot_data=BotData))
        .request(BotApiRequest())
        .get_updates_request(BotApiRequest(pool_size=1, retry=False))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .concurrent_updates(processor)
        .updater(None)  # the pipeline's feeder fetches updates into the inbox instead
    )
    if os.environ.get("CAREBOT_BENCH_NO_RATE_LIMITER") != "1":  # bench/throughput_bench.py only
        builder = builder.rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
    if settings.telegram.base_url:
        builder = builder.base_url(settings.telegram.base_url)
    if settings.telegram.base_file_url:
        builder = builder.base_file_url(settings.telegram.base_file_url)
    app = builder.build()
    assert isinstance(app, CareApplication)
    app.processor, app.settings, app.feeder = processor, settings, None
    for group, handlers_of in HANDLERS:
        app.add_handlers(list(handlers_of()), group=group)
    app.add_error_handler(on_error)
    jobs.schedule(app, ticket_check=timedelta(minutes=settings.tickets.check_every_minutes))
    jobs.schedule_outreach(app, settings.outreach, settings.stages)
    jobs.schedule_ops(app, settings.backup)
    jobs.schedule_reports(app, settings.reports)
    return app


async def _warm_faq(care: CareServices) -> None:
    """Build the FAQ index in the background; a failure is logged and met again, with its
    reply, by the first question."""
    try:
        matcher = await care.faq.matcher_in_use()
    except Exception:
        log.exception("faq index warm-up failed")
        return
    log.info("faq index ready matcher=%s", matcher)


async def start_embedded(
    app: CareApplication,
    poll_timeout: int | None = None,
    *,
    webhook: TelegramSettings | None = None,
) -> None:
    """Start the application in a running event loop: database, jobs, then the feeder that
    handles what an earlier run left and polls (or serves the webhook, with `webhook`)."""
    try:
        await app.initialize()
    except BaseException:
        await app.bot.shutdown()  # its HTTP sessions opened before the bot failed to start
        raise
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    care = app.bot_data.care
    assert care is not None
    telegram = webhook or replace(app.settings.telegram, webhook_url="")
    timeout = poll_timeout if poll_timeout is not None else app.settings.telegram.poll_timeout
    app.feeder = UpdateFeeder(app, app.processor, care.inbox, telegram, timeout)
    await app.feeder.start()


async def stop_embedded(app: CareApplication) -> None:
    """Stop what `start_embedded` started: fetching first, the database last."""
    if app.feeder is not None:
        await app.feeder.stop()
        app.feeder = None
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


async def serve(settings: Settings) -> None:
    """`carebot run`: start, run until SIGINT or SIGTERM, stop cleanly."""
    app = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    webhook = settings.telegram if settings.telegram.webhook_url else None
    await start_embedded(app, webhook=webhook)
    log.info("running mode=%s", "webhook" if webhook else "polling")
    try:
        await stop.wait()
    finally:
        await stop_embedded(app)
