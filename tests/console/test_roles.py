"""The console's role table (console/staff/roles.py): views and actions per role."""

from __future__ import annotations

from accounts.models import Role
from casestore.services import lifecycle
from console.staff.queue import VIEW_STATUSES
from console.staff.roles import ROLES
from core import labels


def test_every_role_has_known_views_and_actions_and_nobody_rates_for_the_resident() -> None:
    assert set(ROLES) == set(Role)
    for rules in ROLES.values():
        assert set(rules.views) <= set(VIEW_STATUSES) <= set(labels.QUEUE_VIEW)
        assert rules.actions <= set(lifecycle.ALLOWED_FROM) and "rate" not in rules.actions


def test_grid_workers_handle_the_hotline_reviews_and_admins_supervise() -> None:
    worker, staff, admin = ROLES[Role.GRID_WORKER], ROLES[Role.STAFF], ROLES[Role.ADMIN]
    assert worker.views[0] == "tasks" and "review" not in worker.views
    assert staff.views[0] == admin.views[0] == "review"
    assert {"dispatch", "correct", "merge", "reject", "close", "transfer"}.isdisjoint(
        worker.actions
    )
    assert {"return", "request_extension", "resolve"} <= worker.actions
    supervision = {"approve_extension", "deny_extension", "supervise"}
    assert supervision <= admin.actions and supervision.isdisjoint(staff.actions)
    assert admin.actions == set(lifecycle.ALLOWED_FROM) - {"rate"}
