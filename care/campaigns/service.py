"""Campaigns: one message to a segment, previewed, confirmed, paced, exactly once per customer.

A campaign is planned against the segment's live members: each is a recipient or excluded for
one reason (no chat, /stop, "stop these" for promotions, unreachable, an open complaint, the
frequency cap). Confirming writes one outbox row per recipient in the confirming transaction,
with the dedupe key `campaign:<id>:<customer>` (so a second confirm, a crash or a restart can never
queue or send one twice) and `not_before` at the local time asked for in the customer's zone,
moved past their quiet hours. The outbox's sender sends them paced (promotional rows) and
re-checks the per-kind opt-out and complaints through this service's skip hook; the last
outcome marks the campaign done and tells the staff chat.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import aiosqlite

from care import callbacks
from care.campaigns.results import (
    EXCLUSIONS,
    CampaignClosed,
    CampaignStats,
    Preview,
    Recipient,
    UnknownCampaign,
)
from care.campaigns.spec import (
    MAX_TEXT,
    BadCampaign,
    CampaignSpec,
    parse_command,
    parse_local_at,
)
from care.clock import Clock, iso, parse_iso
from care.errors import ExpiredButton, InvalidArgument, NotRegistered
from care.outbox import Hooks, Outbox
from care.outreach.rules import after_quiet_hours, local_moment, zone_of
from care.ports import OutboundMessage, SendStatus
from care.roles import Role
from care.segments.filter import Filter
from care.segments.service import SegmentService
from care.settings import LANGUAGES, LocaleSettings, OutreachSettings, StaffSettings
from care.staff import StaffService
from storage import audit as audit_repo
from storage import campaigns as repo
from storage import customers as customers_repo
from storage import segments as segments_repo
from storage.campaigns import KIND, CampaignRow
from storage.db import Database
from storage.outbox import OutboxRow
from storage.segments import CustomerFacts

FEATURE = "campaigns"
FINISHED = "campaign.finished"
CLI_ACTOR = 0  # audit rows written by `carebot campaign send`


class CampaignService:
    """Previews, confirms, paces (through the outbox), cancels and counts campaigns."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        outreach: OutreachSettings,
        locale: LocaleSettings,
        staff_settings: StaffSettings,
        outbox: Outbox,
        staff: StaffService,
        segments: SegmentService,
    ) -> None:
        self._db, self._clock, self._outreach, self._locale = db, clock, outreach, locale
        self._staff_chat = staff_settings.chat_id
        self._outbox, self._staff, self._segments = outbox, staff, segments
        outbox.on(KIND, Hooks(sent=self._sent, undelivered=self._undelivered, skip=self._skip))

    # ------------------------------------------------------------------ staff in Telegram

    async def create(self, actor_id: int, text: str, photo: str | None = None) -> Preview:
        """/campaign new <segment> [at=…] [button=…] | en … | zh … (as a photo's caption: with
        that photo): a draft and its preview."""
        async with self._staff.act(actor_id, "campaign", text, Role.MANAGER) as act:
            spec = replace(parse_command(text), photo=photo)
            preview = await self._draft(act.tx, spec, actor_id)
            act.result = f"draft {preview.campaign_id} recipients={preview.recipients}"
        return preview

    async def segment_choices(self, actor_id: int) -> list[str]:
        """The guided /campaign's first step (managers and owners): the saved segments' names."""
        async with self._staff.act(actor_id, "campaign", "new (guided)", Role.MANAGER) as act:
            names = [row.name for row in await segments_repo.list_all(act.tx)]
            act.result = f"started segments={len(names)}"
        return names

    async def create_guided(self, actor_id: int, spec: CampaignSpec) -> Preview:
        """The guided /campaign's last step: the draft and preview `create` makes, from a spec."""
        arguments = f"new (guided) {spec.segment}"
        async with self._staff.act(actor_id, "campaign", arguments, Role.MANAGER) as act:
            if not spec.texts or any(len(text) > MAX_TEXT for text in spec.texts.values()):
                raise BadCampaign("text", f"en and/or zh, up to {MAX_TEXT} characters")
            preview = await self._draft(act.tx, spec, actor_id)
            act.result = f"draft {preview.campaign_id} recipients={preview.recipients}"
        return preview

    async def confirm(self, actor_id: int, campaign_id: int) -> Preview:
        """The preview's confirm button: plan again now and queue every message."""
        arguments = f"confirm {campaign_id}"
        async with self._staff.act(actor_id, "campaign", arguments, Role.MANAGER) as act:
            preview = await self._confirm(act.tx, campaign_id)
            act.result = f"queued {campaign_id} recipients={preview.recipients}"
        return preview

    async def cancel(self, actor_id: int, campaign_id: int) -> int:
        """Cancel a draft or a campaign being sent; how many messages will not go out."""
        arguments = f"cancel {campaign_id}"
        async with self._staff.act(actor_id, "campaign", arguments, Role.MANAGER) as act:
            row = await self._row(act.tx, campaign_id)
            if row.status not in ("draft", "queued"):
                raise CampaignClosed(campaign_id, row.status)
            skipped = await repo.skip_pending(act.tx, campaign_id, "cancelled")
            await repo.finish(act.tx, campaign_id, "cancelled", iso(self._clock.now()))
            act.result = f"cancelled {campaign_id} unsent={skipped}"
        return skipped

    async def stats_for(self, actor_id: int, campaign_id: int) -> CampaignStats:
        """/campaign stats <id>: queued, sent, failed by reason, blocked, skipped."""
        arguments = f"stats {campaign_id}"
        async with self._staff.act(actor_id, "campaign", arguments, Role.MANAGER) as act:
            stats = await self._stats(act.tx, campaign_id)
            act.result = f"stats {campaign_id}"
        return stats

    async def usage(self, actor_id: int, arguments: str) -> None:
        """A /campaign without a verb it knows: refused for customers, the usage for staff."""
        async with self._staff.act(actor_id, "campaign", arguments, Role.MANAGER):
            raise InvalidArgument("campaign verb", usage="usage.campaign")

    # ------------------------------------------------------------------ the command line

    async def send_spec(self, spec: CampaignSpec, *, dry_run: bool) -> Preview:
        """`carebot campaign send`: validate, then write the campaign and its messages in one
        transaction (audited); with `dry_run` write nothing and return the counts."""
        if dry_run:
            async with self._db.read() as tx:
                f = await self._segments.resolve(tx, spec.segment)
                return self._preview(None, spec, f, await self._plan(tx, f, spec))
        async with self._db.transaction() as tx:
            plan: list[tuple[list[Recipient], dict[str, int]]] = []
            draft = await self._draft(tx, spec, CLI_ACTOR, keep=plan)
            assert draft.campaign_id is not None
            preview = await self._confirm(tx, draft.campaign_id, plan[0])
            await audit_repo.add(
                tx, CLI_ACTOR, "campaign", f"send {spec.name}",
                f"queued {preview.campaign_id} recipients={preview.recipients}",
                iso(self._clock.now()),
            )  # fmt: skip
        return preview

    async def status(self, campaign_id: int) -> CampaignStats:
        """`carebot campaign status ID`: where the campaign's messages stand."""
        async with self._db.transaction() as tx:
            return await self._stats(tx, campaign_id)

    # ------------------------------------------------------------------ customers

    async def stop_these(self, telegram_id: int, campaign_id: int) -> bool:
        """A campaign's "stop these" button: no more promotions; False if already stopped."""
        async with self._db.transaction() as tx:
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is None:
                raise NotRegistered(telegram_id)
            if not await repo.received(tx, campaign_id, customer.id):
                raise ExpiredButton()
            return await repo.add_promotions_optout(tx, customer.id, iso(self._clock.now()))

    # ------------------------------------------------------------------ planning

    async def _draft(
        self,
        tx: aiosqlite.Connection,
        spec: CampaignSpec,
        actor: int,
        keep: list[tuple[list[Recipient], dict[str, int]]] | None = None,
    ) -> Preview:
        """Write a draft; its plan is appended to `keep` for a confirm in the same transaction."""
        f = await self._segments.resolve(tx, spec.segment)
        plan = await self._plan(tx, f, spec)
        if keep is not None:
            keep.append(plan)
        campaign_id = await repo.add(
            tx,
            name=spec.name,
            filter_text=f.text(),
            texts=json.dumps(spec.texts, ensure_ascii=False),
            photo=spec.photo,
            button=spec.button,
            local_at=spec.at.isoformat(timespec="minutes") if spec.at else None,
            created_by=actor,
            at=iso(self._clock.now()),
        )
        return self._preview(campaign_id, spec, f, plan)

    async def _confirm(
        self,
        tx: aiosqlite.Connection,
        campaign_id: int,
        planned: tuple[list[Recipient], dict[str, int]] | None = None,
    ) -> Preview:
        """Queue the draft's messages: planned again now, unless `planned` in this transaction."""
        row = await self._row(tx, campaign_id)
        if row.status != "draft":
            raise CampaignClosed(campaign_id, row.status)
        spec = _spec_of(row)
        f = self._segments.parse(row.filter)
        recipients, excluded = planned or await self._plan(tx, f, spec)
        buttons, link = _buttons(campaign_id, spec)
        await self._outbox.add_bulk(
            tx,
            [
                (self._message(spec, r, buttons, link), r.customer.id,
                 f"{KIND}:{campaign_id}:{r.customer.id}", r.due)
                for r in recipients
            ],
            kind=KIND,
            ref=campaign_id,
        )  # fmt: skip
        now = iso(self._clock.now())
        await repo.mark_queued(tx, campaign_id, len(recipients), json.dumps(excluded), now)
        if not recipients:
            await self._maybe_finished(tx, campaign_id)
        return self._preview(campaign_id, spec, f, (recipients, excluded), status="queued")

    async def _plan(
        self, tx: aiosqlite.Connection, f: Filter, spec: CampaignSpec
    ) -> tuple[list[Recipient], dict[str, int]]:
        now = self._clock.now()
        cap_since = iso(now - timedelta(days=self._outreach.frequency_cap_days))
        recipients: list[Recipient] = []
        excluded: Counter[str] = Counter()
        for c in await self._segments.members(tx, f, now):
            reason = _exclusion(c, cap_since)
            if reason is not None:
                excluded[reason] += 1
                continue
            zone = zone_of(c.timezone, self._locale.zone)
            due = now
            if spec.at is not None:
                due = max(now, local_moment(spec.at.date(), (spec.at.hour, spec.at.minute), zone))
            later = after_quiet_hours(due, zone, self._outreach)
            recipients.append(Recipient(c, c.language, later, later != due))
        return recipients, {reason: excluded[reason] for reason in EXCLUSIONS if excluded[reason]}

    def _text_for(self, spec: CampaignSpec, lang: str) -> str:
        """The customer's language, else the shop's default, else the text there is."""
        if lang in spec.texts:
            return spec.texts[lang]
        if self._locale.default_language in spec.texts:
            return spec.texts[self._locale.default_language]
        return next(iter(spec.texts.values()))

    def _preview(
        self,
        campaign_id: int | None,
        spec: CampaignSpec,
        f: Filter,
        plan: tuple[list[Recipient], dict[str, int]],
        *,
        status: str = "draft",
    ) -> Preview:
        recipients, excluded = plan
        by_language = Counter(r.lang for r in recipients)
        return Preview(
            campaign_id=campaign_id,
            name=spec.name,
            filter=f.text(),
            recipients=len(recipients),
            excluded=excluded,
            quiet_hours=sum(1 for r in recipients if r.held),
            by_language={lang: by_language[lang] for lang in LANGUAGES},
            texts={lang: self._text_for(spec, lang) for lang in LANGUAGES},
            missing=tuple(lang for lang in LANGUAGES if lang not in spec.texts),
            at=spec.at.isoformat(timespec="minutes") if spec.at else None,
            photo=spec.photo,
            button=spec.button,
            status=status,
        )

    def _message(
        self,
        spec: CampaignSpec,
        r: Recipient,
        buttons: tuple[tuple[str, str], ...],
        link: tuple[str, str] | None,
    ) -> OutboundMessage:
        assert r.customer.telegram_id is not None  # excluded as no_chat otherwise
        return OutboundMessage(
            chat_id=r.customer.telegram_id,
            key="campaigns.message",
            lang=r.lang,
            fields={"text": self._text_for(spec, r.lang)},
            buttons=buttons,
            photo=spec.photo,
            link=link,
        )

    # ------------------------------------------------------------------ while sending

    async def _skip(self, tx: aiosqlite.Connection, row: OutboxRow) -> str | None:
        if row.customer_id is None:
            return None
        return await repo.promotions_blocked(tx, row.customer_id)

    async def _sent(self, tx: aiosqlite.Connection, row: OutboxRow, message_id: int) -> None:
        await self._maybe_finished(tx, int(row.ref or 0))

    async def _undelivered(
        self, tx: aiosqlite.Connection, row: OutboxRow, status: SendStatus
    ) -> None:
        await self._maybe_finished(tx, int(row.ref or 0))

    async def _maybe_finished(self, tx: aiosqlite.Connection, campaign_id: int) -> None:
        """Mark the campaign done once none of its messages waits, and tell the staff chat."""
        if await repo.unfinished(tx, campaign_id):
            return
        row = await repo.find(tx, campaign_id)
        if row is None or row.status != "queued":
            return
        await repo.finish(tx, campaign_id, "done", iso(self._clock.now()))
        if self._staff_chat is None:
            return
        stats = await self._stats(tx, campaign_id, refresh=False)
        await self._outbox.add(
            tx,
            OutboundMessage(
                self._staff_chat,
                "campaigns.finished",
                self._locale.default_language,
                {
                    "id": campaign_id,
                    "name": row.name,
                    "sent": stats.sent,
                    "failed": stats.failed,
                    "skipped": stats.skipped,
                },
            ),  # fmt: skip
            kind=FINISHED,
            dedupe_key=f"{FINISHED}:{campaign_id}",
        )

    async def _stats(
        self, tx: aiosqlite.Connection, campaign_id: int, *, refresh: bool = True
    ) -> CampaignStats:
        row = await self._row(tx, campaign_id)
        if refresh and row.status == "queued":
            # A send a crash interrupted ends without a hook: notice the end here as well.
            await self._maybe_finished(tx, campaign_id)
            row = await self._row(tx, campaign_id)
        counts: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        for status, error, n in await repo.outcomes(tx, campaign_id):
            counts[status] += n
            if status == "failed":
                failed[error or "failed"] += n
            elif status == "skipped":
                skipped[error or "skipped"] += n
        return CampaignStats(
            campaign_id=campaign_id,
            name=row.name,
            status=row.status,
            recipients=row.recipients,
            excluded=json.loads(row.excluded),
            queued=counts["pending"] + counts["sending"],
            sent=counts["sent"],
            failed=counts["failed"],
            skipped=counts["skipped"],
            replies=await repo.replies(tx, campaign_id),
            failed_by_reason=dict(failed),
            skipped_by_reason=dict(skipped),
        )

    async def _row(self, tx: aiosqlite.Connection, campaign_id: int) -> CampaignRow:
        # A typed number beyond any id is no campaign (and would overflow SQLite's INTEGER).
        row = await repo.find(tx, campaign_id) if 0 < campaign_id <= callbacks.MAX_ID else None
        if row is None:
            raise UnknownCampaign(campaign_id)
        return row


