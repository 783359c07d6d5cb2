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
    staff,
    stages,
    tickets,
)

# Group order matters: -2 runs first on every update (redelivery guard, language, size limit);
# -1 lets a ticket claim a message that answers it (it then stops the update, marked handled);
# 0 holds the features, with the catch-alls last; 1 marks the update as handled.
BEFORE, THREADS, FEATURES, AFTER = -2, -1, 0, 1


def build_handlers() -> dict[int, Sequence[BaseHandler[Any, Any, Any]]]:
    """All handlers by group, ready for `Application.add_handlers`."""
    return {
        BEFORE: [TypeHandler(Update, pipeline.before_update)],
        THREADS: tickets.thread_handlers(),
        FEATURES: [
            *customer.handlers(),
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
        AFTER: [TypeHandler(Update, pipeline.after_update)],
    }
