"""Tests mirror modules: every production module has its own test module (``tests/<package>/
test_<module>.py``) or is covered by the test module named for it below.

Runs in either environment (it only reads file names). A new module without a test fails here;
so does a map entry whose test module was renamed away.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "core", "grids", "accounts", "retraining", "casestore", "console", "webapp", "cli", "bot",
    "actions", "nlu",
)  # fmt: skip

# module → the test module that covers it (integration, story and browser tests included).
COVERED_BY = {
    # tables and schemas are exercised by the tests of the services and routes that use them
    "accounts/models.py": "tests/accounts/test_service.py",
    "casestore/models.py": "tests/casestore/test_tickets_api.py",
    "casestore/schemas.py": "tests/casestore/test_tickets_api.py",
    "retraining/models.py": "tests/retraining/test_examples.py",
    "retraining/schemas.py": "tests/retraining/test_api.py",
    "webapp/schema.py": "tests/webapp/test_migrations.py",
    # case store: the HTTP API's tests drive the services behind it
    "casestore/api/routes/tickets.py": "tests/casestore/test_tickets_api.py",
    "casestore/services/tickets.py": "tests/casestore/test_tickets_api.py",
    "casestore/api/routes/attachments.py": "tests/casestore/test_lifecycle.py",
    "casestore/services/attachments.py": "tests/casestore/test_lifecycle.py",
    "casestore/api/routes/notifications.py": "tests/casestore/test_lifecycle.py",
    "casestore/services/notifications.py": "tests/casestore/test_lifecycle.py",
    # core
    "core/audit.py": "tests/accounts/test_service.py",
    "core/db.py": "tests/webapp/test_migrations.py",
    "core/deps.py": "tests/casestore/test_tickets_api.py",
    "grids/registry.py": "tests/grids/test_formats.py",
    # console
    "console/paths.py": "tests/console/test_rendering.py",
    "console/staff/charts.py": "tests/console/test_training.py",
    "console/staff/taxonomy.py": "tests/console/test_training.py",
    "console/staff/mapsvg.py": "tests/console/test_tickets.py",
    # the app and the CLI
    "webapp/app.py": "tests/console/test_routes.py",
    "webapp/migrate.py": "tests/webapp/test_migrations.py",
    "webapp/ready.py": "tests/integration/test_intake.py",
    "cli/context.py": "tests/cli/test_main.py",
    # Telegram: the bot runs against the fake Bot API in its own and the integration tests
    "bot/__main__.py": "tests/bot/test_main.py",
    "bot/app.py": "tests/bot/test_webhook.py",
    "bot/casestore.py": "tests/integration/test_telegram.py",
    "bot/notifications.py": "tests/bot/test_handlers.py",
    "bot/rasa.py": "tests/integration/test_telegram.py",
    "bot/sender.py": "tests/integration/test_telegram.py",
    "bot/status.py": "tests/integration/test_telegram.py",
    "bot/tasks.py": "tests/bot/test_webhook.py",
    "bot/texts.py": "tests/bot/test_render.py",
    # actions: unit tests per flow, dialogue paths in the story tests, all of it end to end
    "actions/api/casestore.py": "tests/actions/test_petition_form.py",
    "actions/api/rasa.py": "tests/actions/test_petition_form.py",
    "actions/clarify.py": "tests/actions/test_petition_form.py",
    "actions/conversation.py": "tests/actions/test_validators.py",
    "actions/grid.py": "tests/actions/test_petition_form.py",
    "actions/settings.py": "tests/actions/test_project.py",
    "actions/taxonomy.py": "tests/actions/test_project.py",
    "actions/responses.py": "tests/actions/test_project.py",
    "actions/summary.py": "tests/test_stories.yml",
    "actions/emergency.py": "tests/test_stories.yml",
    "actions/handoff.py": "tests/test_stories.yml",
    # nlu: components are trained and used together
    "nlu/linear_component.py": "tests/nlu/test_linear_classifiers.py",
    "nlu/linear_intent.py": "tests/nlu/test_linear_classifiers.py",
    "nlu/subcategory.py": "tests/nlu/test_linear_classifiers.py",
    "nlu/text_features.py": "tests/nlu/test_linear_classifiers.py",
    "nlu/stored_component.py": "tests/nlu/test_emergency.py",
    "nlu/evaluate_model.py": "tests/integration/test_retraining.py",
}


def production_modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if path.name != "__init__.py" and "/migrations/" not in relative:
                found.append(relative)
    return found


def own_test(module: str) -> Path:
    package, _, name = module.rpartition("/")
    top = package.split("/")[0]
    return ROOT / "tests" / top / f"test_{Path(name).stem}.py"


def test_every_module_has_a_test_module() -> None:
    missing = [m for m in production_modules() if not own_test(m).exists() and m not in COVERED_BY]
    assert not missing, f"add tests/<package>/test_<module>.py or a COVERED_BY entry: {missing}"


def test_the_named_test_modules_exist_and_the_map_is_current() -> None:
    modules = set(production_modules())
    assert not [m for m in COVERED_BY if m not in modules], "map entries for removed modules"
    assert not [t for t in COVERED_BY.values() if not (ROOT / t).exists()]
    assert not [m for m in COVERED_BY if own_test(m).exists()], "has its own test module now"
