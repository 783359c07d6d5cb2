"""Phone numbers in one form (E.164, '+447700900222'), read with the shop's region in mind.

`07700 900222`, `+44 7700 900222` and `447700900222` are the same number in the UK: staff type
the national form, imports carry either, and Telegram shares contacts as international digits
without the '+'. Everything is stored and looked up as E.164, so all of them find one customer.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from functools import cache
from pathlib import Path

import phonenumbers

from care.errors import InvalidArgument
from care.settings import LocaleSettings

FALLBACK_REGION = "GB"


def region_for(locale: LocaleSettings) -> str:
    """`[locale] phone_region`, else the country of `[locale] timezone`, else GB."""
    if locale.phone_region:
        return locale.phone_region.upper()
    return _zone_countries().get(locale.timezone, FALLBACK_REGION)


@cache
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country code, from the zone database's zone.tab (empty if missing)."""
    for folder in zoneinfo.TZPATH:
        table = Path(folder) / "zone.tab"
        try:
            lines = table.read_text("utf-8").splitlines()
        except OSError:
            continue
        countries: dict[str, str] = {}
        for line in lines:
            parts = line.split("\t")
            if len(parts) >= 3 and not line.startswith("#"):
                countries[parts[2]] = parts[0]
        return countries
    return {}


def normalise_phone(text: str, region: str) -> str:
    """The number in E.164 form; a national number is read in `region`; else InvalidArgument."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        raise InvalidArgument(f"not a phone number: {text}", usage="usage.phone") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidArgument(f"not a phone number: {text}", usage="usage.phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def telegram_phone(text: str, region: str) -> str:
    """A number Telegram shared (international digits, usually without '+'), in E.164."""
    digits = unicodedata.normalize("NFKC", text).strip()
    return normalise_phone(digits if digits.startswith("+") else f"+{digits}", region)


def stored_forms(e164: str, region: str) -> list[str]:
    """The forms a number may have been stored in before numbers were E.164 (most likely first)."""
    number = phonenumbers.parse(e164, region)
    national = f"{number.national_number}"
    prefix = phonenumbers.country_code_for_region(region)
    forms = [e164, e164.lstrip("+")]
    if number.country_code == prefix:
        written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        forms += [re.sub(r"\D", "", written), national]
    return list(dict.fromkeys(forms))
