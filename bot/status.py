"""What /status and /mydata tell a resident about their own tickets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot import texts


def _date(value: object) -> str:
    return str(value or "")[:10]


def ticket_line(ticket: Mapping[str, Any]) -> str:
    parts = [
        str(ticket.get("number", "")),
        str(ticket.get("status_label") or ticket.get("status", "")),
        str(ticket.get("category_name") or ""),
    ]
    if ticket.get("location_text"):
        parts.append(str(ticket["location_text"]))
    parts.append(_date(ticket.get("created_at")))
    return " · ".join(p for p in parts if p)


def ticket_list(tickets: Sequence[Mapping[str, Any]]) -> str:
    if not tickets:
        return texts.STATUS_NONE
    lines = [texts.STATUS_LIST_HEAD.format(count=len(tickets))]
    lines += [f"{i}. {ticket_line(t)}" for i, t in enumerate(tickets, 1)]
    lines.append(texts.STATUS_LIST_TAIL)
    return "\n".join(lines)


def ticket_detail(ticket: Mapping[str, Any]) -> str:
    lines = [
        f"工单 {ticket.get('number', '')}",
        f"状态：{ticket.get('status_label') or ticket.get('status', '')}",
        f"分类：{ticket.get('category_name') or ''}",
    ]
    if ticket.get("location_text"):
        lines.append(f"地点：{ticket['location_text']}")
    handler = ticket.get("assigned_to") or ticket.get("department")  # who handles it now
    if handler:
        lines.append(f"承办单位：{handler}")
    lines.append(f"受理日期：{_date(ticket.get('created_at'))}")
    if ticket.get("due_at"):
        lines.append(f"答复期限：{_date(ticket['due_at'])}")
    if ticket.get("resolution"):
        lines.append(f"办理结果：{ticket['resolution']}")
    return "\n".join(lines)


def my_data(conversation_id: str, tickets: Sequence[Mapping[str, Any]]) -> str:
    """Tickets with what they hold about the resident (attachments come from the details)."""
    lines = [texts.MYDATA_HEAD.format(conversation_id=conversation_id)]
    if not tickets:
        lines.append(texts.MYDATA_NO_TICKETS)
    else:
        lines.append(texts.MYDATA_TICKETS.format(count=len(tickets)))
        for i, ticket in enumerate(tickets, 1):
            fields = [
                str(ticket.get("number", "")),
                str(ticket.get("status_label") or ticket.get("status", "")),
                str(ticket.get("category_name") or ""),
                f"地点：{ticket.get('location_text') or '未填写'}",
                f"电话：{ticket.get('contact_phone') or '未留'}",
                f"照片：{len(ticket.get('attachments') or [])} 张",
            ]
            lines.append(f"  {i}. " + " · ".join(fields))
    lines.append(texts.MYDATA_TAIL)
    return "\n".join(lines)
