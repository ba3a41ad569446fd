"""Admin pages for retraining: inbox, data view, training jobs, model versions."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from console.staff.auth import AdminDep, FormDataDep, check_csrf
from console.staff.charts import confusion_svg
from console.staff.rendering import detail, render
from core import audit, labels
from core.db import session_scope
from core.deps import SessionDep, SettingsDep, TaxonomyDep
from core.taxonomy import Taxonomy
from retraining import datasets, examples, jobs, pipeline, versions
from retraining.models import JobStatus, ModelVersion
from retraining.switcher import Switcher
from retraining.workspace import Workspace

router = APIRouter(prefix="/admin", tags=["console"], include_in_schema=False)

PAGE = 100
COLLECTED_PAGE = 50  # accepted examples per page of the data view (each one a form)

# The Chinese labels of the intents that are not categories (core/labels.yml ``intent``;
# core/labels.py gives this table no name of its own yet).
INTENT = labels.INTENT


NOT_HERE = (
    "此训练任务不是在这里启动的（如命令行 petition train），无法在这里取消，请在启动它的地方停止"
)


def intent_choices(taxonomy: Taxonomy, intents: tuple[str, ...]) -> list[tuple[str, str]]:
    """'intent|subcategory' values for one select: categories, their subcategories, others."""
    choices: list[tuple[str, str]] = []
    for category in taxonomy.categories:
        choices.append((f"{category.intent}|", category.name))
        choices += [(f"{category.intent}|{s.code}", f"　{category.name} / {s.name}")
                    for s in category.subcategories]  # fmt: skip
    choices += [(f"{i}|", labels.label(INTENT, i)) for i in intents if not i.startswith("report_")]
    return choices


def label_name(taxonomy: Taxonomy, intent: str | None, sub: str | None = None) -> str:
    """The Chinese name of a label: the category (and subcategory), or the intent's label."""
    if not intent:
        return "（无）"
    if intent.startswith("report_"):
        category = taxonomy.get(intent[len("report_") :])
        if category:
            subcategory = category.subcategory(sub)
            return category.name + (f" / {subcategory.name}" if subcategory else "")
    return labels.label(INTENT, intent)


def class_names(taxonomy: Taxonomy) -> dict[str, str]:
    """Names of the classes a comparison reports: category codes and the other intents."""
    return {**INTENT, **{c.code: c.name for c in taxonomy.categories}}


def origin_name(origin: str) -> str:
    """Where an example comes from: an accepted example (#id) or a data file."""
    return f"已采纳样本 {origin}" if origin.startswith("#") else f"文件 {origin}"


def _back(path: str, error: str) -> RedirectResponse:
    """Back to a page with a message (encoded: messages contain '#', '&' …)."""
    return RedirectResponse(f"{path}?{urlencode({'error': error})}", status_code=303)


def _intents(request: Request) -> tuple[str, ...]:
    project = request.app.state.settings.project_dir
    return examples.domain_intents(project / "domain.yml")


# ---------------------------------------------------------------- inbox


@router.get("/training", response_class=HTMLResponse)
def inbox(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    staff: AdminDep,
    source: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str, Query(pattern="^(pending|accepted|rejected)$")] = "pending",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    error: str | None = None,
) -> HTMLResponse:
    rows, total = examples.page(
        session=session, status=status, source=source or None, page=page, size=PAGE
    )
    context = {
        "staff": staff,
        "rows": [
            {
                "example": r,
                "label": label_name(taxonomy, r.intent, r.subcategory),
                "predicted": label_name(taxonomy, r.predicted_intent),
                "source": labels.label(labels.EXAMPLE_SOURCE, r.source),
            }
            for r in rows
        ],
        "total": total,
        "counts": examples.counts_by_status(session=session),
        "status": status,
        "source": source or "",
        "choices": intent_choices(taxonomy, _intents(request)),
        "page": page,
        "error": error,
        "done": request.query_params.get("done", ""),
    }
    return render(request, "training_inbox.html", context)


