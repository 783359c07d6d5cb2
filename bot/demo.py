"""Demo data: a café with its FAQ, a few customers with points and stages, a staff member."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

from care.clock import Clock, iso
from care.faq_csv import import_faq
from storage import customers as customers_repo
from storage import staff as staff_repo
from storage.db import Database

DEMO_BUSINESS = "Bean There Café"
DEMO_OWNER_ID = 2001
DEMO_CUSTOMER_ID = 1001
DEMO_STAFF_ID = 3001

# (telegram id, username, name, language, stage, member code, points earned)
DEMO_CUSTOMERS = (
    (5001, "mia_k", "Mia Kowalski", "en", "trust", "MIA234", 860),
    (5002, "lihua", "李华", "zh", "understanding", "LIH456", 320),
    (5003, None, "Tom Baker", "en", "engaged", "TOM789", 45),
    (5004, "chen_w", "陈伟", "zh", "aware", "CHE345", 0),
)


async def seed_demo(db: Database, clock: Clock) -> bool:
    """Fill an empty database with demo customers and a staff member; False if not empty."""
    now = clock.now()
    async with db.transaction() as tx:
        if await customers_repo.count(tx) > 0:
            return False
        for telegram_id, username, name, lang, stage, code, points in DEMO_CUSTOMERS:
            row = await customers_repo.add(
                tx,
                telegram_id=telegram_id,
                username=username,
                name=name,
                language=lang,
                member_code=code,
                at=iso(now - timedelta(days=120)),
            )
            await tx.execute(
                "UPDATE customers SET stage = ?, stage_since = ? WHERE id = ?",
                (stage, iso(now - timedelta(days=30)), row.id),
            )
            await tx.execute(
                "INSERT INTO stage_history (customer_id, from_stage, to_stage, reason, created_at)"
                " VALUES (?, 'aware', ?, 'demo data', ?)",
                (row.id, stage, iso(now - timedelta(days=30))),
            )
            if points:
                await tx.execute(
                    "INSERT INTO points_ledger (customer_id, delta, kind, reason, reference,"
                    " created_at) VALUES (?, ?, 'earn', 'demo purchases', 'demo-seed', ?)",
                    (row.id, points, iso(now - timedelta(days=10))),
                )
        await staff_repo.upsert(
            tx, DEMO_STAFF_ID, "staff", "Sam (barista)", DEMO_OWNER_ID, iso(now)
        )
    await seed_demo_faq(db, clock)
    return True


async def seed_demo_faq(db: Database, clock: Clock) -> int:
    """Load the demo café FAQ in English and Chinese; returns the rows imported."""
    imported = 0
    for lang in ("en", "zh"):
        text = resources.files("bot").joinpath("data", f"faq_{lang}.csv").read_text("utf-8")
        imported += (await import_faq(db, clock, None, text, lang)).imported
    return imported
