"""Customers: first contact, language, outreach opt-out and the right to be forgotten."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from zoneinfo import available_timezones

import aiosqlite

from care.clock import Clock, iso, parse_iso
from care.errors import InvalidArgument, NotRegistered, UnknownCustomer
from care.phones import normalise_phone, region_for, stored_forms
from care.settings import LANGUAGES, LocaleSettings
from storage import customers as repo
from storage.customers import CustomerRow
from storage.db import Database, ride_along
from storage.errors import DuplicateKey

# No 0/O, 1/I/L: the code is read aloud and typed at the counter.
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is a visit, not a heartbeat
MEMBER_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MEMBER_CODE_LENGTH = 6


@dataclass(frozen=True, slots=True)
class Registration:
    """The result of /start: the customer and whether they are new."""

    customer: CustomerRow
    created: bool


def language_from_code(language_code: str | None, default: str) -> str:
    """Map Telegram's language_code ('zh-hans', 'en-GB') to a supported language."""
    if language_code:
        prefix = language_code.split("-")[0].lower()
        if prefix in LANGUAGES:
            return prefix
    return default


def find_zone(name: str) -> str | None:
    """The IANA zone for 'Europe/Paris', 'europe/paris' or a city such as 'Shanghai'; else None."""
    wanted = name.strip().replace(" ", "_").lower()
    if not wanted or len(wanted) > 64:
        return None
    zones = _zones()
    exact = [zone for zone in zones if zone.lower() == wanted]
    cities = [zone for zone in zones if "/" not in wanted and zone.lower().endswith("/" + wanted)]
    found = exact or cities
    return found[0] if found else None


@cache
def _zones() -> tuple[str, ...]:
    """Every IANA zone name, read once (it walks the zone database)."""
    return tuple(sorted(available_timezones()))


def new_member_code() -> str:
    """A random member code without look-alike characters."""
    return "".join(secrets.choice(MEMBER_CODE_ALPHABET) for _ in range(MEMBER_CODE_LENGTH))


async def find_customer(tx: aiosqlite.Connection, reference: str, region: str) -> CustomerRow:
    """The customer a member code, @username, Telegram id or phone names (in a use case's
    transaction); national phone numbers are read in `region`; else UnknownCustomer."""
    ref = reference.strip()
    if not ref:
        raise UnknownCustomer(reference)
    found: CustomerRow | None = None
    if ref.startswith("@"):
        found = await repo.find_by_username(tx, ref[1:])
    elif ref.isdecimal() and len(ref) < 16:
        found = await repo.find_by_telegram_id(tx, int(ref))
    if found is None:
        found = await repo.find_by_member_code(tx, ref.upper())
    if found is None and any(ch.isdecimal() for ch in ref):
        found = await find_by_phone(tx, ref, region)
    if found is None or found.forgotten_at is not None:
        raise UnknownCustomer(reference)
    return found


async def find_by_phone(tx: aiosqlite.Connection, phone: str, region: str) -> CustomerRow | None:
    """The customer with this number in any form it may be stored in; None if none."""
    try:
        e164 = normalise_phone(phone, region)
    except InvalidArgument:
        return None
    for form in stored_forms(e164, region):
        found = await repo.find_by_phone(tx, form)
        if found is not None:
            return found
    return None


