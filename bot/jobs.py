"""JobQueue callbacks: each a few lines that call `care` and log counts."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from bot import backup
from care.settings import BackupSettings, OutreachSettings, ReportSettings, StageSettings
from handlers.context import CareContext

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=6)
TICKET_CHECK_EVERY = timedelta(minutes=5)
EXPIRE_POINTS_EVERY = timedelta(hours=1)
HEARTBEAT_EVERY = timedelta(seconds=30)
FAQ_DIGEST_EVERY = timedelta(hours=6)  # care posts once per ISO week; this only asks
FAQ_RECALIBRATE_EVERY = timedelta(days=1)
FIRST_BACKUP_AFTER = timedelta(minutes=10)
AT_RISK_CHECK_EVERY = timedelta(hours=1)
DIGEST_CHECK_EVERY = timedelta(minutes=15)
POLLER_TASK = "getUpdates"  # the name bot/pipeline.py gives its polling task


async def job_prune_inbox(context: CareContext) -> None:
    """Forget handled updates that Telegram can no longer redeliver."""
    removed = await context.care.inbox.prune()
    log.info("inbox pruned removed=%s", removed)


async def job_ticket_sla(context: CareContext) -> None:
    """Post tickets the staff chat missed, remind of first replies due, escalate to owners."""
    await context.care.tickets.check_sla()


async def job_expire_points(context: CareContext) -> None:
    """Expire old loyalty points and warn customers whose points expire within a week."""
    await context.care.loyalty.expire_due()


async def job_outreach_plan(context: CareContext) -> None:
    """Put every occasion that has come into the outbox (care decides what is due)."""
    await context.care.outreach.plan()


async def job_outreach_send(context: CareContext) -> None:
    """Send what is due, paced (a run still draining makes this one return at once)."""
    await context.care.outreach.drain()


async def job_stages(context: CareContext) -> None:
    """Re-apply the stage rules to everyone, in batches (windows move with time)."""
    counts = await context.care.stages.reevaluate_all()
    log.info("stages reevaluated evaluated=%s changed=%s", counts["evaluated"], counts["changed"])


async def job_at_risk_weekly(context: CareContext) -> None:
    """Post this week's at-risk customers to the staff chat (care keys it once per week)."""
    queued = await context.care.status.post_weekly()
    log.info("at-risk weekly list queued=%s", queued)


def schedule_outreach(app: Any, outreach: OutreachSettings, stages: StageSettings) -> None:
    """Register the planner, the sender and the nightly stage re-evaluation."""
    if app.job_queue is None:
        return
    queue = app.job_queue
    every = timedelta(hours=stages.reevaluate_every_hours)
    queue.run_repeating(job_stages, interval=every, first=timedelta(minutes=1), name="stages")
    # Hourly; the outbox key lets one list through per ISO week, on its first run that week.
    queue.run_repeating(
        job_at_risk_weekly, interval=AT_RISK_CHECK_EVERY, first=timedelta(minutes=10),
        name="at_risk_weekly",
    )  # fmt: skip
    if not outreach.enabled:
        return
    plan_every = timedelta(minutes=outreach.plan_interval_minutes)
    send_every = timedelta(seconds=outreach.send_interval_seconds)
    queue.run_repeating(
        job_outreach_plan, interval=plan_every, first=timedelta(seconds=5), name="outreach_plan"
    )
    queue.run_repeating(
        job_outreach_send, interval=send_every, first=timedelta(seconds=10), name="outreach_send"
    )


async def job_faq_digest(context: CareContext) -> None:
    """Post this week's FAQ digest to the staff chat (care decides whether it is due)."""
    queued = await context.care.faq.weekly_digest()
    if queued:
        log.info("faq digest queued messages=%s", queued)


async def job_faq_recalibrate(context: CareContext) -> None:
    """Recalibrate the FAQ's thresholds on the feedback of the day (with [faq] calibrate on)."""
    calibration = await context.care.faq.recalibrate()
    log.info(
        "faq calibration applied=%s labelled=%s unwanted=%s",
        calibration.applied and calibration.calibrated,
        calibration.feedback_in,
        calibration.feedback_out,
    )


def schedule(app: Any, *, ticket_check: timedelta = TICKET_CHECK_EVERY) -> None:
    """Register the recurring jobs."""
    if app.job_queue is None:
        return
    app.job_queue.run_repeating(job_prune_inbox, interval=PRUNE_EVERY, first=PRUNE_EVERY)
    app.job_queue.run_repeating(job_ticket_sla, interval=ticket_check, first=ticket_check)
    app.job_queue.run_repeating(
        job_expire_points, interval=EXPIRE_POINTS_EVERY, first=timedelta(minutes=5)
    )
    app.job_queue.run_repeating(
        job_faq_digest, interval=FAQ_DIGEST_EVERY, first=timedelta(minutes=10), name="faq_digest"
    )
    app.job_queue.run_repeating(
        job_faq_recalibrate,
        interval=FAQ_RECALIBRATE_EVERY,
        first=FAQ_RECALIBRATE_EVERY,
        name="faq_recalibrate",
    )


def poller_alive(app: Any) -> bool:
    """Whether updates still arrive: the polling task runs, or the webhook server is up."""
    if app.feeder is None:
        return False
    if app.settings.telegram.webhook_url:
        return True
    return any(t.get_name() == POLLER_TASK and not t.done() for t in asyncio.all_tasks())


async def job_heartbeat(context: CareContext) -> None:
    """Record that the jobs run (and the poller, while it polls) for `carebot status`."""
    parts = ["jobs"] + (["poller"] if poller_alive(context.application) else [])
    await context.care.ops.beat(parts)


async def job_backup(context: CareContext) -> None:
    """Take the scheduled backup (in a thread), verify, record it and apply retention."""
    await backup.scheduled(context.care)


def schedule_ops(
    app: Any, settings: BackupSettings, *, heartbeat: timedelta = HEARTBEAT_EVERY
) -> None:
    """Register the heartbeat and, unless turned off, the scheduled backup."""
    if app.job_queue is None:
        return
    app.job_queue.run_repeating(job_heartbeat, interval=heartbeat, first=1, name="heartbeat")
    if settings.interval_hours:
        every = timedelta(hours=settings.interval_hours)
        app.job_queue.run_repeating(
            job_backup, interval=every, first=FIRST_BACKUP_AFTER, name="backup"
        )


async def job_report_digest(context: CareContext) -> None:
    """Queue last week's digest to the owners once, on the digest day (care decides when)."""
    queued = await context.care.reports.queue_digest()
    if queued:
        log.info("report digest queued=%s", queued)


def schedule_reports(
    app: Any, settings: ReportSettings, *, every: timedelta = DIGEST_CHECK_EVERY
) -> None:
    """Register the weekly digest's check, unless the digest is turned off."""
    if app.job_queue is None or not settings.digest:
        return
    app.job_queue.run_repeating(job_report_digest, interval=every, first=60, name="digest")
