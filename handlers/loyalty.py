"""Loyalty points in Telegram: /points, /history, /card, /phone and the staff commands."""

from __future__ import annotations

import io

import segno
from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from care.errors import InvalidArgument, UnknownCustomer
from care.loyalty.linking import LinkResult
from care.loyalty.service import (
    EarnResult,
    HistoryPage,
    Movement,
    PointsSummary,
)
from care.roles import Role
from care.loyalty.units import format_money, parse_amount, parse_points
from handlers.common import keyboard, reply, staff_command
from handlers.context import CareContext
from handlers.texts import LANGUAGES, t, tier_label
from storage.customers import CustomerRow

QR_SCALE = 10


def qr_png(code: str) -> bytes:
    """The member code as a QR image (PNG), made in memory."""
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buffer, kind="png", scale=QR_SCALE, border=4)
    return buffer.getvalue()


def who(customer: CustomerRow) -> str:
    """How staff see a customer's name."""
    if customer.name:
        return customer.name
    return f"@{customer.username}" if customer.username else customer.member_code


def render_movement(movement: Movement, lang: str) -> str:
    """One ledger line: date, signed points, kind."""
    kind = t(f"loyalty.kind.{movement.kind}", lang)
    return t("loyalty.movement", lang, date=movement.local_date, delta=f"{movement.delta:+d}",
             kind=kind)  # fmt: skip


def render_summary(summary: PointsSummary, lang: str) -> str:
    """The /points text."""
    standing = summary.standing
    nxt = (
        t(
            "loyalty.next_tier",
            lang,
            missing=standing.missing,
            tier=tier_label(standing.next_tier, lang),
        )
        if standing.next_tier
        else t("loyalty.top_tier", lang)
    )
    lines = [
        t("loyalty.summary", lang, balance=standing.balance, tier=tier_label(standing.tier, lang),
          next=nxt,
          code=summary.customer.member_code)
    ]  # fmt: skip
    if summary.expiring and summary.expiring_on:
        lines.append(
            t("loyalty.expiring", lang, points=summary.expiring, date=summary.expiring_on)
        )
    lines.append("")
    if summary.recent:
        lines.append(t("loyalty.recent_header", lang))
        lines += [render_movement(movement, lang) for movement in summary.recent]
    else:
        lines.append(t("loyalty.no_movements", lang))
    if summary.customer.phone is None:
        lines += ["", t("loyalty.link_hint", lang)]
    return "\n".join(lines)


def render_history(page: HistoryPage, lang: str) -> tuple[str, list[list[tuple[str, str]]]]:
    """The /history text for one page and its next/previous buttons."""
    lines = [t("loyalty.history_header", lang, page=page.page + 1, pages=page.pages)]
    lines += [render_movement(movement, lang) for movement in page.movements]
    if not page.movements:
        lines.append(t("loyalty.no_movements", lang))
    nav = []
    if page.page > 0:
        nav.append((t("loyalty.history_newer", lang), f"loyalty:page:{page.page - 1}"))
    if page.page < page.pages - 1:
        nav.append((t("loyalty.history_older", lang), f"loyalty:page:{page.page + 1}"))
    return "\n".join(lines), [nav] if nav else []


def message_reference(update: Update) -> str:
    """A reference unique to the Telegram message, so a redelivered update never counts twice."""
    message = update.effective_message
    assert message is not None
    return f"tg:{message.chat_id}:{message.message_id}"


# ------------------------------------------------------------------ customers


async def cmd_points(update: Update, context: CareContext) -> None:
    """Balance, tier, what is missing for the next tier, expiring points, last movements."""
    user, lang = update.effective_user, context.lang
    if user is None:
        return
    summary = await context.care.loyalty.summary_for(user.id)
    buttons = [
        [(t("loyalty.history_button", lang), "loyalty:history:0")],
        [(t("loyalty.card_button", lang), "loyalty:card:0")],
    ]
    await reply(update.effective_message, render_summary(summary, lang),
                reply_markup=keyboard(buttons))  # fmt: skip


async def cmd_history(update: Update, context: CareContext) -> None:
    """The newest page of the customer's movements, with paging buttons."""
    user = update.effective_user
    if user is None:
        return
    page = await context.care.loyalty.history_for(user.id, 0)
    text, rows = render_history(page, context.lang)
    await reply(update.effective_message, text, reply_markup=keyboard(rows) if rows else None)


