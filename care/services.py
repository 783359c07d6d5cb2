"""CareServices: every care service, built once over one database and one clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from care.clock import Clock
from care.customers import CustomerService
from care.faq import FaqService
from care.linking import PhoneLinking
from care.loyalty import LoyaltyService
from care.outbox import Outbox
from care.outreach.service import OutreachService
from care.ports import Messenger
from care.settings import (
    BusinessSettings,
    FaqSettings,
    LocaleSettings,
    LoyaltySettings,
    OutreachSettings,
    StaffSettings,
    StageSettings,
    TicketSettings,
)
from care.staff import StaffService
from care.stages.service import StageService
from care.tickets import TicketService
from care.updates import UpdateLog
from storage.db import Database


@dataclass(frozen=True, slots=True)
class CareSettings:
    """The configuration slices care needs."""

    locale: LocaleSettings
    staff: StaffSettings
    business: BusinessSettings
    faq: FaqSettings
    tickets: TicketSettings = field(default_factory=TicketSettings)
    loyalty: LoyaltySettings = field(default_factory=LoyaltySettings)
    stages: StageSettings = field(default_factory=StageSettings)
    outreach: OutreachSettings = field(default_factory=OutreachSettings)


@dataclass(frozen=True, slots=True)
class CareServices:
    """The domain, as the handlers and jobs see it."""

    db: Database
    clock: Clock
    settings: CareSettings
    messenger: Messenger
    outbox: Outbox
    customers: CustomerService
    staff: StaffService
    updates: UpdateLog
    faq: FaqService
    tickets: TicketService
    loyalty: LoyaltyService
    linking: PhoneLinking
    stages: StageService
    outreach: OutreachService

    @classmethod
    def build(
        cls, db: Database, clock: Clock, settings: CareSettings, messenger: Messenger
    ) -> CareServices:
        """Wire every service to the database, the clock, its settings and the messenger."""
        outbox = Outbox(db, clock, messenger)
        staff = StaffService(db, clock, settings.staff)
        stages = StageService(db, clock, settings.stages, settings.outreach, staff)
        loyalty = LoyaltyService(
            db, clock, settings.loyalty, settings.locale, messenger, on_change=stages.refresh
        )
        return cls(
            db=db,
            clock=clock,
            settings=settings,
            messenger=messenger,
            outbox=outbox,
            customers=CustomerService(db, clock, settings.locale, settings.business.name),
            staff=staff,
            updates=UpdateLog(db, clock),
            faq=FaqService(
                db,
                clock,
                settings.faq,
                messenger,
                settings.staff,
                settings.locale.default_language,
            ),
            tickets=TicketService(
                db,
                clock,
                settings.tickets,
                settings.staff,
                settings.locale,
                messenger,
                on_change=stages.refresh,
                tier_of=loyalty.tier_name,
            ),
            loyalty=loyalty,
            linking=PhoneLinking(db, clock, on_change=stages.refresh),
            stages=stages,
            outreach=OutreachService(
                db,
                clock,
                settings.outreach,
                settings.locale,
                messenger,
                staff,
                settings.business.name,
            ),
        )
