"""Customers: first contact, language, outreach opt-out and the right to be forgotten."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import aiosqlite

from care.callbacks import MAX_ID
from care.clock import Clock, iso, parse_iso
from care.erasure import Erasure, erase_customer, export_customer
from care.errors import InvalidArgument, NotRegistered, UnknownCustomer
from care.phones import normalise_phone, region_for, stored_forms
from care.settings import LANGUAGES, LocaleSettings
from storage import customers as repo
from storage import outreach as outreach_repo
from storage.customers import CustomerRow
from storage.db import Database, Writes, ride_along
from storage.errors import DuplicateKey

# No 0/O, 1/I/L: the code is read aloud and typed at the counter.
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is a visit, not a heartbeat
# The bot's status in a customer's private chat (my_chat_member) -> whether we can write there.
MEMBER_STATUSES = {"member": True, "kicked": False}
MEMBER_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MEMBER_CODE_LENGTH = 6


FORGET_CONFIRM_WITHIN = timedelta(minutes=5)  # an older "yes, erase" button asks again


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a customer has chosen: language, time zone (theirs or the shop's), outreach."""

    language: str
    zone: str
    opted_out: bool
    changed: bool = False


@dataclass(frozen=True, slots=True)
class Forget:
    """The outcome of a /forget confirmation: erased, asked again (`nonce`), or already gone."""

    erased: bool
    nonce: int | None = None
    gone: bool = False


@dataclass(frozen=True, slots=True)
class Registration:
    """The result of /start: the customer, whether they are new, and the shop's name."""

    customer: CustomerRow
    created: bool
    business: str = ""


def language_from_code(language_code: str | None, default: str) -> str:
    """Map Telegram's language_code ('zh-hans', 'en-GB') to a supported language."""
    if language_code:
        prefix = language_code.split("-")[0].lower()
        if prefix in LANGUAGES:
            return prefix
    return default


# Cities as Chinese customers write them (IANA names only the zone's main city, in English).
_CHINESE_CITIES = {
    "Asia/Shanghai": "上海 北京 广州 深圳 成都 重庆 杭州 南京 武汉 西安 天津 苏州 长沙 郑州 青岛"
    " 沈阳 大连 厦门 福州 济南 合肥 昆明 哈尔滨 长春 宁波 无锡 东莞 佛山 珠海 南宁 贵阳 太原"
    " 石家庄 南昌 兰州 海口 三亚 呼和浩特 银川 西宁 拉萨 中国",
    "Asia/Urumqi": "乌鲁木齐",
    "Asia/Hong_Kong": "香港",
    "Asia/Macau": "澳门",
    "Asia/Taipei": "台北 台中 高雄 台湾 臺北 臺灣",
    "Asia/Singapore": "新加坡",
    "Asia/Kuala_Lumpur": "吉隆坡 马来西亚",
    "Asia/Tokyo": "东京 大阪 京都 日本 東京",
    "Asia/Seoul": "首尔 韩国",
    "Asia/Bangkok": "曼谷 泰国",
    "Asia/Dubai": "迪拜",
    "Europe/London": "伦敦 英国 倫敦",
    "Europe/Paris": "巴黎 法国",
    "Europe/Berlin": "柏林 德国",
    "Europe/Madrid": "马德里",
    "Europe/Rome": "罗马",
    "Europe/Amsterdam": "阿姆斯特丹",
    "Europe/Moscow": "莫斯科",
    "America/New_York": "纽约 波士顿 华盛顿 紐約",
    "America/Toronto": "多伦多",
    "America/Vancouver": "温哥华",
    "America/Chicago": "芝加哥",
    "America/Los_Angeles": "洛杉矶 旧金山 西雅图",
    "Australia/Sydney": "悉尼 雪梨",
    "Australia/Melbourne": "墨尔本",
    "Pacific/Auckland": "奥克兰 新西兰",
}
_CHINESE_CITY_ZONES = {
    city: zone for zone, cities in _CHINESE_CITIES.items() for city in cities.split()
}


