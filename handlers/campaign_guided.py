"""The guided /campaign (managers and owners): a segment, the en and/or zh text, an optional photo
and button, now or a local time; then the same preview, send and cancel buttons as the one-line
/campaign new.

The draft lives in the conversation's user_data; nothing is written until the last step, whose one
care call creates the draft campaign and its preview (and checks the role again).
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from care import callbacks
from care.callbacks import Number
from care.campaigns.service import FEATURE
from care.campaigns.spec import MAX_TEXT, BadCampaign, CampaignSpec, check_button, parse_local_at
from care.errors import CareError, ExpiredButton, NotStaff
from handlers.campaigns import preview_buttons, preview_text
from handlers.common import error_text, keyboard, remove_buttons, reply
from handlers.context import CareContext
from handlers.texts import t

DRAFT_KEY = "campaign_draft"
# A guided /campaign left alone this long ends without saving anything.
GUIDED_TIMEOUT = timedelta(minutes=15)
MAX_CHOICES = 20  # segment buttons shown; any saved segment can still be typed by name
END = ConversationHandler.END


class Step(IntEnum):
    """Steps of the guided /campaign."""

    SEGMENT = 0
    EN = 1
    ZH = 2
    PHOTO = 3
    BUTTON = 4
    WHEN = 5


def _draft(context: CareContext) -> dict[str, Any]:
    assert context.user_data is not None
    return context.user_data.setdefault(DRAFT_KEY, {"choices": [], "texts": {}})


def _buttons(lang: str, *verbs: str) -> InlineKeyboardMarkup:
    """One row of this flow's buttons (skip, card, now), labelled in the caller's language."""
    return keyboard([[(t(f"campaigns.guided_{v}_button", lang), callbacks.build(FEATURE, v))
                      for v in verbs]])  # fmt: skip


async def _pressed(update: Update, verb: str) -> bool:
    """Whether the update is this flow's `verb` button: answered, and its keyboard taken away."""
    query = update.callback_query
    if query is None or callbacks.verb_of(query.data) != verb:
        return False
    callbacks.parse(query.data, FEATURE, verb)
    await query.answer()
    await remove_buttons(query)
    return True


async def guided_start(update: Update, context: CareContext) -> int:
    """/campaign alone: the role checked (managers and owners), then the segments to pick."""
    user, lang = update.effective_user, context.lang
    if user is None or context.user_data is None:
        return END
    try:
        names = await context.care.campaigns.segment_choices(user.id)
    except NotStaff as exc:  # audited by the service
        await reply(update.effective_message, error_text(exc, lang))
        return END
    context.user_data[DRAFT_KEY] = {"choices": names, "texts": {}}
    rows = [[(name, callbacks.build(FEATURE, "pick", i))] for i, name in
            enumerate(names[:MAX_CHOICES])]  # fmt: skip
    key = "campaigns.guided_segment" if names else "campaigns.guided_no_segments"
    await reply(update.effective_message, t(key, lang), reply_markup=keyboard(rows))
    return Step.SEGMENT


async def on_pick(update: Update, context: CareContext) -> int:
    """A saved segment's button."""
    query = update.callback_query
    assert query is not None
    (index,) = callbacks.parse(query.data, FEATURE, "pick", Number(0, MAX_CHOICES - 1))
    choices = _draft(context)["choices"]
    if int(index) >= len(choices):
        raise ExpiredButton()
    await query.answer()
    await remove_buttons(query)
    return await _segment_chosen(update, context, choices[int(index)])


async def on_segment_text(update: Update, context: CareContext) -> int:
    """A typed segment name or filter; a filter that cannot be read is named and asked again."""
    text = " ".join((update.effective_message.text or "").split())  # type: ignore[union-attr]
    if text not in _draft(context)["choices"]:
        try:
            context.care.segments.parse(text)
        except CareError as exc:
            await reply(update.effective_message, error_text(exc, context.lang))
            return Step.SEGMENT
    return await _segment_chosen(update, context, text)


async def _segment_chosen(update: Update, context: CareContext, segment: str) -> int:
    _draft(context)["segment"] = segment
    text = t("campaigns.guided_en", context.lang, segment=segment, max=MAX_TEXT)
    await reply(update.effective_message, text, reply_markup=_buttons(context.lang, "skip"))
    return Step.EN


async def on_en(update: Update, context: CareContext) -> int:
    """The English text, or skip; then ask for the Chinese one."""
    if not await _took_text(update, context, "en"):
        return Step.EN
    await reply(update.effective_message, t("campaigns.guided_zh", context.lang, max=MAX_TEXT),
                reply_markup=_buttons(context.lang, "skip"))  # fmt: skip
    return Step.ZH


async def on_zh(update: Update, context: CareContext) -> int:
    """The Chinese text, or skip (unless there is no English text); then ask for a photo."""
    if not await _took_text(update, context, "zh"):
        return Step.ZH
    if not _draft(context)["texts"]:
        await reply(update.effective_message, t("campaigns.guided_need_text", context.lang))
        return Step.ZH
    await reply(update.effective_message, t("campaigns.guided_photo", context.lang),
                reply_markup=_buttons(context.lang, "skip"))  # fmt: skip
    return Step.PHOTO


async def _took_text(update: Update, context: CareContext, code: str) -> bool:
    """Keep a text for language `code` (a skip keeps none); False if it is too long."""
    if await _pressed(update, "skip"):
        return True
    text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    if text.startswith("/skip"):
        return True
    if len(text) > MAX_TEXT:
        too_long = t("campaigns.guided_too_long", context.lang, length=len(text), max=MAX_TEXT)
        await reply(update.effective_message, too_long)
        return False
    _draft(context)["texts"][code] = text
    return True


