"""What campaign use cases return: the preview, the statistics, and their errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from care.errors import CareError
from care.ports import SendStatus
from storage.segments import CustomerFacts

EXCLUSIONS = (
    "no_chat",
    "opted_out",
    "opted_out_promotions",
    "unreachable",
    "open_complaint",
    "cap",
)


class UnknownCampaign(CareError):
    """No campaign has this id."""

    key = "campaigns.error.unknown"

    def __init__(self, campaign_id: int) -> None:
        super().__init__(f"unknown campaign {campaign_id}")
        self.fields = {"id": campaign_id}


class CampaignClosed(CareError):
    """The campaign was already confirmed, finished or cancelled."""

    key = "campaigns.error.closed"

    def __init__(self, campaign_id: int, status: str) -> None:
        super().__init__(f"campaign {campaign_id} is {status}")
        self.fields = {"id": campaign_id, "status": status}


@dataclass(frozen=True, slots=True)
class Recipient:
    """One customer who gets the campaign, in which language, and when."""

    customer: CustomerFacts
    lang: str
    due: datetime
    held: bool  # moved past the customer's quiet hours


@dataclass(frozen=True, slots=True)
class Preview:
    """What a campaign will do: who gets it (by language), who not and why, the texts."""

    campaign_id: int | None
    name: str
    filter: str
    recipients: int
    excluded: dict[str, int]
    quiet_hours: int  # recipients whose message waits for the end of their quiet hours
    by_language: dict[str, int]
    texts: dict[str, str]  # what each language's customers get
    missing: tuple[str, ...]  # languages without their own text (they get `texts[lang]`)
    at: str | None
    photo: str | None
    button: str | None
    status: str = "draft"

    def as_json(self) -> dict[str, object]:
        """The `carebot campaign send --json` object."""
        return {"campaign": self.campaign_id, "recipients": self.recipients,
                "excluded": dict(self.excluded)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CampaignStats:
    """Where a campaign's messages stand."""

    campaign_id: int
    name: str
    status: str
    recipients: int
    excluded: dict[str, int]
    queued: int
    sent: int
    failed: int
    skipped: int
    replies: int = 0  # recipients who wrote to the bot after it reached them
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def blocked(self) -> int:
        """Messages refused because the customer blocked the bot (403) during the campaign."""
        return self.failed_by_reason.get(SendStatus.BLOCKED.value, 0)

    def as_json(self) -> dict[str, int]:
        """The `carebot campaign status --json` object."""
        return {"queued": self.queued, "sent": self.sent, "failed": self.failed,
                "skipped": self.skipped}  # fmt: skip
