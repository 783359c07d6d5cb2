"""The typed callback context: handlers get `context.care` and `context.lang` without casts."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from care.services import CareServices

LANG_KEY = "lang"


class BotData:
    """Application-wide state: the care services, set in post_init."""

    __slots__ = ("care",)

    def __init__(self) -> None:
        self.care: CareServices | None = None


class CareContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with the domain services and the caller's language."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def care(self) -> CareServices:
        """The domain services."""
        care = self.bot_data.care
        if care is None:
            raise RuntimeError("care services are not ready (post_init has not run)")
        return care

    @property
    def lang(self) -> str:
        """The caller's language: stored, else Telegram's, else the configured default."""
        if self.user_data is not None and LANG_KEY in self.user_data:
            return str(self.user_data[LANG_KEY])
        return self.care.settings.locale.default_language

    def remember_lang(self, lang: str) -> None:
        """Keep the caller's language for the rest of this update and the next ones."""
        if self.user_data is not None:
            self.user_data[LANG_KEY] = lang
