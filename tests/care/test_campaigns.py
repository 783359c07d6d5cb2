"""Campaigns: preview and exclusions, languages, local times, exactly once across a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from care.campaigns.results import CampaignClosed, UnknownCampaign
from care.campaigns.spec import BadCampaign, CampaignSpec, spec_from_mapping
from care.clock import iso
from care.errors import NotStaff
from care.pacer import Pacer
from care.ports import SendStatus
from care.services import CareServices
from care.settings import OutreachSettings
from storage import outbox as outbox_repo
from storage.db import Database
from tests.campaign_support import OWNER, STAFF_CHAT, add_customer, rows, services
from tests.fakes import FakeClock, RecordingMessenger

TEXTS = {"en": "Our autumn menu is here", "zh": "秋季菜单上新了"}


async def _crowd(care: CareServices, clock: FakeClock) -> None:
    now = clock.now()
    await add_customer(care, 11, "Ann")
    await add_customer(care, 12, "Wei", language="zh")
    await add_customer(care, 13, "Stopped", opted_out=1)
    await add_customer(care, 14, "Gone", reachable=0)
    await add_customer(care, 15, "Imported", no_chat=True)
    cid = await add_customer(care, 16, "Angry")
    async with care.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO tickets (number, customer_id, kind, status, created_at, updated_at)"
            " VALUES (1, ?, 'complaint', 'open', ?, ?)",
            (cid, iso(now), iso(now)),
        )
    promo = await add_customer(care, 17, "NoPromo")
    async with care.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO outreach_optouts (customer_id, kind, created_at)"
            " VALUES (?, 'promotions', '')",
            (promo,),
        )


async def test_preview_counts_recipients_and_exclusions_and_writes_nothing(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock)
    await _crowd(care, clock)
    preview = await care.campaigns.send_spec(
        CampaignSpec("autumn", "stage>=aware", {"en": TEXTS["en"]}), dry_run=True
    )
    assert preview.as_json() == {
        "campaign": None,
        "recipients": 2,
        "excluded": {"no_chat": 1, "opted_out": 1, "opted_out_promotions": 1,
                     "unreachable": 1, "open_complaint": 1},
    }  # fmt: skip
    assert preview.missing == ("zh",) and preview.texts["zh"] == TEXTS["en"]
    assert await rows(db, "SELECT id FROM campaigns") == []
    assert await rows(db, "SELECT id FROM outbox") == []


async def test_each_customer_gets_their_language_once_and_staff_are_told(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock)
    await _crowd(care, clock)
    sent = care.outbox._messenger  # the RecordingMessenger
    assert isinstance(sent, RecordingMessenger)
    preview = await care.campaigns.send_spec(CampaignSpec("autumn", "", TEXTS), dry_run=False)
    assert preview.recipients == 2 and preview.campaign_id is not None
    await care.outbox.drain()
    texts = {m.chat_id: m.fields.get("text") for m in sent.sent}
    assert texts == {11: TEXTS["en"], 12: TEXTS["zh"], STAFF_CHAT: None}
    stop = [data for _, data in sent.sent[0].buttons]
    assert stop == [f"campaigns:stop:{preview.campaign_id}"]
    finished = next(m for m in sent.sent if m.chat_id == STAFF_CHAT)
    assert finished.key == "campaigns.finished" and finished.fields["sent"] == 2
    stats = await care.campaigns.status(preview.campaign_id)
    assert stats.as_json() == {"queued": 0, "sent": 2, "failed": 0, "skipped": 0}
    assert stats.status == "done"
    with pytest.raises(CampaignClosed):
        await care.campaigns.confirm(OWNER, preview.campaign_id)
    await care.outbox.drain()
    assert len(sent.sent) == 3  # nothing twice
    audit = await rows(db, "SELECT actor_id, action, result FROM audit_log")
    assert audit[0]["action"] == "campaign" and audit[0]["result"].startswith("queued")


async def test_local_time_per_zone_and_quiet_hours(db: Database, clock: FakeClock) -> None:
    clock.set(datetime(2027, 9, 13, 12, 0, tzinfo=UTC))
    care = services(db, clock)
    await add_customer(care, 11, "London", timezone="Europe/London")
    await add_customer(care, 12, "Shanghai", timezone="Asia/Shanghai")
    await add_customer(care, 13, "Late", timezone="America/New_York")
    spec = spec_from_mapping({"name": "x", "segment": "stage=aware", "at": "2027-09-14T10:00",
                              "text": {"en": "hi"}})  # fmt: skip
    preview = await care.campaigns.send_spec(spec, dry_run=False)
    due = {r["chat_id"]: r["not_before"] for r in await rows(db, "SELECT * FROM outbox")}
    assert due == {
        11: "2027-09-14T09:00:00+00:00",
        12: "2027-09-14T02:00:00+00:00",
        13: "2027-09-14T14:00:00+00:00",
    }
    sent = care.outbox._messenger
    assert isinstance(sent, RecordingMessenger)
    clock.set(datetime(2027, 9, 14, 2, 0, tzinfo=UTC))
    await care.outbox.drain()
    assert [m.chat_id for m in sent.sent] == [12]
    clock.set(datetime(2027, 9, 14, 9, 0, tzinfo=UTC))
    await care.outbox.drain()
    assert [m.chat_id for m in sent.sent] == [12, 11]
    assert (await care.campaigns.status(preview.campaign_id or 0)).queued == 1
    # Quiet hours: a campaign sent now at 23:00 in Shanghai waits for 09:00 there.
    clock.set(datetime(2027, 9, 30, 15, 0, tzinfo=UTC))  # past the 7-day cap
    now = await care.campaigns.send_spec(CampaignSpec("y", "", {"en": "hi"}), dry_run=True)
    assert now.quiet_hours == 1 and now.recipients == 3


async def test_a_crash_mid_campaign_sends_each_at_most_once_and_finishes_the_rest(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock)
    for n in range(10):
        await add_customer(care, 100 + n, f"C{n}")
    preview = await care.campaigns.send_spec(CampaignSpec("big", "", TEXTS), dry_run=False)
    first = care.outbox._messenger
    assert isinstance(first, RecordingMessenger)
    # Send four, then "crash" with a fifth claimed and never recorded.
    due = await rows(db, "SELECT id FROM outbox WHERE kind = 'campaign' ORDER BY id")
    for row in due[:4]:
        await care.outbox._send(await _row(db, row["id"]))
    async with db.transaction() as tx:
        await tx.execute("UPDATE outbox SET status = 'sending' WHERE id = ?", (due[4]["id"],))
    # Restart: new services (and a new sender) over the same database.
    care = services(db, clock)
    second = care.outbox._messenger
    assert isinstance(second, RecordingMessenger)
    async with db.transaction() as tx:
        assert await outbox_repo.abandon_interrupted(tx) == 1  # what Outbox.run does first
    await care.outbox.drain()
    assert len(first.sent) == 4 and len([m for m in second.sent if m.chat_id > 0]) == 5
    delivered = [m.chat_id for m in first.sent + second.sent if m.chat_id > 0]
    assert len(delivered) == len(set(delivered)) == 9
    stats = await care.campaigns.status(preview.campaign_id or 0)
    assert (stats.sent, stats.failed, stats.queued, stats.status) == (9, 1, 0, "done")


async def _row(db: Database, outbox_id: int) -> outbox_repo.OutboxRow:
    async with db.read() as tx:
        cursor = await tx.execute(
            f"SELECT {outbox_repo.COLUMNS} FROM outbox WHERE id = ?", (outbox_id,)
        )
        return outbox_repo._row(await cursor.fetchone())


async def test_cancel_stops_what_is_not_sent_and_customers_refused(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock)
    await add_customer(care, 11, "Ann")
    await add_customer(care, 12, "Bo")
    with pytest.raises(NotStaff):
        await care.campaigns.create(11, "new stage=aware | en hi")
    preview = await care.campaigns.create(
        OWNER, "new stage=aware at=2030-01-01T10:00 | en hi | zh 你好"
    )
    assert preview.recipients == 2 and preview.texts == {"en": "hi", "zh": "你好"}
    await care.campaigns.confirm(OWNER, preview.campaign_id or 0)
    assert await care.campaigns.cancel(OWNER, preview.campaign_id or 0) == 2
    stats = await care.campaigns.stats_for(OWNER, preview.campaign_id or 0)
    assert (stats.status, stats.skipped, stats.skipped_by_reason) == (
        "cancelled",
        2,
        {"cancelled": 2},
    )


async def test_stop_these_and_a_403_keep_later_campaigns_away(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock, outreach=OutreachSettings(frequency_cap_days=0))
    await add_customer(care, 11, "Ann")
    await add_customer(care, 12, "Bo")
    sent = care.outbox._messenger
    assert isinstance(sent, RecordingMessenger)
    sent.statuses[12] = SendStatus.BLOCKED
    first = await care.campaigns.send_spec(CampaignSpec("a", "", TEXTS), dry_run=False)
    await care.outbox.drain()
    assert (await care.campaigns.status(first.campaign_id or 0)).failed == 1
    assert await care.campaigns.stop_these(11, first.campaign_id or 0)
    assert not await care.campaigns.stop_these(11, first.campaign_id or 0)
    second = await care.campaigns.send_spec(CampaignSpec("b", "", TEXTS), dry_run=True)
    assert second.excluded == {"opted_out_promotions": 1, "unreachable": 1}


def test_the_file_names_its_bad_key() -> None:
    with pytest.raises(BadCampaign) as caught:
        spec_from_mapping({"name": "x", "segment": "", "text": {"en": "hi"}})
    assert caught.value.field_name == "segment"
    with pytest.raises(BadCampaign) as caught:
        spec_from_mapping({"name": "x", "segment": "stage=aware", "text": {"fr": "salut"}})
    assert caught.value.field_name == "text.fr"
    with pytest.raises(BadCampaign) as caught:
        spec_from_mapping({"name": "x", "segment": "a=b", "when": "now", "text": {"en": "x"}})
    assert caught.value.field_name == "when"


async def test_the_bulk_pacer_makes_up_a_slow_send_but_never_bursts_past_its_allowance() -> None:
    now = [0.0]
    sends: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(rate=10.0, catch_up=0.25, monotonic=lambda: now[0], sleep=sleep)
    for chat in range(1, 6):
        await pacer.wait(chat)
        sends.append(now[0])
    now[0] += 1.0  # a slow send: a second lost
    for chat in range(6, 16):
        await pacer.wait(chat)
        sends.append(now[0])
    late = sends[5:]
    assert late[:3] == pytest.approx([late[0]] * 3)  # the quarter second made up at once
    assert all(b - a == pytest.approx(0.1) for a, b in zip(late[3:], late[4:], strict=False))
    await pacer.wait(15)  # the same chat again: still a full second after its last send
    assert now[0] == pytest.approx(sends[-1] + 1.0)


async def test_a_photo_and_a_link_or_card_button_go_with_the_message(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock, outreach=OutreachSettings(frequency_cap_days=0))
    await add_customer(care, 11, "Ann")
    sent = care.outbox._messenger
    assert isinstance(sent, RecordingMessenger)
    link = CampaignSpec("a", "", TEXTS, photo="file-1", button="https://example.com/menu")
    card = CampaignSpec("b", "", TEXTS, button="card")
    for spec in (link, card):
        await care.campaigns.send_spec(spec, dry_run=False)
        await care.outbox.drain()
    first, second = (m for m in sent.sent if m.chat_id == 11)
    assert (first.photo, first.link) == ("file-1", ("campaigns.link_button", link.button))
    assert [data for _, data in second.buttons] == ["loyalty:card", "campaigns:stop:2"]
    assert second.photo is None and second.link is None


async def test_a_typed_campaign_number_beyond_any_id_is_no_campaign(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock)
    for number in (10**40, 2**63, 0):  # 10**40 would overflow SQLite's INTEGER
        with pytest.raises(UnknownCampaign):
            await care.campaigns.stats_for(OWNER, number)
        with pytest.raises(UnknownCampaign):
            await care.campaigns.cancel(OWNER, number)
