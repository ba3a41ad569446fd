"""Retraining tables: training examples (训练样本), model versions (模型版本), training jobs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base, UTCDateTime


class ExampleSource(enum.StrEnum):
    """Where a training example came from (provenance)."""

    SEED = "seed"
    CORRECTION = "correction"  # staff corrected a ticket's category
    FALLBACK_CHOICE = "fallback_choice"  # a resident picked a category after low confidence
    LOW_CONFIDENCE = "low_confidence"
    IMPORT = "import"


class TrainingExample(Base):  # 训练样本 (inbox for retraining)
    __tablename__ = "training_example"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))
    subcategory: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    predicted_intent: Mapped[str | None] = mapped_column(String(64))
    predicted_confidence: Mapped[float | None] = mapped_column(Float)
    ticket_number: Mapped[str | None] = mapped_column(String(16))
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ModelStatus(enum.StrEnum):
    CANDIDATE = "candidate"  # trained, not (yet) active
    ACTIVE = "active"
    RETIRED = "retired"  # was active, replaced


class ModelVersion(Base):  # 模型版本
    __tablename__ = "model_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    file_path: Mapped[str] = mapped_column(String(500))
    data_fingerprint: Mapped[str] = mapped_column(String(64))
    example_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=ModelStatus.CANDIDATE, index=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    train_seconds: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_by: Mapped[str | None] = mapped_column(String(64))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TrainingJob(Base):  # 训练任务
    __tablename__ = "training_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.RUNNING, index=True)
    stage: Mapped[str] = mapped_column(String(64), default="")
    requested_by: Mapped[str] = mapped_column(String(64))
    log_path: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str | None] = mapped_column(Text)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_version.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RasaWorker(Base):  # Rasa 服务进程：which model each worker or replica has loaded
    """Written by the model endpoint on every pull (``retraining.serving``)."""

    __tablename__ = "rasa_worker"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid
    model_id: Mapped[str] = mapped_column(String(64))  # the model it runs (its If-None-Match)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
