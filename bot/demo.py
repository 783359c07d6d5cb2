"""Demo data: a café with its FAQ, a few customers with points and stages, a staff member."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

from care.clock import Clock, iso
from care.faq.csv import import_faq
from care.settings import OutreachSettings, StageSettings
from care.stages.service import StageService
from storage import customers as customers_repo
from storage import points as points_repo
from storage import staff as staff_repo
from storage.db import Database

DEMO_BUSINESS = "Bean There Café"
DEMO_OWNER_ID = 2001
DEMO_CUSTOMER_ID = 1001
DEMO_STAFF_ID = 3001

# (telegram id, username, name, language, member code, purchases as (days ago, amount in cents))
DEMO_CUSTOMERS = (
    (5001, "mia_k", "Mia Kowalski", "en", "MIA234",
     ((150, 1250), (110, 890), (70, 2400), (30, 1575), (6, 980))),
    (5002, "lihua", "李华", "zh", "LIH456", ((60, 3200), (12, 1850))),
    (5003, None, "Tom Baker", "en", "TOM789", ((200, 450),)),
    (5004, "chen_w", "陈伟", "zh", "CHE345", ()),
)  # fmt: skip


async def seed_demo(db: Database, clock: Clock) -> bool:
    """Fill an empty database with demo customers, their purchases and a staff member.

    Stages come from the real rules (a trusted regular, a repeat customer, a lapsed one and a
    newcomer); returns False if the database already has customers.
    """
    now = clock.now()
    async with db.transaction() as tx:
        if await customers_repo.count(tx) > 0:
            return False
        ids = []
        for telegram_id, username, name, lang, code, purchases in DEMO_CUSTOMERS:
            row = await customers_repo.add(
                tx,
                telegram_id=telegram_id,
                username=username,
                name=name,
                language=lang,
                member_code=code,
                at=iso(now - timedelta(days=240)),
            )
            ids.append(row.id)
            for n, (days_ago, cents) in enumerate(purchases):
                at = iso(now - timedelta(days=days_ago))
                await points_repo.append(tx, row.id, cents // 100, "earn", f"demo-{n}", at)
                await points_repo.add_purchase(tx, row.id, cents, f"demo-{n}", at)
        await staff_repo.upsert(
            tx, DEMO_STAFF_ID, "staff", "Sam (barista)", DEMO_OWNER_ID, iso(now)
        )
    stages = StageService(db, clock, StageSettings(), OutreachSettings())
    for customer_id in ids:
        await stages.evaluate(customer_id)
    await seed_demo_faq(db, clock)
    return True


async def seed_demo_faq(db: Database, clock: Clock) -> int:
    """Load the demo café FAQ in English and Chinese; returns the rows imported."""
    imported = 0
    for lang in ("en", "zh"):
        text = resources.files("bot").joinpath("data", f"faq_{lang}.csv").read_text("utf-8")
        imported += (await import_faq(db, clock, None, text, lang)).imported
    return imported
