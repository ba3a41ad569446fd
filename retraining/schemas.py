"""Request and response bodies of the training-example API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.ticket_number import PATTERN as TICKET_NUMBER_PATTERN
from retraining.models import ExampleSource


class TrainingExampleIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=2000)
    intent: str | None = Field(default=None, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)
    source: ExampleSource
    predicted_intent: str | None = Field(default=None, max_length=64)
    predicted_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    ticket_number: str | None = Field(default=None, pattern=TICKET_NUMBER_PATTERN)
    conversation_id: str | None = Field(default=None, max_length=128)


class TrainingExampleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    text: str
    intent: str | None
    subcategory: str | None
    source: str
    status: str
    predicted_intent: str | None
    predicted_confidence: float | None
    ticket_number: str | None
    created_by: str
    created_at: datetime


class TrainingExamplePage(BaseModel):
    items: list[TrainingExampleOut]
    total: int
