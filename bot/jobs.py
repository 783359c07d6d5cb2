"""JobQueue callbacks: each a few lines that call `care` and log counts."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from handlers.context import CareContext

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=6)
TICKET_CHECK_EVERY = timedelta(minutes=5)
EXPIRE_POINTS_EVERY = timedelta(hours=1)


async def job_prune_updates(context: CareContext) -> None:
    """Forget processed update ids that Telegram can no longer redeliver."""
    removed = await context.care.updates.prune()
    log.info("processed updates pruned removed=%s", removed)


async def job_ticket_sla(context: CareContext) -> None:
    """Post tickets the staff chat missed, remind of first replies due, escalate to owners."""
    await context.care.tickets.check_sla()


async def job_expire_points(context: CareContext) -> None:
    """Expire old loyalty points and warn customers whose points expire within a week."""
    await context.care.loyalty.expire_due()


def schedule(app: Any, *, ticket_check: timedelta = TICKET_CHECK_EVERY) -> None:
    """Register the recurring jobs."""
    if app.job_queue is None:
        return
    app.job_queue.run_repeating(job_prune_updates, interval=PRUNE_EVERY, first=PRUNE_EVERY)
    app.job_queue.run_repeating(job_ticket_sla, interval=ticket_check, first=ticket_check)
    app.job_queue.run_repeating(
        job_expire_points, interval=EXPIRE_POINTS_EVERY, first=timedelta(minutes=5)
    )
