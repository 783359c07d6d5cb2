"""CareServices: every care service, built once over one database and one clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from care.clock import Clock
from care.customers import CustomerService
from care.outreach import OutreachService
from care.ports import Messenger
from care.settings import (
    BusinessSettings,
    LocaleSettings,
    OutreachSettings,
    StaffSettings,
    StageSettings,
)
from care.staff import StaffService
from care.stages import StageService
from care.updates import UpdateLog
from storage.db import Database


@dataclass(frozen=True, slots=True)
class CareSettings:
    """The configuration slices care needs."""

    locale: LocaleSettings
    staff: StaffSettings
    business: BusinessSettings
    stages: StageSettings = field(default_factory=StageSettings)
    outreach: OutreachSettings = field(default_factory=OutreachSettings)


@dataclass(frozen=True, slots=True)
class CareServices:
    """The domain, as the handlers and jobs see it."""

    db: Database
    clock: Clock
    settings: CareSettings
    messenger: Messenger
    customers: CustomerService
    staff: StaffService
    updates: UpdateLog
    stages: StageService
    outreach: OutreachService

    @classmethod
    def build(
        cls, db: Database, clock: Clock, settings: CareSettings, messenger: Messenger
    ) -> CareServices:
        """Wire every service to the database, the clock, its settings and the messenger."""
        return cls(
            db=db,
            clock=clock,
            settings=settings,
            messenger=messenger,
            customers=CustomerService(db, clock, settings.locale),
            staff=StaffService(db, clock, settings.staff),
            updates=UpdateLog(db, clock),
            stages=StageService(db, clock, settings.stages, settings.outreach),
            outreach=OutreachService(
                db, clock, settings.outreach, settings.locale, messenger, settings.business.name
            ),
        )
