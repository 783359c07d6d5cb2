"""A small shop with every kind of fact, written by hand so the report's numbers can be worked
out on paper (see tests/care/test_reports.py for the arithmetic)."""

from __future__ import annotations

from datetime import UTC, datetime

from care.reports.measures import Period
from storage.db import Database

# The fixture's week and the week before it (the FakeClock starts at the end: 11-22 10:00).
WEEK = Period(datetime(2026, 11, 15, 10, tzinfo=UTC), datetime(2026, 11, 22, 10, tzinfo=UTC))


def at(day: str, hour: int = 10) -> str:
    """A stored timestamp on a 2026 day ('11-16') at an hour, UTC."""
    return f"2026-{day}T{hour:02d}:00:00+00:00"


async def seed_shop(db: Database) -> None:
    """Four customers (Ann, Bob, Cy, Di), their stages, purchases, points, tickets, FAQ use and
    outreach."""
    async with db.transaction() as tx:
        customers = [
            # id, name, created, stage, last purchase, at risk at, lapsed at
            (1, "Ann", at("01-01"), "trust", at("11-20"), "2026-12-20", "2027-02-01"),
            (2, "Bob", at("06-01"), "engaged", at("10-01"), "2026-11-01", "2027-01-01"),
            (3, "Cy", at("03-01"), "engaged", at("05-01"), "2026-06-01", at("11-18")),
            (4, "Di", at("11-16"), "aware", None, None, None),
        ]
        for cid, name, created, stage, last, risk, lapsed in customers:
            await tx.execute(
                "INSERT INTO customers (id, telegram_id, name, stage, stage_since, member_code,"
                " created_at, last_purchase_at, at_risk_at, lapsed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, 1000 + cid, name, stage, created, f"M{cid}", created, last,
                 _moment(risk), _moment(lapsed)),
            )  # fmt: skip
        history = [
            (1, None, "engaged", at("02-01")),
            (1, "engaged", "understanding", at("05-01")),
            (1, "understanding", "trust", at("11-17")),
            (2, None, "engaged", at("06-05")),
            (3, None, "engaged", at("03-05")),
            (3, "engaged", "understanding", at("04-01")),
            (3, "understanding", "engaged", at("11-19")),
        ]
        await tx.executemany(
            "INSERT INTO stage_history (customer_id, from_stage, to_stage, reason, created_at)"
            " VALUES (?, ?, ?, 'rule: test', ?)",
            history,
        )
        purchases = [
            (1, 1000, at("08-01")),
            (1, 2000, at("11-16")),
            (1, 3000, at("11-20")),
            (2, 800, at("07-01")),
            (2, 1500, at("10-01")),
            (3, 700, at("05-01")),
        ]
        await tx.executemany(
            "INSERT INTO purchases (customer_id, amount_cents, created_at) VALUES (?, ?, ?)",
            purchases,
        )
        ledger = [
            (1, 1, 600, "earn", "a", at("08-01"), None),
            (2, 1, 200, "earn", "b", at("11-16"), None),
            (3, 1, 300, "earn", "c", at("11-20"), None),
            (4, 1, -100, "redeem", "d", at("11-21"), None),
            (5, 1, 50, "bonus", "e", at("11-18"), None),
            (6, 1, 40, "earn", "f", at("11-17"), None),
            (7, 1, -40, "earn", "void:6", at("11-17", 11), 6),
            (8, 2, 80, "earn", "g", at("07-01"), None),
            (9, 2, 150, "earn", "h", at("10-01"), None),
            (10, 2, -30, "expire", "i", at("11-19"), None),
            (11, 2, 10, "adjust", "j", at("11-19"), None),
            (12, 3, 70, "earn", "k", at("05-01"), None),
        ]
        await tx.executemany(
            "INSERT INTO points_ledger (id, customer_id, delta, kind, reference, created_at,"
            " voids) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ledger,
        )
        tickets = [
            # number, customer, kind, status, csat, created, first response, resolved
            (1, 1, "complaint", "resolved", 5, at("11-16"), at("11-16", 11), at("11-17")),
            (2, 2, "feedback", "resolved", 2, at("11-18"), at("11-18", 13), at("11-20")),
            (3, 3, "question", "open", None, at("11-20"), None, None),
            (4, 1, "question", "resolved", 4, at("11-10"), at("11-10", 11), at("11-11")),
        ]
        for number, cid, kind, status, csat, created, first, resolved in tickets:
            await tx.execute(
                "INSERT INTO tickets (number, customer_id, kind, status, csat, created_at,"
                " first_response_at, resolved_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (number, cid, kind, status, csat, created, first, resolved, created),
            )
        await tx.executemany(
            "INSERT INTO faq_outcomes (hour, outcome, count) VALUES (?, ?, ?)",
            [
                ("2026-11-16T09", "answer", 3),
                ("2026-11-16T09", "fallback", 1),
                ("2026-11-20T12", "suggest", 2),
                ("2026-11-10T09", "answer", 5),
            ],
        )
        await tx.executemany(
            "INSERT INTO faq_votes (chat_id, message_id, entry_id, language, helpful, voted_at)"
            " VALUES (?, ?, 1, 'en', ?, ?)",
            [(1, 1, 1, at("11-17")), (1, 2, 1, at("11-17")), (1, 3, 0, at("11-17")),
             (1, 4, 1, at("11-10"))],
        )  # fmt: skip
        await tx.executemany(
            "INSERT INTO unanswered (normalised, language, example, count, first_seen_at,"
            " last_seen_at, resolved_entry_id) VALUES (?, 'en', ?, ?, ?, ?, ?)",
            [
                ("wifi", "Do you have wifi?", 4, at("10-01"), at("11-16"), None),
                ("parking", "Parking?", 1, at("11-01"), at("11-01"), None),
                ("vegan", "Anything vegan?", 2, at("11-20"), at("11-21"), 1),
            ],
        )
        await tx.executemany(
            "INSERT INTO outreach (customer_id, kind, occasion, status, reason, due_at, sent_at,"
            " replied_at, won_back_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, "checkin", "c1", "sent", None, at("11-17"), at("11-17"), at("11-18"), None,
                 at("11-17"), at("11-17")),
                (2, "winback", "w2", "failed", "blocked", at("11-18"), None, None, None,
                 at("11-18"), at("11-18")),
                (3, "winback", "w3", "sent", None, at("11-19"), at("11-19"), None, at("11-20"),
                 at("11-19"), at("11-19")),
            ],
        )  # fmt: skip


def _moment(value: str | None) -> str | None:
    """A bare date is that day at midnight UTC."""
    if value is None or "T" in value:
        return value
    return f"{value}T00:00:00+00:00"
