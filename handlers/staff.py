"""Staff administration: /staff add|remove|list and /audit."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from care.staff import StaffChange
from handlers.commands_menu import refresh_staff_commands
from handlers.common import reply
from handlers.context import CareContext
from handlers.texts import t


async def cmd_staff(update: Update, context: CareContext) -> None:
    """/staff list | add <who> [staff|manager] | remove <who>."""
    user = update.effective_user
    if user is None:
        return
    change = await context.care.staff.staff_command(user.id, list(context.args or []))
    if change.outcome in ("added", "removed") and change.telegram_id is not None:
        is_staff = change.outcome == "added"
        await refresh_staff_commands(context.bot, change.telegram_id, is_staff=is_staff)
    await reply(update.effective_message, _staff_text(change, context.lang))


def _staff_text(change: StaffChange, lang: str) -> str:
    if change.outcome == "listed":
        lines = [t("staff.list_header", lang, count=len(change.members))]
        lines += [
            t("staff.list_line", lang, who=_who(m.telegram_id, m.name), role=m.role.label)
            for m in change.members
        ]
        return "\n".join(lines)
    if change.outcome == "unknown_user":
        return t("staff.unknown_user", lang, who=change.reference)
    if change.outcome == "owner_in_config":
        return t("staff.owner_in_config", lang)
    who = _who(change.telegram_id or 0, change.name)
    if change.outcome == "added":
        return t("staff.added", lang, who=who, role=change.role.label if change.role else "")
    return t("staff.removed" if change.outcome == "removed" else "staff.not_member", lang, who=who)


async def cmd_audit(update: Update, context: CareContext) -> None:
    """/audit [n]: the newest audit entries."""
    user = update.effective_user
    if user is None:
        return
    rows = await context.care.staff.audit_log(user.id, list(context.args or []))
    if not rows:
        await reply(update.effective_message, t("audit.empty", context.lang))
        return
    lines = [t("audit.header", context.lang, count=len(rows))]
    lines += [
        t(
            "audit.line",
            context.lang,
            at=row.created_at[:16].replace("T", " "),
            actor=row.actor_id,
            action=row.action,
            arguments=row.arguments,
            result=row.result,
        )
        for row in rows
    ]
    await reply(update.effective_message, "\n".join(lines))


def _who(telegram_id: int, name: str | None) -> str:
    return f"{name} ({telegram_id})" if name else str(telegram_id)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [CommandHandler("staff", cmd_staff), CommandHandler("audit", cmd_audit)]
