"""Customers' first contact: /start and its menu, /help, /language, /stop, /resume, /forget."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from care.errors import UnknownCustomer
from care.roles import Role
from handlers.common import keyboard, reply
from handlers.context import CareContext
from handlers.texts import t
from storage.customers import CustomerRow

MENU_FEATURES = ("points", "ask", "feedback", "complaint", "settings")


def main_menu(lang: str) -> list[list[tuple[str, str]]]:
    """The main menu's buttons, two to a row."""
    buttons = [(t(f"menu.{feature}", lang), f"menu:open:{feature}") for feature in MENU_FEATURES]
    return [buttons[0:2], buttons[2:4], buttons[4:]]


def settings_menu(customer: CustomerRow) -> tuple[str, list[list[tuple[str, str]]]]:
    """The settings text and buttons for a customer."""
    lang = customer.language
    outreach = t("settings.outreach_off" if customer.opted_out else "settings.outreach_on", lang)
    toggle = (
        (t("settings.resume_button", lang), "settings:outreach:resume")
        if customer.opted_out
        else (t("settings.stop_button", lang), "settings:outreach:stop")
    )
    rows = [
        [(t("settings.language_button", lang), "settings:language:toggle")],
        [toggle],
        [(t("settings.forget_button", lang), "forget:ask:0")],
    ]
    return t("settings.title", lang, outreach=outreach), rows


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
    text = t(
        key,
        customer.language,
        name=user.first_name,
        business=context.care.settings.business.name,
    )
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
    if args:
        customer = await context.care.customers.set_language(user.id, args[0].lower())
    else:
        customer = await context.care.customers.toggle_language(user.id)
    context.remember_lang(customer.language)
    await reply(update.effective_message, t("language.changed", customer.language))


async def cmd_timezone(update: Update, context: CareContext) -> None:
    """Show the customer's time zone, or set it with /timezone <zone or city>."""
    user = update.effective_user
    if user is None:
        return
    args = context.args or []
    if args:
        customer = await context.care.customers.set_timezone(user.id, " ".join(args))
        key = "timezone.set"
    else:
        customer = await context.care.customers.require(user.id)
        key = "timezone.current"
    zone = context.care.customers.zone_of(customer)
    await reply(update.effective_message, t(key, context.lang, zone=zone))


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
    customer = await context.care.customers.find(user.id)
    if customer is None:
        await reply(update.effective_message, t("common.press_start", context.lang))
        return
    if customer.opted_out == opted_out:
        key = "stop.already" if opted_out else "resume.already"
    else:
        await context.care.customers.set_opted_out(user.id, opted_out)
        key = "stop.done" if opted_out else "resume.done"
    await reply(update.effective_message, t(key, context.lang))


async def cmd_forget(update: Update, context: CareContext) -> None:
    """Ask for confirmation before erasing the customer's personal data."""
    lang = context.lang
    buttons = [
        [(t("forget.yes", lang), "forget:confirm:0"), (t("forget.no", lang), "forget:cancel:0")]
    ]
    await reply(
        update.effective_message, t("forget.confirm", lang), reply_markup=keyboard(buttons)
    )


async def on_forget_button(update: Update, context: CareContext) -> None:
    """Erase the data on 'yes', do nothing on 'no'; either way remove the buttons."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    lang = context.lang
    verb = (query.data or "").split(":")[1]
    if verb == "ask":
        await cmd_forget(update, context)
        return
    if verb != "confirm":
        await query.edit_message_text(t("forget.cancelled", lang))
        return
    try:
        await context.care.customers.forget(user.id)
    except UnknownCustomer:
        await query.edit_message_text(t("common.press_start", lang))
        return
    await query.edit_message_text(t("forget.done", lang))


async def on_menu_button(update: Update, context: CareContext) -> None:
    """Open the 'ask a question' or 'settings' entry of the main menu."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    if (query.data or "").endswith(":settings"):
        await _show_settings(update, context)
    else:
        await reply(update.effective_message, t("menu.ask_prompt", context.lang))


async def on_settings_button(update: Update, context: CareContext) -> None:
    """Apply a settings change and redraw the settings message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    _, setting, value = (query.data or "::").split(":", 2)
    try:
        if setting == "language":
            customer = await context.care.customers.toggle_language(user.id)
            context.remember_lang(customer.language)
        elif setting == "outreach":
            await context.care.customers.set_opted_out(user.id, value == "stop")
    except UnknownCustomer:
        await query.edit_message_text(t("common.press_start", context.lang))
        return
    await _show_settings(update, context, edit=True)


async def _show_settings(update: Update, context: CareContext, *, edit: bool = False) -> None:
    user, query = update.effective_user, update.callback_query
    if user is None:
        return
    customer = await context.care.customers.find(user.id)
    if customer is None:
        await reply(update.effective_message, t("common.press_start", context.lang))
        return
    text, rows = settings_menu(customer)
    if edit and query is not None:
        await query.edit_message_text(text, reply_markup=keyboard(rows))
    else:
        await reply(update.effective_message, text, reply_markup=keyboard(rows))


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
        CallbackQueryHandler(on_forget_button, pattern=r"^forget:(ask|confirm|cancel):"),
        CallbackQueryHandler(on_menu_button, pattern=r"^menu:open:(ask|settings)$"),
        CallbackQueryHandler(on_settings_button, pattern=r"^settings:(language|outreach):"),
    ]