def find_zone(name: str) -> str | None:
    """The IANA zone for 'Europe/Paris', 'europe/paris' or a city: 'Shanghai', '上海', '上海市'."""
    chinese = unicodedata.normalize("NFKC", name).strip().removesuffix("市")
    if chinese in _CHINESE_CITY_ZONES:
        return _CHINESE_CITY_ZONES[chinese]
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

    def __init__(
        self, db: Database, clock: Clock, locale: LocaleSettings, business_name: str = ""
    ) -> None:
        self._db, self._clock, self._locale = db, clock, locale
        self._business = business_name

    async def register(
        self, telegram_id: int, username: str | None, name: str | None, language_code: str | None
    ) -> Registration:
        """Create the customer on first contact; later calls only refresh who they are."""
        now = iso(self._clock.now())
        async with self._db.transaction() as tx:
            existing = await repo.find_by_telegram_id(tx, telegram_id)
            if existing is not None:
                await repo.touch(tx, existing.id, username=username, name=name, at=now)
                return Registration(await repo.get(tx, existing.id), False, self._business)
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
                    return Registration(row, True, self._business)
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

        async def touch(tx: Writes) -> None:
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

    async def set_language(self, telegram_id: int, language: str | None = None) -> Preferences:
        """Store the customer's language; None switches between English and Chinese."""
        if language is not None and language not in LANGUAGES:
            raise InvalidArgument(f"unsupported language {language}", usage="usage.language")
        async with self._db.transaction() as tx:
            customer = await self._require(tx, telegram_id)
            wanted = language or ("zh" if customer.language == "en" else "en")
            if wanted != customer.language:
                await repo.set_language(tx, customer.id, wanted)
            return self._preferences(await repo.get(tx, customer.id))

    async def timezone(self, telegram_id: int, name: str | None = None) -> Preferences:
        """The customer's preferences; with `name` (an IANA zone or a city) the zone is set."""
        zone = None
        if name is not None:
            zone = find_zone(name)
            if zone is None:
                raise InvalidArgument(f"unknown time zone {name}", usage="usage.timezone")
        async with self._db.transaction() as tx:
            customer = await self._require(tx, telegram_id)
            if zone is not None and zone != customer.timezone:
                await repo.set_timezone(tx, customer.id, zone)
                customer = await repo.get(tx, customer.id)
            return self._preferences(customer)

    async def preferences(self, telegram_id: int) -> Preferences:
        """What the settings menu shows; NotRegistered if they never pressed /start."""
        async with self._db.read() as tx:
            return self._preferences(await self._require(tx, telegram_id))

    async def set_opted_out(self, telegram_id: int, opted_out: bool) -> Preferences:
        """Stop (True) or resume (False) outreach; `changed` is False if it already was so.
        Resuming also undoes every per-kind mute and a campaign's "stop these"."""
        async with self._db.transaction() as tx:
            customer = await self._require(tx, telegram_id)
            unmuted = 0 if opted_out else await outreach_repo.clear_optouts(tx, customer.id)
            if customer.opted_out == opted_out and not unmuted:
                return self._preferences(customer)
            await repo.set_opted_out(tx, customer.id, opted_out)
            return self._preferences(await repo.get(tx, customer.id), changed=True)

    async def membership_changed(self, telegram_id: int, status: str) -> bool | None:
        """Telegram's my_chat_member in the customer's private chat: 'kicked' (they blocked the
        bot) makes them unreachable at once, 'member' (unblocked, restarted) reachable again.
        Returns whether they are reachable now; None for an unknown person or another status."""
        if status not in MEMBER_STATUSES:
            return None
        reachable = MEMBER_STATUSES[status]
        async with self._db.transaction() as tx:
            customer = await repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                return None
            if customer.reachable != reachable:
                await repo.set_reachable(tx, customer.id, reachable)
        return reachable

    async def ask_forget(self, telegram_id: int) -> int:
        """Start a /forget: the nonce its confirmation button carries (newest ask only)."""
        async with self._db.transaction() as tx:
            customer = await self._require(tx, telegram_id)
            nonce = secrets.randbelow(MAX_ID) + 1
            await repo.ask_forget(tx, customer.id, nonce, iso(self._clock.now()))
        return nonce

    async def confirm_forget(self, telegram_id: int, nonce: int) -> Forget:
        """Erase the customer's personal data if `nonce` is their newest, unused, recent ask.

        Every table loses what identifies them (care/erasure.py); ledger and tickets stay. A
        stale or reused button asks again (a new nonce); a customer already forgotten (a second
        tap) gets `gone`, nothing changes.
        """
        now = self._clock.now()
        async with self._db.transaction() as tx:
            customer = await repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                return Forget(erased=False, gone=True)
            asked = await repo.take_forget(tx, customer.id, nonce)
            if asked is None or now - parse_iso(asked) > FORGET_CONFIRM_WITHIN:
                fresh = secrets.randbelow(MAX_ID) + 1
                await repo.ask_forget(tx, customer.id, fresh, iso(now))
                return Forget(erased=False, nonce=fresh)
            await erase_customer(tx, customer, iso(now), action="forget", new_code=new_member_code)
        return Forget(erased=True)

    async def erase(self, reference: str) -> Erasure:
        """`carebot customers erase`: the customer's personal data out of every table, as
        /forget does, in one transaction; UnknownCustomer if none (or already erased)."""
        async with self._db.transaction() as tx:
            customer = await find_customer(tx, reference, region_for(self._locale))
            return await erase_customer(
                tx,
                customer,
                iso(self._clock.now()),
                action="customers.erase",
                new_code=new_member_code,
            )

    async def export_one(self, reference: str) -> dict[str, Any]:
        """`carebot customers export-one`: everything stored about the customer, by table."""
        async with self._db.read() as tx:
            customer = await find_customer(tx, reference, region_for(self._locale))
            return await export_customer(tx, customer)

    async def resolve(self, reference: str) -> CustomerRow:
        """Find a customer by member code, @username, Telegram id or phone number."""
        async with self._db.read() as tx:
            return await find_customer(tx, reference, region_for(self._locale))

    def _preferences(self, customer: CustomerRow, *, changed: bool = False) -> Preferences:
        zone = customer.timezone or self._locale.timezone
        return Preferences(customer.language, zone, customer.opted_out, changed)

    @staticmethod
    async def _require(tx: aiosqlite.Connection, telegram_id: int) -> CustomerRow:
        found = await repo.find_by_telegram_id(tx, telegram_id)
        if found is None:
            raise NotRegistered(telegram_id)
        return found
