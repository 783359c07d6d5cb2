"""Staff: /stage <customer> shows the relationship stage; /stage <customer> <stage> sets it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from care.errors import InvalidArgument
from care.roles import Role
from care.settings import STAGES
from handlers.common import reply, staff_command
from handlers.context import CareContext
from handlers.texts import t


@staff_command("stage", needed=Role.STAFF)
async def cmd_stage(update: Update, context: CareContext, role: Role) -> str | None:
    """/stage <customer> [<stage> [reason]]."""
    args, lang = context.args or [], context.lang
    if not args or (len(args) >= 2 and args[1].lower() not in STAGES):
        raise InvalidArgument("stage arguments", usage="usage.stage")
    customer = await context.care.customers.resolve(args[0])
    who = customer.name or customer.member_code
    if len(args) >= 2:
        user = update.effective_user
        assert user is not None
        staff_name = f"@{user.username}" if user.username else str(user.id)
        stage = args[1].lower()
        await context.care.stages.set_stage(
            customer.id, stage, staff_id=user.id, staff_name=staff_name, note=" ".join(args[2:])
        )
        await reply(update.effective_message, t("stage.set", lang, who=who, stage=stage))
        return f"set {customer.id} {stage}"
    report = await context.care.stages.report(customer.id)
    none = t("stage.none", lang)
    lines = [
        t(
            "stage.report",
            lang,
            who=who,
            stage=report.evaluation.stage,
            manual=t("stage.manual", lang) if report.evaluation.manual else "",
            status=report.evaluation.status,
            rule_stage=report.rule_stage,
            rule_reason=report.rule_reason,
            purchases=report.purchases_total,
            purchases_90d=report.purchases_90d,
            last_purchase=(report.last_purchase_at or none)[:10],
            complaints=report.open_complaints,
            rating=f"{report.rating_average:.1f}/5" if report.rating_average else none,
            points=report.lifetime_points,
            tenure=report.tenure_days,
            at_risk=(report.at_risk_at or none)[:10],
            lapsed=(report.lapsed_at or none)[:10],
        )
    ]
    if report.history:
        lines.append(t("stage.history_header", lang))
        lines += [
            t(
                "stage.history_line",
                lang,
                at=row.created_at[:16].replace("T", " "),
                from_stage=row.from_stage or none,
                to_stage=row.to_stage,
                reason=row.reason,
            )
            for row in report.history
        ]
    await reply(update.effective_message, "\n".join(lines))
    return f"shown {customer.id}"


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [CommandHandler("stage", cmd_stage)]
