"""Loyalty points in Telegram: /points, /history, /card, /phone and the staff commands.

Each handler parses the update, makes one call to `care.loyalty` (or `care.linking`), renders
the result and replies. Care errors from commands are rendered by the error handler; buttons
answer their own errors on the callback query.
"""

from __future__ import annotations

import io
import logging
from typing import Protocol

import segno
from telegram import (
    CallbackQuery,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from care import callbacks
from care.callbacks import ID, Number
from care.errors import CareError
from care.loyalty.linking import LinkResult
from care.loyalty.service import (
    CustomerCard,
    EarnConfirmation,
    EarnResult,
    HistoryPage,
    Movement,
    PointsChange,
    PointsSummary,
    VoidResult,
)
from care.loyalty.units import format_money
from handlers.common import error_text, keyboard, reply, require_text_message
from handlers.context import CareContext
from handlers.stages import reason_text, stage_label, status_label
from handlers.texts import LANGUAGES, t, tier_label

log = logging.getLogger(__name__)

QR_SCALE = 10
FEATURE = "loyalty"
MAX_PAGE = 100_000


def qr_png(code: str) -> bytes:
    """The member code as a QR image (PNG), made in memory."""
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buffer, kind="png", scale=QR_SCALE, border=4)
    return buffer.getvalue()


