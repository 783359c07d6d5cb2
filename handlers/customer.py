"""Customers' first contact: /start and its menu, /help, /language, /stop, /resume, /forget."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care import callbacks
from care.callbacks import MAX_ID, Choice, Number
from care.customers import Preferences
from care.errors import CareError
from care.roles import Role
from care.settings import LANGUAGES
from handlers.common import (
    answer_error,
    edit_quietly,
    keyboard,
    reply,
    require_text_message,
)
from handlers.context import CareContext
from handlers.texts import t

MENU_FEATURES = ("points", "ask", "feedback", "complaint", "settings")
MENU_HERE = Choice("ask", "settings")  # the menu entries this module opens
OUTREACH_CHOICE = Choice("stop", "resume")
NONCE = Number(0, MAX_ID)  # 0: a confirmation button from before nonces, which asks again


def main_menu(lang: str) -> list[list[tuple[str, str]]]:
    """The main menu's buttons, two to a row."""
    buttons = [
        (t(f"menu.{feature}", lang), callbacks.build("menu", "open", feature))
        for feature in MENU_FEATURES
    ]
    return [buttons[0:2], buttons[2:4], buttons[4:]]


def settings_menu(preferences: Preferences) -> tuple[str, list[list[tuple[str, str]]]]:
    """The settings text and buttons for a customer."""
    lang = preferences.language
    off = preferences.opted_out
    outreach = t("settings.outreach_off" if off else "settings.outreach_on", lang)
    toggle = (
        t("settings.resume_button" if off else "settings.stop_button", lang),
        callbacks.build("settings", "outreach", "resume" if off else "stop"),
    )
    other = "zh" if lang == "en" else "en"
    rows = [
        [(t("settings.language_button", lang), callbacks.build("settings", "language", other))],
        [toggle],
        [(t("settings.forget_button", lang), callbacks.build("forget", "ask"))],
    ]
    return t("settings.title", lang, outreach=outreach), rows


def forget_buttons(nonce: int, lang: str) -> list[list[tuple[str, str]]]:
    """Yes (carrying this ask's nonce) and no."""
    return [
        [
            (t("forget.yes", lang), callbacks.build("forget", "confirm", nonce)),
            (t("forget.no", lang), callbacks.build("forget", "cancel")),
        ]
    ]


async def cmd_start(update: Update, context: CareContext) -> None:
    """Register the customer (once) and show the main menu."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    registration = await context.care.customers.register(
        user.id, user.username, user.full_name, user.language_code
    )
    customer = registration.customer
    context.remember_lang(customer.language)
    key = "start.welcome" if registration.created else "start.welcome_back"
    text = t(key, customer.language, name=user.first_name, business=registration.business)
    await message.reply_text(text, reply_markup=keyboard(main_menu(customer.language)))


async def cmd_help(update: Update, context: CareContext) -> None:
    """List what the bot can do; staff also see their commands."""
    user = update.effective_user
    text = t("help.customer", context.lang)
    if user is not None and await context.care.staff.role_of(user.id) >= Role.STAFF:
        text += "\n\n" + t("help.staff", context.lang)
    await reply(update.effective_message, text)


async def cmd_language(update: Update, context: CareContext) -> None:
    """Switch between English and Chinese, or set one with /language en|zh."""
    user = update.effective_user
    if user is None:
        return
    args = context.args or []
    wanted = args[0].lower() if args else None
    preferences = await context.care.customers.set_language(user.id, wanted)
    context.remember_lang(preferences.language)
    await reply(update.effective_message, t("language.changed", preferences.language))


async def cmd_timezone(update: Update, context: CareContext) -> None:
    """Show the customer's time zone, or set it with /timezone <zone or city>."""
    user = update.effective_user
    if user is None:
        return
    name = " ".join(context.args) if context.args else None
    preferences = await context.care.customers.timezone(user.id, name)
    key = "timezone.current" if name is None else "timezone.set"
    await reply(update.effective_message, t(key, context.lang, zone=preferences.zone))


async def cmd_stop(update: Update, context: CareContext) -> None:
    """Turn outreach off."""
    await _set_outreach(update, context, opted_out=True)


async def cmd_resume(update: Update, context: CareContext) -> None:
    """Turn outreach back on."""
    await _set_outreach(update, context, opted_out=False)


async def _set_outreach(update: Update, context: CareContext, *, opted_out: bool) -> None:
    user = update.effective_user
    if user is None:
        return
    preferences = await context.care.customers.set_opted_out(user.id, opted_out)
    done = "stop.done" if opted_out else "resume.done"
    already = "stop.already" if opted_out else "resume.already"
    await reply(
        update.effective_message, t(done if preferences.changed else already, context.lang)
    )