class CustomerService:
    """Registers customers and keeps their preferences."""

    def __init__(self, db: Database, clock: Clock, locale: LocaleSettings) -> None:
        self._db, self._clock, self._locale = db, clock, locale

    async def register(
        self, telegram_id: int, username: str | None, name: str | None, language_code: str | None
    ) -> Registration:
        """Create the customer on first contact; later calls only refresh who they are."""
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            existing = await repo.find_by_telegram_id(tx, telegram_id)
            if existing is not None:
                await repo.touch(tx, existing.id, username=username, name=name, at=now)
                return Registration(await repo.get(tx, existing.id), created=False)
            language = language_from_code(language_code, self._locale.default_language)
            for _ in range(10):  # a collision among 31^6 codes is rare; retry a few times
                try:
                    row = await repo.add(
                        tx,
                        telegram_id=telegram_id,
                        username=username,
                        name=name,
                        language=language,
                        member_code=new_member_code(),
                        at=now,
                    )
                    return Registration(row, created=True)
                except DuplicateKey as exc:
                    if "member_code" not in exc.key:
                        raise
            raise RuntimeError("could not allocate a unique member code")

    async def seen(
        self, telegram_id: int, *, username: str | None, name: str | None
    ) -> CustomerRow | None:
        """A known customer wrote: return them (None if unknown), noting the visit cheaply.

        Reads first; writes only when the name, username or reachability changed or the last
        visit is a minute old, and then rides along with the update's own transaction.
        """
        now = self._clock.now()
        async with self._db.statement() as conn:
            existing = await repo.find_by_telegram_id(conn, telegram_id)
        if existing is None:
            return None
        fresh = existing.last_seen_at is not None and parse_iso(existing.last_seen_at) > (
            now - SEEN_EVERY
        )
        unchanged = existing.username == username and (name is None or existing.name == name)
        if fresh and unchanged and existing.reachable:
            return existing
        at = iso(now)

        async def touch(tx: aiosqlite.Connection) -> None:
            await repo.touch(tx, existing.id, username=username, name=name, at=at)

        if not ride_along(touch):
            async with self._db.transaction() as tx:
                await touch(tx)
        return existing

    async def find(self, telegram_id: int) -> CustomerRow | None:
        """The customer with this Telegram id, or None."""
        async with self._db.read() as tx:
            return await repo.find_by_telegram_id(tx, telegram_id)

    async def require(self, telegram_id: int) -> CustomerRow:
        """The customer with this Telegram id; UnknownCustomer if they never pressed /start."""
        found = await self.find(telegram_id)
        if found is None:
            raise NotRegistered(telegram_id)
        return found

    async def set_language(self, telegram_id: int, language: str) -> CustomerRow:
        """Store the customer's language."""
        if language not in LANGUAGES:
            raise InvalidArgument(f"unsupported language {language}", usage="usage.language")
        async with self._db.transaction() as tx:
            customer = await self._require(tx, telegram_id)
            await repo.set_language(tx, customer.id, language)
            return await repo.get(tx, customer.id)

    async def set_timezone(self, telegram_id: int, name: str) -> CustomerRow:
        """Store the customer's time zone (an IANA name such as Europe/London, or a known city)."""
        zone = find_zone(name)
        if zone is None:
            raise InvalidArgument(f"unknown time zone {name}", usage="usage.timezone")
        async with self._db.transaction() as tx:
            customer = await self._require(tx, telegram_id)
            await repo.set_timezone(tx, customer.id, zone)
            return await repo.get(tx, customer.id)

    def zone_of(self, customer: CustomerRow) -> str:
        """The time zone the customer's messages are timed in."""
        return customer.timezone or self._locale.timezone

    async def toggle_language(self, telegram_id: int) -> CustomerRow:
        """Switch between English and Chinese."""
        customer = await self.require(telegram_id)
        return await self.set_language(telegram_id, "zh" if customer.language == "en" else "en")

    async def set_opted_out(self, telegram_id: int, opted_out: bool) -> CustomerRow:
        """Stop (True) or resume (False) outreach for the customer."""
        async with self._db.transaction() as tx:
            customer = await self._require(tx, telegram_id)
            await repo.set_opted_out(tx, customer.id, opted_out)
            return await repo.get(tx, customer.id)

    async def forget(self, telegram_id: int) -> CustomerRow:
        """Erase the customer's personal data; ledger and tickets stay, unlinked from them."""
        async with self._db.transaction() as tx:
            customer = await self._require(tx, telegram_id)
            await repo.erase_personal_data(tx, customer.id, iso(self._clock.now()))
            return await repo.get(tx, customer.id)

    async def mark_unreachable(self, customer_id: int) -> None:
        """Record that Telegram refused delivery (blocked or deactivated)."""
        async with self._db.transaction() as tx:
            await repo.set_reachable(tx, customer_id, False)

    async def resolve(self, reference: str) -> CustomerRow:
        """Find a customer by member code, @username, Telegram id or phone number."""
        async with self._db.read() as tx:
            return await find_customer(tx, reference, region_for(self._locale))

    @staticmethod
    async def _require(tx: aiosqlite.Connection, telegram_id: int) -> CustomerRow:
        found = await repo.find_by_telegram_id(tx, telegram_id)
        if found is None:
            raise NotRegistered(telegram_id)
        return found