async def on_photo(update: Update, context: CareContext) -> int:
    """A photo to send with the text, or skip; then ask for the button."""
    message = update.effective_message
    if not await _pressed(update, "skip") and message is not None and message.photo:
        _draft(context)["photo"] = message.photo[-1].file_id  # the largest size
    await reply(message, t("campaigns.guided_button", context.lang),
                reply_markup=_buttons(context.lang, "card", "skip"))  # fmt: skip
    return Step.BUTTON


async def on_not_a_photo(update: Update, context: CareContext) -> int:
    """Something other than a photo at the photo step: ask again."""
    await reply(update.effective_message, t("campaigns.guided_photo", context.lang),
                reply_markup=_buttons(context.lang, "skip"))  # fmt: skip
    return Step.PHOTO


async def on_button(update: Update, context: CareContext) -> int:
    """ "Show my card", a typed https link, or no button; then ask when."""
    if await _pressed(update, "card"):
        _draft(context)["button"] = "card"
    elif update.callback_query is None:
        text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
        if not text.startswith("/skip"):
            try:
                _draft(context)["button"] = check_button(text)
            except BadCampaign as exc:
                await reply(update.effective_message, error_text(exc, context.lang),
                            reply_markup=_buttons(context.lang, "card", "skip"))  # fmt: skip
                return Step.BUTTON
    else:
        await _pressed(update, "skip")
    await reply(update.effective_message, t("campaigns.guided_when", context.lang),
                reply_markup=_buttons(context.lang, "now"))  # fmt: skip
    return Step.WHEN


async def on_when(update: Update, context: CareContext) -> int:
    """Now, or a typed local time; then the draft, its preview and the send/cancel buttons."""
    user, message, lang = update.effective_user, update.effective_message, context.lang
    at = None
    if not await _pressed(update, "now"):
        try:
            at = parse_local_at((message.text or "") if message else "")
        except BadCampaign as exc:
            await reply(message, error_text(exc, lang), reply_markup=_buttons(lang, "now"))
            return Step.WHEN
    draft = context.user_data.pop(DRAFT_KEY, {}) if context.user_data is not None else {}
    segment = draft.get("segment", "")
    spec = CampaignSpec(segment, segment, dict(draft.get("texts", {})), at,
                        draft.get("photo"), draft.get("button"))  # fmt: skip
    try:
        preview = await context.care.campaigns.create_guided(user.id, spec)  # type: ignore[union-attr]
    except CareError as exc:  # audited; the draft is gone either way
        await reply(message, error_text(exc, lang) + "\n" + t("campaigns.guided_cancelled", lang))
        return END
    await reply(message, preview_text(preview, lang), reply_markup=preview_buttons(preview, lang))
    return END


async def on_cancel(update: Update, context: CareContext) -> int:
    """/cancel: leave the guided /campaign; nothing was written."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    await reply(update.effective_message, t("campaigns.guided_cancelled", context.lang))
    return END


async def on_timeout(update: Update, context: CareContext) -> None:
    """The guided /campaign waited GUIDED_TIMEOUT: drop the draft and say so."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    minutes = max(1, round(GUIDED_TIMEOUT.total_seconds() / 60))
    await reply(update.effective_message, t("campaigns.guided_timed_out", context.lang,
                                            minutes=minutes))  # fmt: skip


def guided_handler() -> ConversationHandler[Any]:
    """The guided /campaign: /campaign with no arguments (registered before the one-line form)."""
    text = filters.TEXT & ~filters.COMMAND

    def button(callback: Any, *verbs: str) -> CallbackQueryHandler[Any, Any]:
        return CallbackQueryHandler(callback, pattern=callbacks.pattern(FEATURE, *verbs))

    states: dict[object, list[BaseHandler[Any, Any, Any]]] = {
        Step.SEGMENT: [button(on_pick, "pick"), MessageHandler(text, on_segment_text)],
        Step.EN: [
            button(on_en, "skip"),
            MessageHandler(text, on_en),
            CommandHandler("skip", on_en),
        ],
        Step.ZH: [
            button(on_zh, "skip"),
            MessageHandler(text, on_zh),
            CommandHandler("skip", on_zh),
        ],
        Step.PHOTO: [
            button(on_photo, "skip"),
            MessageHandler(filters.PHOTO, on_photo),
            CommandHandler("skip", on_photo),
            MessageHandler(~filters.COMMAND, on_not_a_photo),
        ],
        Step.BUTTON: [
            button(on_button, "card", "skip"),
            MessageHandler(text, on_button),
            CommandHandler("skip", on_button),
        ],
        Step.WHEN: [button(on_when, "now"), MessageHandler(text, on_when)],
        ConversationHandler.TIMEOUT: [TypeHandler(Update, on_timeout)],
    }
    with warnings.catch_warnings():
        # per_message=False is right here (one flow per manager's chat, across messages); PTB
        # warns that CallbackQueryHandlers are then tracked per chat, which is what we want.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler(
                    "campaign", guided_start, filters=filters.Regex(r"^/campaign(@\w+)?\s*$")
                )
            ],
            states=states,
            fallbacks=[CommandHandler("cancel", on_cancel)],
            allow_reentry=True,
            per_message=False,
            name="campaign_guided",
            conversation_timeout=GUIDED_TIMEOUT,
        )


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [guided_handler()]
