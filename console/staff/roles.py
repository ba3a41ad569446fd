"""What each console role (账号角色) works from and may do: one table.

Grid workers handle what the hotline dispatched to their grids: they start (or 接单,
已到场), reply, resolve, escalate (or 需要协调), send a ticket back (退回) or ask for more
time (申请延期); their queue opens on their open tasks and has no review view. Hotline staff
review, correct, dispatch, transfer, merge, reject, close, urge, record follow-up calls and
reopen; a department without an account of its own returns a ticket or asks for more time
through them. Admins are the supervisors besides:
they approve or refuse extensions and put tickets under supervision (督办). Rating is the
resident's alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Role
from casestore.services import lifecycle

RESIDENT_ONLY = frozenset({"rate"})
SUPERVISOR_ONLY = frozenset({"approve_extension", "deny_extension", "supervise"})
EVERY_ACTION = frozenset(lifecycle.ALLOWED_FROM) - RESIDENT_ONLY
FIELD_STEPS = frozenset({"accept", "arrive", "coordinate"})  # 接单 已到场 需要协调


@dataclass(frozen=True)
class RoleRules:
    views: tuple[str, ...]  # the queue's views (labels.QUEUE_VIEW), the default first
    actions: frozenset[str]  # the ticket actions this role may take


ROLES: dict[Role, RoleRules] = {
    Role.STAFF: RoleRules(
        views=("review", "tasks", "mine", "open", "all"),
        actions=EVERY_ACTION - SUPERVISOR_ONLY,
    ),
    Role.ADMIN: RoleRules(
        views=("review", "tasks", "mine", "open", "all"),
        actions=EVERY_ACTION,
    ),
    Role.GRID_WORKER: RoleRules(
        views=("tasks", "mine", "open", "all"),
        actions=frozenset({"start", "reply", "resolve", "escalate", "return", "request_extension"})
        | FIELD_STEPS,
    ),
    # Volunteers file reports on the bot and the field page and see their own only: no queue
    # of tickets, no actions (console.staff.auth keeps them to the field pages).
    Role.VOLUNTEER: RoleRules(views=("mine",), actions=frozenset()),
}