async def on_history_page(update: Update, context: CareContext) -> None:
    """Show another page of the history in the same message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    try:
        page = await context.care.loyalty.history_for(
            user.id, int((query.data or "").split(":")[2])
        )
    except UnknownCustomer:
        await query.edit_message_text(t("common.press_start", context.lang))
        return
    text, rows = render_history(page, context.lang)
    await query.edit_message_text(text, reply_markup=keyboard(rows) if rows else None)


async def cmd_card(update: Update, context: CareContext) -> None:
    """The member code to show at the counter, as text and as a QR image."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    customer = await context.care.customers.find(user.id)
    if customer is None:
        await message.reply_text(t("common.press_start", context.lang))
        return
    caption = t("loyalty.card_caption", context.lang, code=customer.member_code)
    await message.reply_photo(photo=qr_png(customer.member_code), caption=caption)


async def on_points_button(update: Update, context: CareContext) -> None:
    """The main menu's 'My points', and the buttons under /points."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    data = query.data or ""
    if data.startswith("loyalty:history"):
        await cmd_history(update, context)
    elif data.startswith("loyalty:card"):
        await cmd_card(update, context)
    else:
        await cmd_points(update, context)


async def cmd_phone(update: Update, context: CareContext) -> None:
    """Offer a button that shares the customer's own phone number."""
    lang = context.lang
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton(t("loyalty.link.button", lang), request_contact=True)],
         [KeyboardButton(t("loyalty.link.cancel", lang))]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )  # fmt: skip
    await reply(update.effective_message, t("loyalty.link.prompt", lang), reply_markup=markup)


