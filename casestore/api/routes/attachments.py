"""Photos from residents: channels upload them while the conversation is still going."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile, status

from casestore.models import Attachment, Channel
from casestore.schemas import AttachmentOut
from casestore.services import attachments as attachment_service
from casestore.services import tickets as ticket_service
from core.deps import DbId, ServiceAuth, SessionDep
from core.ticket_number import is_ticket_number

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"], dependencies=[ServiceAuth])


def attachment_out(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.id,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        filename=attachment.filename,
        ticket_number=attachment.ticket.number if attachment.ticket else None,
        url=f"/api/v1/attachments/{attachment.id}",
    )


@router.post("", response_model=AttachmentOut, status_code=status.HTTP_201_CREATED)
def upload(
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    conversation_id: Annotated[str, Form(min_length=1, max_length=128)],
    channel: Annotated[Channel, Form()],
    ticket_number: Annotated[str | None, Form()] = None,
) -> AttachmentOut:
    """Store an image; it joins the next ticket filed in the conversation (or the one named).

    A plain ``def`` (FastAPI's thread pool): the database work must not block the event loop,
    and the upload is already spooled, so reading it here waits on nothing but the disk.
    """
    ticket = None
    if ticket_number:
        if not is_ticket_number(ticket_number):
            raise HTTPException(status_code=422, detail="工单号应为13位数字")
        ticket = ticket_service.get_ticket(session=session, number=ticket_number)
        if ticket is None or ticket.conversation_id != conversation_id:
            raise HTTPException(status_code=404, detail=f"该对话中没有工单 {ticket_number}")
    data = file.file.read(attachment_service.MAX_BYTES + 1)
    try:
        attachment = attachment_service.store_attachment(
            session=session,
            data=data,
            filename=file.filename or "",
            conversation_id=conversation_id,
            channel=channel.value,
            ticket=ticket,
        )
    except attachment_service.AttachmentTooLargeError as exc:
        raise HTTPException(status_code=413, detail=str(exc)) from exc
    except attachment_service.UnsupportedMediaError as exc:
        raise HTTPException(status_code=415, detail=str(exc)) from exc
    if ticket is not None:
        ticket_service.add_event(
            session=session,
            ticket=ticket,
            kind="attachment_added",
            actor="resident",
            data={"attachment_id": attachment.id},
        )
    return attachment_out(attachment)


@router.get("/{attachment_id}", response_model=None)
def download(attachment_id: DbId, session: SessionDep) -> Response:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise HTTPException(status_code=404, detail="未找到该附件")
    return Response(
        content=attachment.data,
        media_type=attachment.content_type,
        headers={"X-Content-Type-Options": "nosniff"},
    )
