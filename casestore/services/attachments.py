"""Photos residents send (附件): checked, stored, linked to their ticket."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casestore.models import Attachment, Ticket, TicketEvent
from core.clock import utcnow

MAX_BYTES = 10 * 1024 * 1024
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 60_000_000
# 办理照片: a photo the handler took of the result, kept beside the resident's own photos.
RESULT_PHOTO_CHANNEL = "console"


class AttachmentTooLargeError(ValueError):
    """More than MAX_BYTES (HTTP 413)."""


class UnsupportedMediaError(ValueError):
    """Not a JPEG, PNG or WebP image (HTTP 415)."""


def sniff_image(data: bytes) -> str:
    """The content type read from the bytes themselves, never from the sender's claim."""
    if len(data) > MAX_BYTES:
        raise AttachmentTooLargeError(f"图片不能超过 {MAX_BYTES // (1024 * 1024)} MB")
    if not data:
        raise UnsupportedMediaError("文件是空的")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            width, height = image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise UnsupportedMediaError("只接受 JPEG、PNG 或 WebP 格式的图片") from exc
    if fmt not in ALLOWED_FORMATS:
        raise UnsupportedMediaError("只接受 JPEG、PNG 或 WebP 格式的图片")
    if width * height > MAX_PIXELS:
        raise AttachmentTooLargeError("图片尺寸过大")
    return ALLOWED_FORMATS[fmt]


def store_attachment(
    *,
    session: Session,
    data: bytes,
    filename: str,
    conversation_id: str,
    channel: str,
    ticket: Ticket | None = None,
) -> Attachment:
    content_type = sniff_image(data)
    attachment = Attachment(
        ticket=ticket,
        conversation_id=conversation_id,
        channel=channel,
        filename=filename[:200],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=utcnow(),
    )
    session.add(attachment)
    session.flush()
    return attachment


def add_result_photo(
    *, session: Session, ticket: Ticket, data: bytes, filename: str, actor: str
) -> Attachment:
    """The handler's photo of the result (办理照片), checked like a resident's, and its event."""
    attachment = store_attachment(
        session=session,
        data=data,
        filename=filename,
        conversation_id=ticket.conversation_id or "",
        channel=RESULT_PHOTO_CHANNEL,
        ticket=ticket,
    )
    ticket.events.append(
        TicketEvent(
            kind="result_photo",
            actor=actor,
            data={"attachment_id": attachment.id},
            created_at=utcnow(),
        )
    )
    return attachment


def link_pending(*, session: Session, ticket: Ticket) -> int:
    """Attach the photos sent in the conversation before the ticket was filed."""
    if not ticket.conversation_id:
        return 0
    pending = session.scalars(
        select(Attachment).where(
            Attachment.conversation_id == ticket.conversation_id,
            Attachment.ticket_id.is_(None),
        )
    ).all()
    for attachment in pending:
        attachment.ticket = ticket
    return len(pending)


def first_attachment_ids(*, session: Session, ticket_ids: list[int]) -> dict[int, int]:
    """ticket id → id of its first photo, for the tickets that have one."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(Attachment.ticket_id, func.min(Attachment.id))
        .where(Attachment.ticket_id.in_(ticket_ids))
        .group_by(Attachment.ticket_id)
    ).all()
    return {int(ticket_id): int(first) for ticket_id, first in rows if ticket_id is not None}


def public_attachment(*, session: Session, attachment_id: int) -> Attachment | None:
    """A photo of a filed ticket (photos of unfinished conversations are never public)."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.ticket_id is None:
        return None
    return attachment


def get_attachment(*, session: Session, attachment_id: int) -> Attachment | None:
    """Any stored photo, filed or not (callers check whose it is)."""
    return session.get(Attachment, attachment_id)
