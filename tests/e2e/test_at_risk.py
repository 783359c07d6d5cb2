"""End to end: staff /customers at-risk, paged with buttons, reasons in en and zh; staff only."""

from __future__ import annotations

from datetime import timedelta

from care.clock import iso
from care.purchase_import import PurchaseImport
from tests.conftest import Harness


async def _history(harness: Harness, count: int) -> list[str]:
    """`count` weekly regulars, silent for five weeks now, each spending more than the last."""
    care = harness.care
    codes = []
    rows = []
    start = harness.clock.now() - timedelta(days=70)
    for i in range(count):
        done = await care.customers.register(5000 + i, None, f"Guest{i:02d}", "en")
        codes.append(done.customer.member_code)
        for week in range(6):
            at = iso(start + timedelta(days=7 * week))
            rows.append({"customer": done.customer.member_code, "at": at,
                         "amount": str(3 + i), "receipt": f"G{i}-{week}"})  # fmt: skip
    importer = PurchaseImport(care.db, care.clock, care.settings.locale, care.stages, care.loyalty)
    report = await importer.import_rows(list(enumerate(rows, start=2)))
    assert report.recorded == 6 * count
    return codes


async def test_staff_page_through_the_at_risk_customers_highest_value_first(
    harness: Harness,
) -> None:
    codes = await _history(harness, 10)
    owner = harness.owner
    await owner.send("/customers at-risk")
    first = await owner.next_message()
    text = first.text or ""
    assert text.startswith("⚠️ Customers at risk: 10, highest value first (page 1/2)")
    assert text.index("Guest09") < text.index("Guest08")  # highest value first
    assert "usually every 7 days, now 35 days" in text and "Guest01" not in text
    await owner.press(first, "Next ▶")
    second = await owner.next_message()
    assert second.edited and second.message_id == first.message_id
    assert "(page 2/2)" in (second.text or "") and "Guest01" in (second.text or "")
    assert codes[0] in (second.text or "")
    forged = await owner.press_data(second, "customers:atrisk:7")
    assert (await owner.wait_callback_answer(forged)).get("show_alert") is True

    await owner.send(f"/customer {codes[9]}")
    card = (await owner.next_message()).text or ""
    assert "Recency: at risk (usually every 7 days, now 35 days" in card


async def test_customers_are_refused_and_staff_read_it_in_chinese(
    harness: Harness,
) -> None:
    await _history(harness, 1)
    alice = harness.customer("Alice")
    await alice.send("/start")
    menu = await alice.next_message()
    await alice.send("/customers at-risk")
    assert (await alice.next_message()).text == "Sorry, that command is for staff only."
    forged = await alice.press_data(menu, "customers:atrisk:0")
    assert (await alice.wait_callback_answer(forged)).get("show_alert") is True

    harness.owner.language_code = "zh"
    await harness.owner.send("/customers at-risk")
    text = (await harness.owner.next_message()).text or ""
    assert text.startswith("⚠️ 有流失风险：1 位顾客")
    assert "通常每 7 天来一次，已 35 天未来" in text
    await harness.owner.send("/customers everyone")
    assert "/customers at-risk" in ((await harness.owner.next_message()).text or "")
