"""民生档案 pages: a resident's requests and a place's requests, from a ticket (audited)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from casestore.services import records
from console.staff.auth import StaffDep
from console.staff.queue import row_view
from console.staff.rendering import TicketNotVisibleError, render
from console.staff.tickets import visible_ticket
from core import audit, labels
from core.deps import SessionDep, TaxonomyDep
from grids.api import RegistryDep

router = APIRouter(tags=["console"], include_in_schema=False)

TITLES = {"resident": "民生档案：该市民的全部诉求", "place": "民生档案：该地点的全部诉求"}
EMPTY = {
    "resident": "该工单为匿名反映，或没有留下联系方式，不建立个人档案",
    "place": "该工单没有可用的地点或网格，无法按地点汇总",
}


@router.get("/tickets/{number}/records/{kind}", response_class=HTMLResponse)
def record_page(
    number: str,
    kind: str,
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> HTMLResponse:
    if kind not in TITLES:
        raise TicketNotVisibleError(number)
    ticket = visible_ticket(session, staff, number)
    build = records.resident_record if kind == "resident" else records.place_record
    record = build(session, ticket, staff.grid_scope)
    audit.record(session, actor=staff.actor, action=f"record_view_{kind}",
                 object_type="ticket", object_id=number)  # fmt: skip
    rated = record.rated if record else 0
    context = {
        "staff": staff,
        "ticket": ticket,
        "kind": kind,
        "title": TITLES[kind],
        "empty": EMPTY[kind],
        "record": record,
        "rows": [row_view(t, taxonomy, registry) for t in record.tickets] if record else [],
        "satisfaction": f"{record.satisfied / rated:.0%}" if record and rated else "—",
        "place": ticket.location_text,
        "grid": registry.full_name(ticket.grid_code) if ticket.grid_code in registry.grids else "",
        "rating_labels": labels.RATING,
    }
    return render(request, "records.html", context)
