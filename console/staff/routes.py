"""The staff console's wiring: every page group's router, and the error pages."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from console.staff import (
    account,
    alerts,
    assessment,
    dashboard,
    disputes,
    field,
    intake,
    login,
    patrol,
    queue,
    records,
    reports,
    taxonomy,
    tickets,
    training,
    users,
)
from console.staff.rendering import install_error_pages

ROUTERS: tuple[APIRouter, ...] = (
    login.router,
    queue.router,
    tickets.router,
    records.router,
    dashboard.router,
    intake.router,
    users.router,
    training.router,
    taxonomy.router,
    alerts.router,
    assessment.router,
    reports.router,
    disputes.router,
    account.router,
    field.router,
    patrol.router,
)


def install(app: FastAPI) -> None:
    """Mount the console and turn its exceptions into pages."""
    for router in ROUTERS:
        app.include_router(router)
    install_error_pages(app)
