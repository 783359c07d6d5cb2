"""Tiers and points: which tier points earned in 12 months reach, and what a purchase earns."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from care.settings import LoyaltySettings, TierSettings

TIER_WINDOW_MONTHS = 12
MIN_USUAL = 3  # fewer purchases than this say nothing about what is usual


@dataclass(frozen=True, slots=True)
class Standing:
    """Balance and tier: what a customer and the counter want to know first."""

    balance: int
    earned_12m: int
    tier: str
    next_tier: str | None
    missing: int  # points to earn for the next tier (0 at the top)


def tier_for(settings: LoyaltySettings, earned_12m: int) -> TierSettings:
    """The highest tier whose threshold the points earned in 12 months reach."""
    reached = [tier for tier in settings.tiers if tier.threshold <= earned_12m]
    return reached[-1]


def points_for(settings: LoyaltySettings, amount_cents: int, tier: TierSettings) -> int:
    """Points for a purchase: amount × points_per_unit × tier multiplier, rounded down."""
    rate = Decimal(str(settings.points_per_unit)) * Decimal(str(tier.multiplier))
    points = (Decimal(amount_cents) * rate / 100).to_integral_value(rounding=ROUND_FLOOR)
    return int(points)


def standing(settings: LoyaltySettings, balance: int, earned: int) -> Standing:
    """The standing for a balance and the points earned in the tier window."""
    tier = tier_for(settings, earned)
    above = [t for t in settings.tiers if t.threshold > earned]
    nxt = above[0] if above else None
    return Standing(
        balance=balance,
        earned_12m=earned,
        tier=tier.name,
        next_tier=nxt.name if nxt else None,
        missing=nxt.threshold - earned if nxt else 0,
    )


def confirmation_threshold(settings: LoyaltySettings, usual: list[int]) -> int | None:
    """Above how many cents an earn asks for confirmation, given recent amounts; None: never."""
    if settings.confirm_above_times == 0 or len(usual) < MIN_USUAL:
        return None
    floor = round(settings.confirm_min_amount * 100)
    return max(floor, int(median(usual) * settings.confirm_above_times))


def median(values: list[int]) -> int:
    """The middle value (the mean of the two middle ones, rounded down, for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) // 2