async def on_contact(update: Update, context: CareContext) -> None:
    """Link a shared phone number (the sender's own only), merging an imported record."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.contact is None:
        return
    if message.contact.user_id != user.id:
        await message.reply_text(t("loyalty.link.not_yours", context.lang))
        return
    result = await context.care.linking.link_phone(user.id, message.contact.phone_number)
    await message.reply_text(link_text(result, context.lang), reply_markup=ReplyKeyboardRemove())


def link_text(result: LinkResult, lang: str) -> str:
    """The reply to a shared phone number."""
    return t(
        f"loyalty.link.{result.outcome.value}",
        lang,
        points=result.merged_points,
        balance=result.balance,
        code=result.customer.member_code,
    )


async def on_link_cancel(update: Update, context: CareContext) -> None:
    """The customer pressed 'Cancel' instead of sharing their number."""
    await reply(
        update.effective_message,
        t("loyalty.link.cancelled", context.lang),
        reply_markup=ReplyKeyboardRemove(),
    )


# ------------------------------------------------------------------ staff


@staff_command("earn", needed=Role.STAFF)
async def cmd_earn(update: Update, context: CareContext, role: Role) -> str:
    """/earn <customer> <amount> [reference] [reason]: points for a purchase, once per receipt."""
    args = context.args or []
    if len(args) < 2:
        raise InvalidArgument("earn arguments", usage="usage.earn")
    customer = await context.care.customers.resolve(args[0])
    cents = parse_amount(args[1])
    reference = args[2] if len(args) > 2 else message_reference(update)
    result = await context.care.loyalty.earn(
        customer.id,
        cents,
        reference,
        staff_id=update.effective_user.id,  # type: ignore[union-attr]
        reason=" ".join(args[3:]) or None,
    )
    await reply(update.effective_message, earned_text(result, context.lang))
    return f"customer {customer.id} +{result.points} ref {reference} balance {result.balance}"


def earned_text(result: EarnResult, lang: str) -> str:
    """The staff reply to an earn, with the cap and a promotion when they apply."""
    customer = result.customer
    lines = [
        t("loyalty.earned", lang, name=who(customer), code=customer.member_code,
          points=result.points, amount=format_money(result.amount_cents),
          balance=result.balance, tier=tier_label(result.tier, lang))
    ]  # fmt: skip
    if result.capped:
        lines.append(t("loyalty.earned_capped", lang))
    if result.promoted:
        key = "loyalty.earned_promoted" if result.announced else "loyalty.earned_promoted_untold"
        lines.append(t(key, lang, tier=tier_label(result.tier, lang)))
    return "\n".join(lines)


@staff_command("redeem", needed=Role.STAFF)
async def cmd_redeem(update: Update, context: CareContext, role: Role) -> str:
    """/redeem <customer> <points> [reason]: spend points, never below zero."""
    args = context.args or []
    if len(args) < 2:
        raise InvalidArgument("redeem arguments", usage="usage.redeem")
    customer = await context.care.customers.resolve(args[0])
    points = parse_points(args[1])
    change = await context.care.loyalty.redeem(
        customer.id,
        points,
        message_reference(update),
        staff_id=update.effective_user.id,  # type: ignore[union-attr]
        reason=" ".join(args[2:]) or None,
    )
    lang = context.lang
    text = (
        t("loyalty.already_applied", lang, balance=change.balance)
        if change.already_applied
        else t("loyalty.redeemed", lang, name=who(customer), code=customer.member_code,
               points=points, balance=change.balance)
    )  # fmt: skip
    await reply(update.effective_message, text)
    return f"customer {customer.id} -{points} balance {change.balance}"


@staff_command("adjust", needed=Role.OWNER)
async def cmd_adjust(update: Update, context: CareContext, role: Role) -> str:
    """/adjust <customer> <±points> <reason>: owners correct a balance, with a reason."""
    args = context.args or []
    if len(args) < 3:
        raise InvalidArgument("adjust arguments", usage="usage.adjust")
    customer = await context.care.customers.resolve(args[0])
    delta, reason = parse_points(args[1], signed=True), " ".join(args[2:])
    change = await context.care.loyalty.adjust(
        customer.id, delta, reason, message_reference(update),
        staff_id=update.effective_user.id,  # type: ignore[union-attr]
    )  # fmt: skip
    lang = context.lang
    text = (
        t("loyalty.already_applied", lang, balance=change.balance)
        if change.already_applied
        else t("loyalty.adjusted", lang, name=who(customer), code=customer.member_code,
               delta=f"{delta:+d}", reason=reason, balance=change.balance)
    )  # fmt: skip
    await reply(update.effective_message, text)
    return f"customer {customer.id} {delta:+d} balance {change.balance}"


@staff_command("customer", needed=Role.STAFF)
async def cmd_customer(update: Update, context: CareContext, role: Role) -> str:
    """/customer <customer>: name, phone, language, stage, tier, balance, tickets, last seen."""
    args = context.args or []
    if not args:
        raise InvalidArgument("customer argument", usage="usage.customer")
    customer = await context.care.customers.resolve(" ".join(args))
    card = await context.care.loyalty.card(customer.id)
    lang, none = context.lang, t("loyalty.unknown_value", context.lang)
    last_seen = customer.last_seen_at
    text = t(
        "loyalty.customer_card", lang, name=who(customer), code=customer.member_code,
        phone=customer.phone or none, language=customer.language, stage=customer.stage,
        tier=tier_label(card.standing.tier, lang), balance=card.standing.balance,
        tickets=card.open_tickets,
        last_seen=f"{last_seen[:16].replace('T', ' ')} UTC" if last_seen else none,
    )  # fmt: skip
    await reply(update.effective_message, text)
    return f"shown customer {customer.id}"


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    cancel_texts = [t("loyalty.link.cancel", lang) for lang in LANGUAGES]
    return [
        CommandHandler("points", cmd_points),
        CommandHandler("history", cmd_history),
        CommandHandler("card", cmd_card),
        CommandHandler("phone", cmd_phone),
        CommandHandler("earn", cmd_earn),
        CommandHandler("redeem", cmd_redeem),
        CommandHandler("adjust", cmd_adjust),
        CommandHandler("customer", cmd_customer),
        CallbackQueryHandler(on_history_page, pattern=r"^loyalty:page:\d+$"),
        CallbackQueryHandler(
            on_points_button, pattern=r"^(menu:open:points|loyalty:(history|card):0)$"
        ),
        MessageHandler(filters.CONTACT, on_contact),
        MessageHandler(filters.Text(cancel_texts), on_link_cancel),
    ]
