"""The retraining loop: correction → accepted → trained → compared → active → rolled back.

Runs its own stack (the activation swaps that stack's model) and trains once with the small
test configuration (tests/data/config-small.yml).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.services import ROOT, Stack, start_stack

pytestmark = pytest.mark.integration

PETITION = str(ROOT / ".venv" / "bin" / "petition")
SMALL_CONFIG = ROOT / "tests" / "data" / "config-small.yml"
# Misread by the seed model as civil affairs (盲人 → disability); staff file it as transport.
PHRASE = "共享单车把盲道全占了，盲人根本没法走"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("retraining"))
    yield running
    running.stop()


def petition(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PETITION, *args], env=stack.env, cwd=ROOT, capture_output=True,
                          text=True, timeout=900, check=False)  # fmt: skip


def intent_of(stack: Stack, text: str) -> str:
    response = httpx.post(
        f"{stack.rasa_url}/model/parse",
        params={"token": stack.env["RASA_TOKEN"]},
        json={"text": text},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["intent"]["name"])


def test_a_correction_retrains_the_bot_and_rollback_restores_it(own_stack: Stack) -> None:
    stack, api = own_stack, own_stack.api_headers()
    before = intent_of(stack, PHRASE)
    assert before != "report_transportation"
    draft = {
        "submission_key": "retraining-0001",
        "category": before.removeprefix("report_"),
        "description": PHRASE,
        "anonymous": True,
        "channel": "webchat",
        "conversation_id": "web-retraining",
        "transcript": [{"role": "resident", "text": PHRASE}],
    }
    number = httpx.post(f"{stack.app_url}/api/v1/tickets", json=draft, headers=api).json()["number"]
    corrected = httpx.post(
        f"{stack.app_url}/api/v1/tickets/{number}/actions",
        json={"action": "correct", "actor": "staff:test", "category": "transportation"},
        headers=api,
    )
    assert corrected.status_code == 200, corrected.text
    [example] = httpx.get(
        f"{stack.app_url}/api/v1/training-examples?source=correction", headers=api
    ).json()["items"]
    assert (example["text"], example["intent"]) == (PHRASE, "report_transportation")
    accepted = httpx.post(
        f"{stack.app_url}/api/v1/training-examples/{example['id']}/review",
        json={"action": "accept", "actor": "admin:test"},
        headers=api,
    )
    assert accepted.json()["status"] == "accepted"

    trained = petition(stack, "train", "--config", str(SMALL_CONFIG))
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "1 条已采纳样本" in trained.stdout and "宏平均F1" in trained.stdout
    listed = petition(stack, "models", "list").stdout
    assert "initial" in listed and "active" in listed and "candidate" in listed
    candidate = next(line.split()[1] for line in listed.splitlines() if "candidate" in line)

    activated = petition(stack, "models", "activate", candidate, "--reason", "测试用的小模型")
    assert activated.returncode == 0, activated.stderr
    # each request on a new connection: whichever worker takes it answers with the new model
    assert {intent_of(stack, PHRASE) for _ in range(12)} == {"report_transportation"}
    assert Path(stack.env["MODEL_DIR"], "petition.tar.gz").stat().st_size > 0

    rolled_back = petition(stack, "models", "rollback")
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert "initial" in rolled_back.stdout
    assert {intent_of(stack, PHRASE) for _ in range(12)} == {before}
    again = petition(stack, "models", "activate", "no-such-version")
    assert again.returncode == 2 and "未找到模型版本" in again.stderr
