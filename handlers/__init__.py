"""Telegram glue: every handler, grouped and ordered for `Application.add_handlers`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

from handlers import customer, fallback, outreach, pipeline, staff, stages

# Group order matters: -1 runs first on every update (redelivery guard, language, size limit);
# 0 holds the features, with the catch-alls last; 1 marks the update as handled.
BEFORE, FEATURES, AFTER = -1, 0, 1


def build_handlers() -> dict[int, list[BaseHandler]]:  # type: ignore[type-arg]
    """All handlers by group, ready for `Application.add_handlers`."""
    return {
        BEFORE: [TypeHandler(Update, pipeline.before_update)],
        FEATURES: [
            *customer.handlers(),
            *staff.handlers(),
            *stages.handlers(),
            *outreach.handlers(),
            *fallback.handlers(),
        ],
        AFTER: [TypeHandler(Update, pipeline.after_update)],
    }