def _buttons(
    campaign_id: int, spec: CampaignSpec
) -> tuple[tuple[tuple[str, str], ...], tuple[str, str] | None]:
    """The campaign's buttons: "show my card" if asked for, always "stop these"; its link."""
    buttons: tuple[tuple[str, str], ...] = ()
    if spec.button == "card":
        buttons += (("campaigns.card_button", callbacks.build("loyalty", "card")),)
    buttons += (("campaigns.stop_button", callbacks.build(FEATURE, "stop", campaign_id)),)
    link = None
    if spec.button is not None and spec.button != "card":
        link = ("campaigns.link_button", spec.button)
    return buttons, link


def _exclusion(c: CustomerFacts, cap_since: str) -> str | None:
    """Why this member of the segment gets no campaign, or None."""
    if c.telegram_id is None:
        return "no_chat"
    if c.opted_out:
        return "opted_out"
    if c.promotions_opted_out:
        return "opted_out_promotions"
    if not c.reachable:
        return "unreachable"
    if c.open_complaints:
        return "open_complaint"
    if c.last_promo_at is not None and parse_iso(c.last_promo_at) > parse_iso(cap_since):
        return "cap"
    return None


def _spec_of(row: CampaignRow) -> CampaignSpec:
    return CampaignSpec(
        name=row.name,
        segment=row.filter,
        texts=json.loads(row.texts),
        at=parse_local_at(row.local_at) if row.local_at else None,
        photo=row.photo,
        button=row.button,
    )
