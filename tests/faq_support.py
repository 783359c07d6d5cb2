"""An FaqService wired as CareServices.build wires it, for care tests of the FAQ."""

from __future__ import annotations

from care.faq.service import FaqService
from care.outbox import Outbox
from care.settings import (
    FaqSettings,
    LocaleSettings,
    OutreachSettings,
    StageSettings,
    TicketSettings,
)
from care.staff import StaffService
from care.stages.service import StageService
from care.tickets.service import TicketService
from storage.db import Database
from tests.fakes import FakeClock


def faq_service(
    db: Database, clock: FakeClock, settings: FaqSettings, staff: StaffService, outbox: Outbox
) -> FaqService:
    """The FAQ service with the ticket desk its "ask our team" opens tickets at."""
    stages = StageService(db, clock, StageSettings(), OutreachSettings(), staff)
    tickets = TicketService(db, clock, TicketSettings(), LocaleSettings(), outbox, staff, stages)
    return FaqService(db, clock, settings, staff, outbox, "en", tickets)
