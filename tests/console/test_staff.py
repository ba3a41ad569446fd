"""The staff console's tests are split by page group (test_login, test_queue, test_tickets,
test_intake, test_users, test_rendering, test_routes); their helpers are in staff_fixtures.

These names stay importable from here for tests/console/test_training_pages.py.
"""

from tests.console.staff_fixtures import AUTH, add_user, csrf, file, login

__all__ = ["AUTH", "add_user", "csrf", "file", "login"]
