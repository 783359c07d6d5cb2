"""CareServices: every care service, built once over one database and one clock."""

from __future__ import annotations

from dataclasses import dataclass

from care.arrival import Arrivals
from care.campaigns.service import CampaignService
from care.clock import Clock
from care.customers import CustomerService
from care.faq.service import FaqService
from care.inbox import Inbox
from care.loyalty.linking import PhoneLinking
from care.loyalty.service import LoyaltyService
from care.ops import OpsService
from care.outbox import Outbox
from care.outreach.service import OutreachService
from care.pacer import Pacer
from care.phones import region_for
from care.ports import Messenger
from care.reports.service import ReportService
from care.segments.service import SegmentService
from care.settings import CareSettings
from care.staff import StaffService
from care.stages.service import StageService
from care.stages.status import StatusService
from care.tickets.service import TicketService
from storage.db import Database


@dataclass(frozen=True, slots=True)
class CareServices:
    """The domain, as the handlers and jobs see it."""

    db: Database
    clock: Clock
    settings: CareSettings
    messenger: Messenger
    outbox: Outbox
    arrivals: Arrivals
    customers: CustomerService
    staff: StaffService
    inbox: Inbox
    faq: FaqService
    tickets: TicketService
    loyalty: LoyaltyService
    linking: PhoneLinking
    stages: StageService
    outreach: OutreachService
    ops: OpsService
    status: StatusService
    segments: SegmentService
    campaigns: CampaignService
    reports: ReportService

    @classmethod
    def build(
        cls, db: Database, clock: Clock, settings: CareSettings, messenger: Messenger
    ) -> CareServices:
        """Wire every service to the database, the clock, its settings and the messenger."""
        # Bulk sends make up for a slow send within a quarter second (a burst of a few).
        outbox = Outbox(db, clock, messenger, Pacer(settings.outreach.send_rate, catch_up=0.25))
        staff = StaffService(db, clock, settings.staff, region_for(settings.locale))
        stages = StageService(db, clock, settings.stages, settings.outreach, staff)
        status = StatusService(
            db, clock, stages, staff, outbox,
            settings.locale.default_language, settings.locale.timezone,
        )  # fmt: skip
        loyalty = LoyaltyService(
            db, clock, settings.loyalty, settings.locale,
            staff=staff, stages=stages, outbox=outbox, status=status,
        )  # fmt: skip
        customers = CustomerService(db, clock, settings.locale, settings.business.name)
        tickets = TicketService(
            db,
            clock,
            settings.tickets,
            settings.locale,
            outbox,
            staff,
            stages,
            tier_of=loyalty.tier_name_in,
        )
        segments = SegmentService(db, clock, settings.loyalty, settings.outreach, staff)
        return cls(
            db=db,
            clock=clock,
            settings=settings,
            messenger=messenger,
            outbox=outbox,
            arrivals=Arrivals(customers, staff, settings.locale, settings.business),
            customers=customers,
            staff=staff,
            inbox=Inbox(db, clock),
            faq=FaqService(
                db, clock, settings.faq, staff, outbox, settings.locale.default_language, tickets
            ),
            tickets=tickets,
            loyalty=loyalty,
            linking=PhoneLinking(db, clock, settings.locale, stages),
            stages=stages,
            outreach=OutreachService(
                db,
                clock,
                settings.outreach,
                settings.locale,
                messenger,
                staff,
                settings.business.name,
                loyalty=loyalty,
            ),
            ops=OpsService(
                db, clock, settings.staff, staff, outbox, settings.locale.default_language
            ),
            status=status,
            segments=segments,
            campaigns=CampaignService(
                db,
                clock,
                settings.outreach,
                settings.locale,
                settings.staff,
                outbox,
                staff,
                segments,
            ),
            reports=ReportService(
                db,
                clock,
                locale=settings.locale,
                stages=settings.stages,
                tickets=settings.tickets,
                loyalty=settings.loyalty,
                owners=settings.staff,
                settings=settings.reports,
                staff=staff,
                outbox=outbox,
            ),
        )
