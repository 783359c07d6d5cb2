"""What every incoming update needs before its feature: who wrote, in which language, and
whether the text is too long to accept."""

from __future__ import annotations

from dataclasses import dataclass

from care.customers import CustomerService, language_from_code
from care.roles import Role
from care.settings import BusinessSettings, LocaleSettings
from care.staff import StaffService

TELEGRAM_TEXT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Arrival:
    """The caller's language, and the limit their text broke (None when it is acceptable)."""

    lang: str
    too_long: int | None = None


class Arrivals:
    """Reads before it writes: a known customer's visit is noted at most once a minute."""

    def __init__(
        self,
        customers: CustomerService,
        staff: StaffService,
        locale: LocaleSettings,
        business: BusinessSettings,
    ) -> None:
        self._customers, self._staff = customers, staff
        self._locale, self._business = locale, business

    async def arrive(
        self,
        telegram_id: int | None,
        *,
        username: str | None = None,
        name: str | None = None,
        language_code: str | None = None,
        text_length: int = 0,
    ) -> Arrival:
        """The caller's stored language (else Telegram's, else the default) and the length
        verdict: customers are held to `[business] max_text_length`, staff only to Telegram's."""
        lang = language_from_code(language_code, self._locale.default_language)
        if telegram_id is not None:
            customer = await self._customers.seen(telegram_id, username=username, name=name)
            if customer is not None:
                lang = customer.language
        limit = self._business.max_text_length
        if text_length <= limit:
            return Arrival(lang)
        if telegram_id is not None and await self._staff.role_of(telegram_id) >= Role.STAFF:
            limit = TELEGRAM_TEXT_LIMIT
        return Arrival(lang, limit if text_length > limit else None)
