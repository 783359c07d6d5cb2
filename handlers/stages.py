"""Staff: /stage <customer> shows the relationship stage; /stage <customer> <stage> sets it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from care.stages.reasons import Reason
from care.stages.service import StageReport
from handlers.common import reply
from handlers.context import CareContext
from handlers.texts import catalogue, label, t


def stage_label(stage: str, lang: str) -> str:
    """A stage's name in `lang` (an unknown name passes through)."""
    return label(f"stages.{stage}", stage, lang)


def status_label(status: str, lang: str) -> str:
    """A recency status (active, at_risk, lapsed) in `lang`."""
    return label(f"status.{status}", status, lang)


def reason_text(reason: Reason, lang: str) -> str:
    """A stage reason in `lang`; free text, or a reason this version has no text for, as stored."""
    key = reason.key
    if key is None or key not in catalogue():
        return reason.stored()
    fields = reason.values()
    if "stage" in fields:
        fields["stage"] = stage_label(fields["stage"], lang)
    try:
        return t(key, lang, **fields)
    except (KeyError, IndexError, ValueError):  # stored with other fields than the text expects
        return reason.stored()


def history_reason(reason: Reason, lang: str) -> str:
    """A history row's reason: rule reasons say they come from the rules."""
    text = reason_text(reason, lang)
    if reason.by_rule and reason.key in catalogue():
        return t("stage.history_rule", lang, reason=text)
    return text


async def cmd_stage(update: Update, context: CareContext) -> None:
    """/stage <customer> [<stage> [reason]]."""
    user, lang = update.effective_user, context.lang
    if user is None:
        return
    staff_name = f"@{user.username}" if user.username else str(user.id)
    done = await context.care.stages.stage_for(user.id, staff_name, list(context.args or []))
    if done.report is None:
        key = "stage.set" if done.evaluation.changed else "stage.unchanged"
        stage = stage_label(done.evaluation.stage, lang)
        await reply(update.effective_message, t(key, lang, who=done.who, stage=stage))
        return
    await reply(update.effective_message, report_text(done.who, done.report, lang))


def report_text(who: str, report: StageReport, lang: str) -> str:
    """The /stage report: stage, status, the facts behind them and the recent history."""
    none = t("stage.none", lang)
    lines = [
        t(
            "stage.report",
            lang,
            who=who,
            stage=stage_label(report.evaluation.stage, lang),
            manual=t("stage.manual", lang) if report.evaluation.manual else "",
            status=status_label(report.evaluation.status, lang),
            rule_stage=stage_label(report.rule_stage, lang),
            rule_reason=reason_text(report.rule_reason, lang),
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
    if report.recency_reason is not None:
        status = status_label(report.evaluation.status, lang)
        why = reason_text(report.recency_reason, lang)
        lines.append(t("stage.recency_reason", lang, status=status, reason=why))
    if report.history:
        lines.append(t("stage.history_header", lang))
        lines += [
            t(
                "stage.history_line",
                lang,
                at=row.created_at[:16].replace("T", " "),
                from_stage=stage_label(row.from_stage, lang) if row.from_stage else none,
                to_stage=stage_label(row.to_stage, lang),
                reason=history_reason(row.reason, lang),
            )
            for row in report.history
        ]
    return "\n".join(lines)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [CommandHandler("stage", cmd_stage)]