class Named(Protocol):
    """What staff replies show of a customer (a care result's customer)."""

    @property
    def name(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def member_code(self) -> str: ...


def who(customer: Named) -> str:
    """How staff see a customer's name."""
    if customer.name:
        return customer.name
    return f"@{customer.username}" if customer.username else customer.member_code


def render_movement(movement: Movement, lang: str, *, numbered: bool = False) -> str:
    """One ledger line: date, signed points, kind (for staff with the entry number)."""
    if movement.voids is not None:
        kind = t("loyalty.kind.void", lang, entry=movement.voids)
    else:
        kind = t(f"loyalty.kind.{movement.kind}", lang)
    if movement.voided:
        kind += t("loyalty.voided_mark", lang)
    line = t("loyalty.movement", lang, date=movement.local_date, delta=f"{movement.delta:+d}",
             kind=kind)  # fmt: skip
    return f"#{movement.entry_id}  {line}" if numbered else line


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
        nav.append(
            (t("loyalty.history_newer", lang), callbacks.build(FEATURE, "page", page.page - 1))
        )
    if page.page < page.pages - 1:
        nav.append(
            (t("loyalty.history_older", lang), callbacks.build(FEATURE, "page", page.page + 1))
        )
    return "\n".join(lines), [nav] if nav else []


def earned_text(result: EarnResult, lang: str) -> str:
    """The staff reply to an earn, with the cap and a promotion when they apply."""
    if result.already_applied:
        return t("loyalty.already_applied", lang, balance=result.balance)
    customer = result.customer
    lines = [
        t("loyalty.earned", lang, name=who(customer), code=customer.member_code,
          points=result.points, amount=format_money(result.amount_cents),
          balance=result.balance, tier=tier_label(result.tier, lang), entry=result.entry_id)
    ]  # fmt: skip
    if result.capped:
        lines.append(t("loyalty.earned_capped", lang))
    if result.promoted:
        key = "loyalty.earned_promoted" if result.announced else "loyalty.earned_promoted_untold"
        lines.append(t(key, lang, tier=tier_label(result.tier, lang)))
    return "\n".join(lines)


def confirmation_text(ask: EarnConfirmation, lang: str) -> str:
    """The question before a big earn."""
    if ask.cancelled:
        return t("loyalty.confirm.was_cancelled", lang)
    return t(
        "loyalty.confirm.ask", lang, name=who(ask.customer), code=ask.customer.member_code,
        amount=format_money(ask.amount_cents), usual=format_money(ask.usual_cents),
    )  # fmt: skip


def change_text(change: PointsChange, key: str, lang: str, **fields: object) -> str:
    """The staff reply to a redemption or adjustment."""
    if change.already_applied:
        return t("loyalty.already_applied", lang, balance=change.balance)
    customer = change.customer
    return t(key, lang, name=who(customer), code=customer.member_code, balance=change.balance,
             **fields)  # fmt: skip


def void_text(result: VoidResult, lang: str) -> str:
    """The staff reply to /void."""
    customer, entry = result.customer, result.entry
    return t(
        "loyalty.voided", lang, entry=entry.id, delta=f"{entry.delta:+d}",
        kind=t(f"loyalty.kind.{entry.kind}", lang), name=who(customer), code=customer.member_code,
        balance=result.balance, tier=tier_label(result.tier, lang),
        stage=stage_label(result.stage, lang),
    )  # fmt: skip


def card_text(card: CustomerCard, lang: str) -> str:
    """The /customer text, with the latest entries numbered for /void."""
    customer, none = card.customer, t("loyalty.unknown_value", lang)
    last_seen = customer.last_seen_at
    lines = [
        t("loyalty.customer_card", lang, name=who(customer), code=customer.member_code,
          phone=customer.phone or none, language=customer.language,
          stage=stage_label(customer.stage, lang), tier=tier_label(card.standing.tier, lang),
          balance=card.standing.balance, tickets=card.open_tickets,
          last_seen=f"{last_seen[:16].replace('T', ' ')} UTC" if last_seen else none)
    ]  # fmt: skip
    if card.recency is not None:
        lines.append(
            t("customers.card_recency", lang, status=status_label(card.recency.recency, lang),
              reason=reason_text(card.recency.reason, lang))
        )  # fmt: skip
    if card.recent:
        lines += ["", t("loyalty.card_entries", lang)]
        lines += [render_movement(movement, lang, numbered=True) for movement in card.recent]
    return "\n".join(lines)


def message_reference(update: Update) -> str:
    """A reference unique to the Telegram message, so a redelivered update never counts twice."""
    message = update.effective_message
    assert message is not None
    return f"tg:{message.chat_id}:{message.message_id}"


async def reply_committed(update: Update, context: CareContext, text: str) -> None:
    """Reply about a change that is committed; if Telegram fails, the outbox sends it later."""
    message = update.effective_message
    if message is None:
        return
    try:
        await message.reply_text(text)
    except TelegramError as exc:
        log.warning("reply queued chat_id=%s error=%s", message.chat_id, type(exc).__name__)
        await context.care.loyalty.queue_reply(
            message.chat_id, message.message_id, context.lang, text,
            f"{message.chat_id}:{message.message_id}",
        )  # fmt: skip


async def edit_committed(query: CallbackQuery, context: CareContext, text: str) -> None:
    """Replace a button's message after a committed change; a failure goes to the outbox."""
    message = query.message
    try:
        await query.edit_message_text(text)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower() and message is not None:
            await _queue(context, message.chat.id, message.message_id, text)
    except TelegramError:
        if message is not None:
            await _queue(context, message.chat.id, message.message_id, text)


async def _queue(context: CareContext, chat_id: int, message_id: int, text: str) -> None:
    log.warning("reply queued chat_id=%s", chat_id)
    await context.care.loyalty.queue_reply(
        chat_id, message_id, context.lang, text, f"{chat_id}:{message_id}:edit"
    )


async def answer_error(query: CallbackQuery, exc: CareError, lang: str) -> None:
    """Answer a button's error on the button itself (e.g. 'this button has expired')."""
    await query.answer(error_text(exc, lang))


def _args(context: CareContext) -> list[str]:
    return list(context.args or [])


def _arg(args: list[str], index: int) -> str:
    return args[index] if len(args) > index else ""


def _user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id


# ------------------------------------------------------------------ customers


async def cmd_points(update: Update, context: CareContext) -> None:
    """Balance, tier, what is missing for the next tier, expiring points, last movements."""
    user, lang = update.effective_user, context.lang
    if user is None:
        return
    summary = await context.care.loyalty.summary_for(user.id)
    buttons = [
        [(t("loyalty.history_button", lang), callbacks.build(FEATURE, "history"))],
        [(t("loyalty.card_button", lang), callbacks.build(FEATURE, "card"))],
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
    """Show another page of the history in the same message; a second tap changes nothing."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        (page_number,) = callbacks.parse(query.data, FEATURE, "page", Number(0, MAX_PAGE))
        require_text_message(query)
        page = await context.care.loyalty.history_for(user.id, int(page_number))
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    text, rows = render_history(page, context.lang)
    try:
        await query.edit_message_text(text, reply_markup=keyboard(rows) if rows else None)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def cmd_card(update: Update, context: CareContext) -> None:
    """The member code to show at the counter, as text and as a QR image."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    customer = await context.care.customers.require(user.id)
    caption = t("loyalty.card_caption", context.lang, code=customer.member_code)
    await message.reply_photo(photo=qr_png(customer.member_code), caption=caption)


async def on_points_button(update: Update, context: CareContext) -> None:
    """The main menu's 'My points', and the buttons under /points."""
    query = update.callback_query
    if query is None:
        return
    verb = callbacks.verb_of(query.data)
    try:
        if verb == "history":
            await cmd_history(update, context)
        elif verb == "card":
            await cmd_card(update, context)
        else:
            await cmd_points(update, context)
    except CareError as exc:  # e.g. not registered: said on the button, which is then answered
        await answer_error(query, exc, context.lang)
        return
    await query.answer()


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


async def cmd_earn(update: Update, context: CareContext) -> None:
    """/earn <customer> <amount> [receipt] [reason]: points for a purchase, once per receipt."""
    args, lang = _args(context), context.lang
    outcome = await context.care.loyalty.earn_by_staff(
        _user_id(update), _arg(args, 0), _arg(args, 1), _arg(args, 2) or None,
        " ".join(args[3:]) or None, message_reference(update),
    )  # fmt: skip
    if isinstance(outcome, EarnConfirmation):
        number = outcome.confirmation_id
        buttons = [[
            (t("loyalty.confirm.yes", lang), callbacks.build(FEATURE, "confirm", number)),
            (t("loyalty.confirm.no", lang), callbacks.build(FEATURE, "cancel", number)),
        ]] if not outcome.cancelled else []  # fmt: skip
        await reply(update.effective_message, confirmation_text(outcome, lang),
                    reply_markup=keyboard(buttons) if buttons else None)  # fmt: skip
        return
    await reply_committed(update, context, earned_text(outcome, lang))


async def on_confirm(update: Update, context: CareContext) -> None:
    """'Yes, add the points' under a big earn: only the staff member who asked."""
    query = update.callback_query
    if query is None:
        return
    try:
        (confirmation_id,) = callbacks.parse(query.data, FEATURE, "confirm", ID)
        result = await context.care.loyalty.confirm_earn(_user_id(update), int(confirmation_id))
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    if result is not None:
        await edit_committed(query, context, earned_text(result, context.lang))


async def on_cancel(update: Update, context: CareContext) -> None:
    """'Cancel' under a big earn: nothing is added."""
    query = update.callback_query
    if query is None:
        return
    try:
        (confirmation_id,) = callbacks.parse(query.data, FEATURE, "cancel", ID)
        cancelled = await context.care.loyalty.cancel_earn(_user_id(update), int(confirmation_id))
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    if cancelled:
        await edit_committed(query, context, t("loyalty.confirm.cancelled", context.lang))


async def cmd_redeem(update: Update, context: CareContext) -> None:
    """/redeem <customer> <points> [reason]: spend points, never below zero."""
    args = _args(context)
    change = await context.care.loyalty.redeem_by_staff(
        _user_id(update), _arg(args, 0), _arg(args, 1), " ".join(args[2:]) or None,
        message_reference(update),
    )  # fmt: skip
    text = change_text(change, "loyalty.redeemed", context.lang, points=-change.delta)
    await reply_committed(update, context, text)


async def cmd_adjust(update: Update, context: CareContext) -> None:
    """/adjust <customer> <±points> <reason>: owners correct a balance, with a reason."""
    args = _args(context)
    reason = " ".join(args[2:])
    change = await context.care.loyalty.adjust_by_staff(
        _user_id(update), _arg(args, 0), _arg(args, 1), reason, message_reference(update)
    )
    text = change_text(
        change, "loyalty.adjusted", context.lang, delta=f"{change.delta:+d}", reason=reason
    )
    await reply_committed(update, context, text)


async def cmd_void(update: Update, context: CareContext) -> None:
    """/void <entry> [reason]: managers cancel one ledger entry and everything it moved."""
    args = _args(context)
    result = await context.care.loyalty.void_by_staff(
        _user_id(update), _arg(args, 0), " ".join(args[1:]) or None
    )
    await reply_committed(update, context, void_text(result, context.lang))


async def cmd_customer(update: Update, context: CareContext) -> None:
    """/customer <customer>: name, phone, stage, tier, balance, tickets, the latest entries."""
    card = await context.care.loyalty.card_by_staff(_user_id(update), " ".join(_args(context)))
    await reply(update.effective_message, card_text(card, context.lang))


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
        CommandHandler("void", cmd_void),
        CommandHandler("customer", cmd_customer),
        CallbackQueryHandler(on_history_page, pattern=callbacks.pattern(FEATURE, "page")),
        CallbackQueryHandler(on_confirm, pattern=callbacks.pattern(FEATURE, "confirm")),
        CallbackQueryHandler(on_cancel, pattern=callbacks.pattern(FEATURE, "cancel")),
        CallbackQueryHandler(
            on_points_button, pattern=callbacks.pattern(FEATURE, "history", "card")
        ),
        CallbackQueryHandler(on_points_button, pattern=r"^menu:open:points$"),
        MessageHandler(filters.CONTACT, on_contact),
        MessageHandler(filters.Text(cancel_texts), on_link_cancel),
    ]
