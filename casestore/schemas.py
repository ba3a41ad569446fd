"""Request and response bodies of the case-store API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casestore.models import Channel
from core.ticket_number import PATTERN as TICKET_NUMBER_PATTERN

# Mainland mobile numbers, and landlines with an area code (0xx / 0xxx), optional extension.
PHONE_RE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?)$")


class Candidate(BaseModel):
    category: str
    confidence: float = Field(ge=0.0, le=1.0)
    subcategory: str | None = None


class TranscriptLine(BaseModel):
    role: str = Field(pattern="^(resident|bot|staff)$")
    text: str = Field(max_length=5000)
    at: datetime | None = None


class TicketDraft(BaseModel):
    """What a channel submits once the resident confirmed (确认提交)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    submission_key: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9:_\-.]+$")
    category: str = Field(min_length=1, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)
    grid_code: str | None = Field(default=None, max_length=32)
    area_code: str | None = Field(default=None, max_length=32)  # 社区/街道/区, when no grid
    location_text: str = Field(default="", max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    description: str = Field(min_length=2, max_length=2000)
    contact_phone: str | None = None
    anonymous: bool = False
    channel: Channel = Channel.REST
    conversation_id: str | None = Field(default=None, max_length=128)
    nlu_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    nlu_candidates: list[Candidate] = Field(default_factory=list, max_length=10)
    transcript: list[TranscriptLine] = Field(default_factory=list, max_length=500)
    handoff_requested: bool = False
    caller_name: str | None = Field(default=None, max_length=32)  # 来电人 (hotline intake)

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        compact = re.sub(r"[\s()]", "", value)
        if not PHONE_RE.match(compact):
            raise ValueError("联系电话格式不正确，请填写11位手机号或带区号的固定电话")
        return compact

    @model_validator(mode="after")
    def _contact_or_anonymous(self) -> TicketDraft:
        if not self.anonymous and not self.contact_phone:
            raise ValueError("请提供联系电话，或选择匿名反映")
        if self.anonymous:
            self.contact_phone = None
        return self


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    actor: str
    data: dict[str, Any]
    created_at: datetime


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    status: str
    status_label: str
    category: str
    category_name: str
    subcategory: str | None
    grid_code: str | None
    area_code: str | None = None
    grid_name: str | None = None
    grid_worker_name: str | None = None
    grid_worker_phone: str | None = None
    queue: str = ""
    location_text: str
    latitude: float | None
    longitude: float | None
    description: str
    contact_phone: str | None
    anonymous: bool
    channel: str
    conversation_id: str | None
    nlu_confidence: float | None
    nlu_candidates: list[dict[str, Any]]
    handoff_requested: bool
    department: str
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    sla_days: int
    tier: str = "grid"
    assigned_to: str | None = None
    merged_into: str | None = None
    reject_reason: str | None = None
    resolution: str | None = None
    rating: str | None = None
    caller_name: str | None = None
    urge_count: int = 0
    supervised: bool = False
    extension_days: int | None = None
    extension_reason: str | None = None
    version: int = 1


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    content_type: str
    size: int
    sha256: str
    filename: str
    ticket_number: str | None = None
    url: str = ""


class TicketDetail(TicketOut):
    transcript: list[dict[str, Any]]
    events: list[EventOut]
    attachments: list[AttachmentOut] = Field(default_factory=list)


ActionName = Literal[
    "correct",
    "dispatch",
    "start",
    "accept",
    "arrive",
    "coordinate",
    "escalate",
    "reply",
    "resolve",
    "close",
    "reject",
    "merge",
    "reopen",
    "rate",
    "transfer",
    "return",
    "request_extension",
    "approve_extension",
    "deny_extension",
    "urge",
    "supervise",
    "follow_up",
]


class TicketAction(BaseModel):
    """One staff (or resident) action on a ticket; which fields count depends on the action."""

    model_config = ConfigDict(str_strip_whitespace=True)

    action: ActionName
    actor: str = Field(min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1)
    text: str | None = Field(default=None, max_length=2000)
    category: str | None = Field(default=None, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)
    grid_code: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=2000)
    dispatch_to: Literal["grid", "department"] | None = None  # dispatch: default grid if known
    merge_into: str | None = Field(default=None, pattern=TICKET_NUMBER_PATTERN)  # merge
    reason: str | None = Field(default=None, max_length=32)
    rating: str | None = Field(default=None, max_length=32)  # rate; follow_up: its result
    department: str | None = Field(default=None, max_length=64)  # transfer: the new unit
    days: int | None = Field(default=None, ge=1, le=30)  # request_extension: working days


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_number: str
    conversation_id: str
    channel: str
    kind: str
    text: str
    buttons: list[dict[str, str]]
    status: str
    created_at: datetime


class NotificationPage(BaseModel):
    items: list[NotificationOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    total: int


class EventIn(BaseModel):
    kind: str = Field(pattern="^(handoff_requested|resident_message)$")
    actor: str = Field(default="resident", max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)
