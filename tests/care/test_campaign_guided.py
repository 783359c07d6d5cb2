"""The guided /campaign's two care calls: the segments to pick (manager+) and the draft."""

from __future__ import annotations

import pytest

from care.campaigns.spec import BadCampaign, CampaignSpec
from care.errors import NotStaff
from care.roles import Role
from storage.db import Database
from tests.campaign_support import OWNER, add_customer, rows, services
from tests.fakes import FakeClock


async def test_segment_choices_are_for_managers_and_owners(db: Database, clock: FakeClock) -> None:
    care = services(db, clock)
    await care.segments.define(OWNER, "regulars", "stage>=aware")
    await care.segments.define(OWNER, "chinese", "language=zh")
    assert await care.campaigns.segment_choices(OWNER) == ["chinese", "regulars"]
    await care.staff.grant(OWNER, 2, Role.STAFF, "Sam")
    with pytest.raises(NotStaff):
        await care.campaigns.segment_choices(2)
    audit = await rows(db, "SELECT actor_id, result FROM audit_log WHERE action = 'campaign'")
    assert [(a["actor_id"], a["result"]) for a in audit] == [
        (OWNER, "started segments=2"),
        (2, "refused: needs manager"),
    ]


async def test_create_guided_writes_the_same_draft_as_the_one_line_form(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock)
    await add_customer(care, 11, "Ann")
    await add_customer(care, 12, "Wei", language="zh")
    spec = CampaignSpec("stage=aware", "stage=aware", {"zh": "秋季菜单上新了"}, button="card")
    guided = await care.campaigns.create_guided(OWNER, spec)
    one_line = await care.campaigns.create(
        OWNER, "new stage=aware button=card | zh 秋季菜单上新了"
    )
    assert guided.campaign_id == 1 and one_line.campaign_id == 2
    assert (guided.recipients, guided.by_language, guided.texts, guided.missing) == (
        one_line.recipients, one_line.by_language, one_line.texts, one_line.missing,
    )  # fmt: skip
    assert guided.missing == ("en",) and guided.recipients == 2


async def test_create_guided_refuses_no_text_or_a_too_long_one(
    db: Database, clock: FakeClock
) -> None:
    care = services(db, clock)
    for texts in ({}, {"en": "x" * 1025}):
        with pytest.raises(BadCampaign):
            await care.campaigns.create_guided(
                OWNER, CampaignSpec("stage=aware", "stage=aware", texts)
            )
    assert await rows(db, "SELECT id FROM campaigns") == []
