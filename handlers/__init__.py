"""Telegram glue: every handler, grouped and ordered for `Application.add_handlers`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

from handlers import (
    customer,
    fallback,
    faq,
    loyalty,
    outreach,
    pipeline,
    setup,
    staff,
    stages,
    tickets,
)

# Group order matters: -2 runs first on every update (language, size limit); -1 lets a ticket
# claim a message that answers it (it then stops the update); 0 holds the features, with the
# catch-alls last. The redelivery guard and the "handled" mark wrap all of them (bot/pipeline).
BEFORE, THREADS, FEATURES = -2, -1, 0


def build_handlers() -> dict[int, Sequence[BaseHandler[Any, Any, Any]]]:
    """All handlers by group, ready for `Application.add_handlers`."""
    return {
        BEFORE: [TypeHandler(Update, pipeline.before_update)],
        THREADS: tickets.thread_handlers(),
        FEATURES: [
            *customer.handlers(),
            *setup.handlers(),
            *staff.handlers(),
            *tickets.handlers(),
            *loyalty.handlers(),
            *stages.handlers(),
            *outreach.handlers(),
            *faq.handlers(),
            # Free text goes to the FAQ only after every conversation had its chance.
            *faq.question_handlers(),
            *fallback.handlers(),
        ],
    }