async def cmd_forget(update: Update, context: CareContext) -> None:
    """Ask for confirmation before erasing the customer's personal data."""
    user = update.effective_user
    if user is None:
        return
    nonce = await context.care.customers.ask_forget(user.id)
    markup = keyboard(forget_buttons(nonce, context.lang))
    await reply(update.effective_message, t("forget.confirm", context.lang), reply_markup=markup)


async def on_forget_ask(update: Update, context: CareContext) -> None:
    """The settings menu's 'erase my data': ask, as /forget does."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        callbacks.parse(query.data, "forget", "ask")
        nonce = await context.care.customers.ask_forget(user.id)
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    markup = keyboard(forget_buttons(nonce, context.lang))
    await reply(update.effective_message, t("forget.confirm", context.lang), reply_markup=markup)


async def on_forget_confirm(update: Update, context: CareContext) -> None:
    """Erase on a fresh 'yes'; a stale or reused one asks again; a second tap does nothing."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    lang = context.lang
    try:
        (nonce,) = callbacks.parse(query.data, "forget", "confirm", NONCE)
        require_text_message(query)
        outcome = await context.care.customers.confirm_forget(user.id, int(nonce))
    except CareError as exc:
        await answer_error(query, exc, lang)
        return
    await query.answer()
    if outcome.erased:
        await edit_quietly(query, t("forget.done", lang))
    elif outcome.nonce is not None:
        await edit_quietly(
            query, t("forget.confirm", lang), keyboard(forget_buttons(outcome.nonce, lang))
        )


async def on_forget_cancel(update: Update, context: CareContext) -> None:
    """'No': nothing is erased; the buttons go."""
    query = update.callback_query
    if query is None:
        return
    try:
        callbacks.parse(query.data, "forget", "cancel")
        require_text_message(query)
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    await edit_quietly(query, t("forget.cancelled", context.lang))


def _is_menu_here(data: object) -> bool:
    """Whether a button is one of this module's main-menu entries (ask, settings)."""
    return isinstance(data, str) and _menu_entry(data) != ""


def _menu_entry(data: str) -> str:
    try:
        return str(callbacks.parse(data, "menu", "open", MENU_HERE)[0])
    except CareError:
        return ""


async def on_menu_button(update: Update, context: CareContext) -> None:
    """Open the 'ask a question' or 'settings' entry of the main menu."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    if _menu_entry(query.data or "") == "ask":
        await query.answer()
        await reply(update.effective_message, t("menu.ask_prompt", context.lang))
        return
    try:
        preferences = await context.care.customers.preferences(user.id)
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    text, rows = settings_menu(preferences)
    await reply(update.effective_message, text, reply_markup=keyboard(rows))


async def on_settings_button(update: Update, context: CareContext) -> None:
    """Apply a settings change and redraw the settings message (a repeat changes nothing)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    customers = context.care.customers
    try:
        require_text_message(query)
        if callbacks.verb_of(query.data) == "language":
            (lang,) = callbacks.parse(query.data, "settings", "language", Choice(*LANGUAGES))
            preferences = await customers.set_language(user.id, str(lang))
            context.remember_lang(preferences.language)
        else:
            (value,) = callbacks.parse(
                query.data, "settings", "outreach", Choice("stop", "resume")
            )
            preferences = await customers.set_opted_out(user.id, value == "stop")
    except CareError as exc:
        await answer_error(query, exc, context.lang)
        return
    await query.answer()
    text, rows = settings_menu(preferences)
    await edit_quietly(query, text, keyboard(rows))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers, in the order they must be tried."""
    return [
        CommandHandler("start", cmd_start),
        CommandHandler("help", cmd_help),
        CommandHandler("language", cmd_language),
        CommandHandler("timezone", cmd_timezone),
        CommandHandler("stop", cmd_stop),
        CommandHandler("resume", cmd_resume),
        CommandHandler("forget", cmd_forget),
        CallbackQueryHandler(on_forget_ask, pattern=callbacks.pattern("forget", "ask")),
        CallbackQueryHandler(on_forget_confirm, pattern=callbacks.pattern("forget", "confirm")),
        CallbackQueryHandler(on_forget_cancel, pattern=callbacks.pattern("forget", "cancel")),
        CallbackQueryHandler(on_menu_button, pattern=_is_menu_here),
        CallbackQueryHandler(
            on_settings_button, pattern=callbacks.pattern("settings", "language", "outreach")
        ),
    ]
