"""Admin page: the 12345 taxonomy, extended with a subcategory or a new category.

Additions are runtime state (``var/taxonomy-additions.yml``); data/taxonomy.yml, domain.yml
and data/ stay as checked in. The bot learns a new category at the next training.
"""

from __future__ import annotations

import re
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console.staff.auth import AdminDep, FormDep, Staff
from console.staff.rendering import render
from core.deps import SessionDep, SettingsDep, TaxonomyDep
from core.taxonomy import Taxonomy, intent_of
from retraining import taxonomy_edit

router = APIRouter(prefix="/admin", tags=["console"], include_in_schema=False)


def _page(
    request: Request,
    staff: Staff,
    taxonomy: Taxonomy,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "staff": staff,
        "taxonomy": taxonomy,
        "error": error,
        "done": "" if values is not None else request.query_params.get("done", ""),
        "values": values or {},
    }
    return render(request, "taxonomy.html", context, status_code=status_code)


@router.get("/taxonomy", response_class=HTMLResponse)
def taxonomy_page(
    request: Request, taxonomy: TaxonomyDep, staff: AdminDep, error: str | None = None
) -> HTMLResponse:
    return _page(request, staff, taxonomy, error=error)


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
def extend(
    request: Request,
    fields: FormDep,
    session: SessionDep,
    settings: SettingsDep,
    taxonomy: TaxonomyDep,
    staff: AdminDep,
) -> Response:
    form = {k: v[:5000] for k, v in fields.items()}
    shipped, additions = settings.data_dir / "taxonomy.yml", settings.taxonomy_additions_path
    try:
        entry = _entry(form)
        extend = partial(
            taxonomy_edit.extend,
            session=session,
            taxonomy_file=shipped,
            additions_file=additions,
            actor=staff.actor,
            entry=entry,
        )
        if form.get("kind") == "category":
            updated = extend(
                first_sub=_entry(form, "sub_"),
                examples=form.get("examples", "").splitlines(),
            )
            what = f"一级分类「{entry.name}」（意图 {intent_of(entry.code)}）"
        else:
            updated = extend(category_code=form.get("category", ""))
            what = f"二级分类「{entry.name}」"
    except taxonomy_edit.TaxonomyEditError as exc:
        return _page(request, staff, taxonomy, error=str(exc), values=form, status_code=422)
    request.app.state.taxonomy = updated
    return RedirectResponse(f"/admin/taxonomy?done=已添加{what}，下次训练后生效", status_code=303)
