"""Admin page: the 12345 taxonomy, extended with a subcategory or a new category.

Additions are runtime state (``var/taxonomy-additions.yml``); data/taxonomy.yml, domain.yml
and data/ stay as checked in. The bot learns a new category at the next training.
"""

from __future__ import annotations

import re
import threading

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console.staff.auth import AdminDep, check_csrf
from console.staff.rendering import render
from core import audit
from core.deps import SessionDep, SettingsDep, TaxonomyDep
from core.taxonomy import TIERS
from retraining import taxonomy_edit

router = APIRouter(prefix="/admin", tags=["console"], include_in_schema=False)
TIER_NAMES = {
    "grid": "网格",
    "community": "社区（村）",
    "street": "街道（乡镇）",
    "district": "区（县）",
}
_write_lock = threading.Lock()  # one edit of the additions file at a time


@router.get("/taxonomy", response_class=HTMLResponse)
def taxonomy_page(
    request: Request, taxonomy: TaxonomyDep, staff: AdminDep, error: str | None = None
) -> HTMLResponse:
    context = {
        "staff": staff,
        "taxonomy": taxonomy,
        "tiers": [(t, TIER_NAMES[t]) for t in TIERS],
        "error": error,
        "done": request.query_params.get("done", ""),
        "values": {},
    }
    return render(request, "taxonomy.html", context)


def _entry(form: dict[str, str], prefix: str = "") -> taxonomy_edit.NewEntry:
    sla = form.get(f"{prefix}sla_days", "")
    if not sla.isdigit():
        raise taxonomy_edit.TaxonomyEditError("办理时限应为整数（工作日）")
    terms = tuple(t for t in re.split(r"[,，、\s]+", form.get(f"{prefix}terms", "")) if t)
    return taxonomy_edit.NewEntry(
        code=form.get(f"{prefix}code", "").strip(),
        name=form.get(f"{prefix}name", "").strip(),
        department=form.get(f"{prefix}department", "").strip(),
        sla_days=int(sla),
        tier=form.get(f"{prefix}tier", ""),
        terms=terms[:30],
    )


@router.post("/taxonomy", response_class=HTMLResponse)
async def extend(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    taxonomy: TaxonomyDep,
    staff: AdminDep,
) -> Response:
    raw = await request.form()
    form = {k: str(v)[:5000] for k, v in raw.items() if isinstance(v, str)}
    check_csrf(staff, form.get("csrf_token"))
    shipped, additions = settings.data_dir / "taxonomy.yml", settings.taxonomy_additions_path
    try:
        with _write_lock:
            if form.get("kind") == "category":
                entry = _entry(form)
                updated = taxonomy_edit.add_category(
                    taxonomy_file=shipped,
                    additions_file=additions,
                    entry=entry,
                    first_sub=_entry(form, "sub_"),
                    examples=form.get("examples", "").splitlines(),
                )
                what = f"一级分类「{entry.name}」（意图 report_{entry.code}）"
            else:
                entry = _entry(form)
                updated = taxonomy_edit.add_subcategory(
                    taxonomy_file=shipped,
                    additions_file=additions,
                    category_code=form.get("category", ""),
                    entry=entry,
                )
                what = f"二级分类「{entry.name}」"
    except taxonomy_edit.TaxonomyEditError as exc:
        context = {
            "staff": staff,
            "taxonomy": taxonomy,
            "tiers": [(t, TIER_NAMES[t]) for t in TIERS],
            "error": str(exc),
            "done": "",
            "values": form,
        }
        return render(request, "taxonomy.html", context, status_code=422)
    request.app.state.taxonomy = updated
    audit.record(session, actor=staff.actor, action="taxonomy_add", object_type="taxonomy",
                 object_id=entry.code, data={k: v for k, v in form.items()
                                             if k not in {"csrf_token", "examples"}})  # fmt: skip
    return RedirectResponse(f"/admin/taxonomy?done=已添加{what}，下次训练后生效", status_code=303)