@router.post("/training/review", response_class=HTMLResponse)
def review(
    request: Request,
    form: FormDataDep,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    staff: AdminDep,
) -> Response:
    """One example (buttons on its row) or the ticked ones (bulk), accepted/relabelled/rejected."""
    action = str(form.get("action") or "")
    one_action, _, one_id = str(form.get("one") or "").partition(":")
    if one_id.isdigit():  # the buttons on a row
        action, ids = one_action, [int(one_id)]
    else:
        ids = [int(str(v)) for v in form.getlist("ids") if str(v).isdigit()]
    if not ids:
        return _back("/admin/training", "请先勾选样本")
    decisions = []
    for example_id in ids:
        label = str(form.get(f"label_{example_id}") or form.get("label") or "")
        intent, _, sub = label.partition("|")
        decisions.append(examples.Decision(example_id, action, intent or None, sub or None))
    try:
        done = examples.review_all(
            session=session,
            decisions=decisions,
            actor=staff.actor,
            taxonomy=taxonomy,
            intents=_intents(request),
        )
    except examples.ReviewError as exc:
        return _back("/admin/training", str(exc))
    return RedirectResponse(f"/admin/training?done={done}", status_code=303)


# ---------------------------------------------------------------- data view


@router.get("/training/data", response_class=HTMLResponse)
def data_view(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    settings: SettingsDep,
    staff: AdminDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    error: str | None = None,
) -> HTMLResponse:
    """Counts from SQL and parsed-once files; the quality check comes from the background
    (``datasets.QualityChecks``); accepted examples one page at a time."""
    workspace = Workspace.from_settings(settings)
    seed = datasets.training_items(workspace)
    counts = datasets.count(seed=seed, accepted=examples.accepted_label_counts(session))
    factory = request.app.state.sessionmaker

    def everything() -> list[datasets.Item]:
        with session_scope(factory) as own:
            rows = examples.accepted_texts(own)
        return [*seed, *(datasets.Item(t, i, s, f"#{n}") for n, t, i, s in rows)]

    stamp = (datasets.data_stamp(workspace), examples.accepted_stamp(session))
    quality, current = datasets.QUALITY.latest(settings.database_url, stamp, everything)
    collected, collected_total = examples.accepted_page(session, page=page, size=COLLECTED_PAGE)
    context = {
        "staff": staff,
        "counts": counts,
        "quality": quality,
        "quality_current": current,
        "collected": collected,
        "collected_total": collected_total,
        "page": page,
        "pages": max(1, -(-collected_total // COLLECTED_PAGE)),
        "name": lambda intent, sub=None: label_name(taxonomy, intent, sub),
        "origin": origin_name,
        "choices": intent_choices(taxonomy, _intents(request)),
        "history": audit.recent(session, object_type="training_example", limit=30),
        "error": error,
    }
    return render(request, "training_data.html", context)


@router.post("/training/examples/{example_id}", response_class=HTMLResponse)
def edit_example(
    example_id: int,
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    staff: AdminDep,
    csrf_token: Annotated[str, Form()] = "",
    text: Annotated[str, Form(max_length=2000)] = "",
    label: Annotated[str, Form(max_length=140)] = "",
    delete: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Edit the text or label of a collected example, or delete it; both audited."""
    check_csrf(staff, csrf_token)
    if delete:
        examples.delete(session=session, example_id=example_id, actor=staff.actor)
        return RedirectResponse("/admin/training/data#collected", status_code=303)
    intent, _, sub = label.partition("|")
    try:
        examples.edit(
            session=session,
            example_id=example_id,
            text=text,
            intent=intent or None,
            subcategory=sub or None,
            actor=staff.actor,
            taxonomy=taxonomy,
            intents=_intents(request),
        )
    except examples.ReviewError as exc:
        return _back("/admin/training/data", str(exc))
    return RedirectResponse("/admin/training/data#collected", status_code=303)


# ---------------------------------------------------------------- jobs and models


def _runner(request: Request) -> jobs.JobRunner:
    runner: jobs.JobRunner = request.app.state.jobs
    return runner


def _release(session: Session) -> None:
    """End the request's transaction before handing work to the job runner or the switcher:
    they write with sessions of their own, and SQLite has one writer at a time (this request
    took the write lock when it looked up the signed-in admin)."""
    session.commit()


@router.get("/models", response_class=HTMLResponse)
def models_page(
    request: Request, session: SessionDep, staff: AdminDep, error: str | None = None
) -> HTMLResponse:
    running = jobs.running_job(session=session)  # whoever started it: console, CLI …
    context = {
        "staff": staff,
        "versions": versions.list_versions(session),
        "version_name": versions.display_name,
        "jobs": jobs.recent_jobs(session=session, limit=10),
        "running": running,
        "stages": pipeline.STAGES,
        "accepted": examples.accepted_count(session=session),
        "error": error,
    }
    return render(request, "models.html", context)


@router.post("/training/jobs")
def start_job(
    request: Request,
    session: SessionDep,
    staff: AdminDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(staff, csrf_token)
    _release(session)
    try:
        job_id = _runner(request).start(staff.actor)
    except jobs.JobConflictError as exc:
        return _back("/admin/models", str(exc))
    return RedirectResponse(f"/admin/training/jobs/{job_id}", status_code=303)


@router.get("/training/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: int, request: Request, session: SessionDep, staff: AdminDep) -> Response:
    jobs.running_job(session=session)  # a job whose process is gone shows as interrupted
    job = jobs.get_job(session=session, job_id=job_id)
    if job is None:
        return _back("/admin/models", "未找到该训练任务")
    version = (
        versions.get_version(session=session, version_id=job.model_version_id)
        if job.model_version_id
        else None
    )
    context = {
        "staff": staff,
        "job": job,
        "stages": pipeline.STAGES,
        "own": _runner(request).owns(job.id),
        "version": versions.display_name(version) if version else "",
        "error": request.query_params.get("error"),
    }
    return render(request, "training_job.html", context)


@router.get("/training/jobs/{job_id}/progress")
def job_progress(
    job_id: int,
    session: SessionDep,
    staff: AdminDep,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """Live view: status, stage and the log from `offset` on (polled by the page)."""
    job = jobs.get_job(session=session, job_id=job_id)
    if job is None:
        return JSONResponse({"detail": "未找到该训练任务"}, status_code=404)
    text, next_offset = jobs.read_log(job.log_path, offset)
    return JSONResponse(
        {
            "status": job.status,
            "status_label": labels.label(labels.JOB_STATUS, job.status),
            "stage": pipeline.STAGES.get(job.stage, job.stage),
            "error": job.error,
            "log": text,
            "offset": next_offset,
            "model_version_id": job.model_version_id,
            "finished": job.status != JobStatus.RUNNING,
        }
    )


@router.post("/training/jobs/{job_id}/cancel")
def cancel_job(
    job_id: int,
    request: Request,
    session: SessionDep,
    staff: AdminDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(staff, csrf_token)
    _release(session)
    runner = _runner(request)
    if not runner.owns(job_id):
        job = jobs.get_job(session=session, job_id=job_id)
        if job is not None and job.status == JobStatus.RUNNING:
            return _back(f"/admin/training/jobs/{job_id}", NOT_HERE)
    runner.cancel(job_id, staff.actor)
    return RedirectResponse(f"/admin/training/jobs/{job_id}", status_code=303)


@router.get("/models/{version_id}", response_class=HTMLResponse)
def version_page(
    version_id: int,
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    staff: AdminDep,
    error: str | None = None,
) -> Response:
    version = versions.get_version(session=session, version_id=version_id)
    if version is None:
        return _back("/admin/models", "未找到该模型版本")
    comparison: dict[str, Any] = dict(version.metrics.get("comparison") or {})
    confusion = version.metrics.get("confusion") or comparison.get("confusion")
    names = class_names(taxonomy)
    context = {
        "staff": staff,
        "version": version,
        "version_name": versions.display_name(version),
        "comparison": comparison,
        "names": names,
        "chart": confusion_svg(confusion, names) if confusion else None,
        "error": error,
        "switch": request.app.state.switcher.state(version.id),
        "history": _version_history(session, version, taxonomy),
    }
    return render(request, "model_version.html", context)


def _version_history(
    session: Session, version: ModelVersion, taxonomy: Taxonomy
) -> list[dict[str, Any]]:
    """The version's audit records, versions named as admins know them (not file names)."""
    names = versions.display_names(session)
    shown = []
    for event in versions.history(session=session, version_id=version.id):
        data = {
            key: names.get(value, value) if key in ("name", "previous") and value else value
            for key, value in (event.data or {}).items()
        }
        shown.append({"event": event, "detail": detail(data, taxonomy)})
    return shown


@router.post("/models/{version_id}/activate")
def activate(
    version_id: int,
    request: Request,
    session: SessionDep,
    staff: AdminDep,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    rollback: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Checked at once; the swap itself runs in the background (``retraining.switcher``)."""
    check_csrf(staff, csrf_token)
    _release(session)
    switcher: Switcher = request.app.state.switcher
    try:
        switcher.request(
            version_id,
            actor=staff.actor,
            rollback=bool(rollback),
            override_reason=reason.strip() or None,
        )
    except versions.RegistryError as exc:
        return _back(f"/admin/models/{version_id}", str(exc))
    return RedirectResponse(f"/admin/models/{version_id}", status_code=303)
