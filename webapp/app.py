"""The app on :8000 — case-store API, Open311, console and web chat in one FastAPI app."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm.exc import StaleDataError

from casestore.api.routes import attachments, field, lookup, notifications, open311, tickets
from console import chat
from console.paths import STATIC_DIR
from console.staff import routes as console_routes
from core.db import make_engine, make_sessionmaker
from core.settings import Settings, get_settings
from core.taxonomy import load_taxonomy_with_additions
from grids import api as grids_api
from retraining import api as retraining_api
from retraining import serving
from retraining.jobs import JobConfig, JobRunner
from retraining.switcher import Switcher
from retraining.versions import Deployment
from webapp import errors, security

log = logging.getLogger(__name__)


def _warm_place_resolver(settings: Settings) -> None:
    """Load jieba's dictionary and the place matcher before the first ticket page or intake
    needs them (0.9 s on that page otherwise); in the background: start-up does not wait."""
    try:
        grids_api.resolver_at(settings.data_dir).resolve_text("玉林北路18号")
    except Exception:  # a broken registry shows on the first request, with its own message
        log.exception("warming the place resolver failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; tests pass their own settings (own database, own Rasa URL)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            base_url=settings.rasa_url, timeout=settings.rasa_timeout_seconds
        ) as client:
            app.state.rasa_client = client
            app.state.jobs.recover()
            app.state.warming = threading.Thread(
                target=_warm_place_resolver, args=(settings,), name="warm-resolver", daemon=True
            )
            app.state.warming.start()
            yield
        app.state.engine.dispose()

    app = FastAPI(
        title="市民诉求受理平台 API",
        description="Case store, Open311 GeoReport v2 and web chat of the petition channel.",
        version="0.1.0",
        lifespan=lifespan,
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.taxonomy = load_taxonomy_with_additions(
        settings.data_dir / "taxonomy.yml", settings.taxonomy_additions_path
    )
    app.state.jobs = JobRunner(app.state.sessionmaker, JobConfig.from_settings(settings))
    app.state.switcher = Switcher(app.state.sessionmaker, Deployment.from_settings(settings))

    errors.install(app)
    security.install(app, settings)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return JSONResponse(
            status_code=409, content={"detail": "工单已被他人同时修改，请刷新后再操作"}
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse(status_code=500, content={"detail": "服务器内部错误，请稍后再试"})

    app.include_router(tickets.router)
    app.include_router(lookup.router)
    app.include_router(open311.router)
    app.include_router(retraining_api.router)
    app.include_router(serving.router)
    app.include_router(grids_api.router)
    app.include_router(attachments.router)
    app.include_router(notifications.router)
    app.include_router(field.router)
    app.include_router(chat.router)
    console_routes.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
