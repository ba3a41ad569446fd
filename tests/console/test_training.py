"""Admin retraining pages: inbox review, data view, training job, comparison, activation.

Rasa is faked at its edges: a fake Rasa environment (``rasa train`` and the evaluator as
scripts) and a fake Rasa HTTP API on loopback that takes the hot swap. Activations run in the
background (``retraining.switcher``): tests wait for the app's switcher before looking.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import Role
from core.clock import utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from retraining import datasets, job_slot, versions
from retraining.models import TrainingExample
from retraining.workspace import Workspace
from tests.console.staff_fixtures import AUTH, add_user, csrf, file, login
from tests.retraining import fixtures
from tests.retraining.fake_rasa import FakeRasaServer, calls
from tests.retraining.test_switcher import BETTER, baseline
from tests.retraining.test_versions import candidate
from webapp.app import create_app

# The fixtures of the retraining tests: a project copy, a fake Rasa environment and server.
project, rasa_env, fake_rasa = fixtures.project, fixtures.rasa_env, fixtures.fake_rasa
own_settings, factory, workspace = fixtures.own_settings, fixtures.factory, fixtures.workspace


def app_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def wait_for_switch(client: TestClient) -> None:
    """Until the app's background model switch is over."""
    client.app.state.switcher.wait(30)  # type: ignore[attr-defined]


def active_name(factory: sessionmaker[Session]) -> str | None:
    with session_scope(factory) as session:
        active = versions.active_version(session)
        return active.name if active else None


@pytest.fixture
def admin(own_settings: Settings, fake_rasa: FakeRasaServer) -> Iterator[TestClient]:
    """An admin signed in; "make train" built the running model, which knows nothing."""
    (own_settings.model_dir / versions.ACTIVE_FILE).write_bytes(b"initial model")
    with app_for(own_settings) as client:
        add_user(own_settings, "boss", Role.ADMIN)
        assert login(client, "boss") == 303
        yield client


def test_inbox_accepts_relabels_and_rejects(admin: TestClient) -> None:
    number = file(admin, transcript=[{"role": "resident", "text": "楼下烧烤店油烟太大了"}])
    admin.post(
        f"/api/v1/tickets/{number}/actions",
        json={"action": "correct", "actor": "staff:li", "category": "environmental_protection"},
        headers=AUTH,
    )
    for text in ("随便说说", "谢谢你们"):
        admin.post("/api/v1/training-examples", headers=AUTH,
                   json={"text": text, "source": "low_confidence"})  # fmt: skip
    page = admin.get("/admin/training").text
    assert "楼下烧烤店油烟太大了" in page and "坐席更正" in page and "低置信度" in page
    ids = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)]
    token = csrf(admin, "/admin/training")
    correction, first, second = sorted(ids)
    ok = admin.post("/admin/training/review",
                    data={"csrf_token": token, "one": f"accept:{correction}"})  # fmt: skip
    assert "已处理 1 条样本" in ok.text
    unlabelled = admin.post("/admin/training/review",
                            data={"csrf_token": token, "one": f"accept:{first}"})  # fmt: skip
    assert "请选择意图" in unlabelled.text
    relabel = admin.post(
        "/admin/training/review",
        data={"csrf_token": token, "action": "accept", "ids": [str(first)],
              f"label_{first}": "thank|"},
    )  # fmt: skip
    assert "已处理 1 条样本" in relabel.text
    admin.post("/admin/training/review",
               data={"csrf_token": token, "action": "reject", "ids": [str(second)]})  # fmt: skip
    accepted = admin.get("/admin/training?status=accepted").text
    assert "楼下烧烤店油烟太大了" in accepted and "随便说说" in accepted
    assert "谢谢你们" in admin.get("/admin/training?status=rejected").text
    data = admin.get("/admin/training/data").text
    assert "已采纳的 2 条" in data and "采纳样本" in data and "重新标注样本" in data
    assert "example_" not in data  # audit actions show as labels, never as codes


def test_a_bulk_review_is_all_or_nothing(admin: TestClient) -> None:
    for text in ("随便说说", "谢谢你们"):
        admin.post("/api/v1/training-examples", headers=AUTH,
                   json={"text": text, "source": "low_confidence"})  # fmt: skip
    token = csrf(admin, "/admin/training")
    refused = admin.post(
        "/admin/training/review",
        data={"csrf_token": token, "action": "accept", "ids": ["1", "2"], "label_1": "thank|"},
    )
    assert "样本 2：请选择意图" in refused.text
    pending = admin.get("/admin/training").text
    assert "待审核（2）" in pending and "已采纳（0）" in pending  # the first was not kept either


def test_collected_examples_are_edited_and_deleted(admin: TestClient) -> None:
    example = {"text": "谢谢你们", "intent": "thank", "source": "low_confidence"}
    admin.post("/api/v1/training-examples", headers=AUTH, json=example)
    token = csrf(admin, "/admin/training")
    admin.post("/admin/training/review", data={"csrf_token": token, "one": "accept:1"})

    def save(**fields: str) -> str:
        data = {"csrf_token": token, "label": "thank|", **fields}
        return admin.post("/admin/training/examples/1", data=data).text

    bad = save(text="谢")
    assert "训练数据概览" in bad and "样本内容至少2个字" in bad
    edited = save(text=" 谢谢  你们 ")
    assert 'value="谢谢 你们"' in edited and "修改样本 #1" in edited
    deleted = save(delete="1")
    assert "还没有采纳的样本" in deleted and "删除样本 #1" in deleted
    assert "example_" not in deleted
    assert "未找到训练样本 1" in save(text="谢谢你们")


def test_train_compare_activate_and_roll_back(
    admin: TestClient, fake_rasa: FakeRasaServer, own_settings: Settings
) -> None:
    number = file(admin, transcript=[{"role": "resident", "text": "楼下烧烤店油烟太大了"}])
    admin.post(
        f"/api/v1/tickets/{number}/actions",
        json={"action": "correct", "actor": "staff:li", "category": "environmental_protection"},
        headers=AUTH,
    )
    admin.post("/api/v1/training-examples/1/review", headers=AUTH,
               json={"action": "accept", "actor": "admin:boss"})  # fmt: skip
    token = csrf(admin, "/admin/models")
    started = admin.post("/admin/training/jobs", data={"csrf_token": token})
    job_id = int(str(started.url).rsplit("/", 1)[1])
    admin.app.state.jobs.wait(30)  # type: ignore[attr-defined]
    progress = admin.get(f"/admin/training/jobs/{job_id}/progress").json()
    assert progress["status"] == "succeeded", progress
    assert "1 条已采纳样本加入训练数据" in progress["log"]
    assert "Epochs: 100%" in progress["log"] and progress["finished"]
    assert progress["status_label"] == "已完成"  # what the job page's script shows
    job_page = admin.get(f"/admin/training/jobs/{job_id}").text
    assert '<b id="job-status">已完成</b>' in job_page and "succeeded" not in job_page
    assert "已完成" in admin.get("/admin/models").text
    version_id = progress["model_version_id"]
    page = admin.get(f"/admin/models/{version_id}").text
    assert "宏平均F1" in page and "<svg" in page and "楼下烧烤店油烟太大了" not in page
    models = visible(admin.get("/admin/models").text)
    assert "（初始模型）" in models  # the running model became a version
    assert "initial" not in models and f"第 {version_id} 版（" in models  # names, not files
    activated = admin.post(f"/admin/models/{version_id}/activate", data={"csrf_token": token})
    assert activated.status_code == 200 and str(activated.url).endswith(f"/models/{version_id}")
    wait_for_switch(admin)
    assert "此版本正在使用中" in admin.get(f"/admin/models/{version_id}").text
    assert "使用中" in admin.get("/admin/models").text
    active = own_settings.model_dir / "petition.tar.gz"  # the workers run it; a restart too
    assert fake_rasa.runs(active)
    assert "楼下烧烤店油烟太大了" in active.read_text(encoding="utf-8")  # it learned it
    initial = re.search(
        r'href="/admin/models/(\d+)">第 \d+ 版（初始模型）<', admin.get("/admin/models").text
    )
    assert initial
    admin.post(f"/admin/models/{initial.group(1)}/activate",
               data={"csrf_token": token, "rollback": "1"})  # fmt: skip
    wait_for_switch(admin)
    assert fake_rasa.runs(own_settings.model_dir / "versions" / "initial.tar.gz")
    history = visible(admin.get(f"/admin/models/{initial.group(1)}").text)
    assert "此版本正在使用中" in history and "回滚模型" in history and "登记模型" in history
    assert "model_" not in history  # audit actions show as labels, never as codes
    assert "initial" not in history and "使用中" in history


def test_worse_model_needs_a_reason(
    admin: TestClient, fake_rasa: FakeRasaServer, own_settings: Settings
) -> None:
    rows = versions.holdout_rows([own_settings.project_dir / "tests/data/nlu_holdout"])
    knows_all = {"examples": {r["text"]: f"report_{r['category']}" for r in rows}}
    (own_settings.model_dir / versions.ACTIVE_FILE).write_text(json.dumps(knows_all), "utf-8")
    token = csrf(admin, "/admin/models")
    job_id = int(str(admin.post("/admin/training/jobs", data={"csrf_token": token}).url)[-1])
    admin.app.state.jobs.wait(30)  # type: ignore[attr-defined]
    version_id = admin.get(f"/admin/training/jobs/{job_id}/progress").json()["model_version_id"]
    refused = admin.post(f"/admin/models/{version_id}/activate", data={"csrf_token": token})
    assert "已拒绝启用" in refused.text  # at once, on the version page
    assert 'id="switch-running"' not in refused.text and 'id="activate-form"' in refused.text
    assert admin.app.state.switcher.state(version_id) is None  # type: ignore[attr-defined]
    forced = admin.post(
        f"/admin/models/{version_id}/activate", data={"csrf_token": token, "reason": "演示"}
    )
    wait_for_switch(admin)
    assert forced.status_code == 200 and fake_rasa.runs(own_settings.model_dir / "petition.tar.gz")


def test_a_switch_under_way_refreshes_and_refuses_another(
    own_settings: Settings,
    fake_rasa: FakeRasaServer,
    factory: sessionmaker[Session],
    workspace: Workspace,
) -> None:
    baseline(factory, workspace)
    first = candidate(factory, workspace, {"路灯坏了": "x"}, comparison=BETTER)
    second = candidate(factory, workspace, {"噪音扰民": "y"}, comparison=BETTER)
    fake_rasa.refuse = True  # the Rasa worker takes its time to load the model
    with app_for(own_settings) as admin:
        add_user(own_settings, "boss", Role.ADMIN)
        login(admin, "boss")
        token = csrf(admin, "/admin/models")
        running = admin.post(f"/admin/models/{first}/activate", data={"csrf_token": token})
        assert 'id="switch-running"' in running.text and "正在切换到此版本" in running.text
        assert '<meta http-equiv="refresh" content="3">' in running.text
        assert 'id="activate-form"' not in running.text
        busy = admin.post(f"/admin/models/{second}/activate", data={"csrf_token": token})
        assert "正在切换模型，请稍候再试" in busy.text and 'id="switch-running"' not in busy.text
        assert active_name(factory) == "initial"
        fake_rasa.refuse = False
        wait_for_switch(admin)
        done = admin.get(f"/admin/models/{first}").text
    assert "此版本正在使用中" in done and "http-equiv" not in done and "switch-running" not in done
    assert fake_rasa.runs(own_settings.model_dir / "petition.tar.gz")
    assert active_name(factory) != "initial"


def test_a_failed_switch_shows_why_and_changes_nothing(
    admin: TestClient,
    fake_rasa: FakeRasaServer,
    factory: sessionmaker[Session],
    workspace: Workspace,
) -> None:
    baseline(factory, workspace)
    version_id = candidate(factory, workspace, {"路灯坏了": "x"}, comparison=BETTER)
    fake_rasa.refuse = True  # the Rasa worker cannot load the model
    token = csrf(admin, "/admin/models")
    admin.post(f"/admin/models/{version_id}/activate", data={"csrf_token": token})
    wait_for_switch(admin)
    page = admin.get(f"/admin/models/{version_id}").text
    failed = re.search(r'id="switch-failed">([^<]*)<', page)
    assert failed and "启用失败" in failed.group(1) and "已恢复原模型" in failed.group(1)
    assert 'id="activate-form"' in page and "http-equiv" not in page  # may be tried again
    assert active_name(factory) == "initial"  # and its file is served again
    initial = (workspace.models_dir / "versions" / "initial.tar.gz").read_bytes()
    assert (workspace.models_dir / versions.ACTIVE_FILE).read_bytes() == initial


def test_training_pages_are_for_admins_only(client: TestClient, settings: Settings) -> None:
    add_user(settings, "lili", Role.STAFF)
    login(client, "lili")
    for path in ("/admin/training", "/admin/training/data", "/admin/models", "/admin/taxonomy"):
        assert client.get(path).status_code == 403


def test_one_job_at_a_time_and_cancel(admin: TestClient, rasa_env: Path) -> None:
    (rasa_env / "sleep").write_text("30")  # rasa train takes its time
    token = csrf(admin, "/admin/models")
    first = admin.post("/admin/training/jobs", data={"csrf_token": token})
    job_id = int(str(first.url).rsplit("/", 1)[1])
    deadline = time.monotonic() + 20
    while not calls(rasa_env) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (
        admin.get(f"/admin/training/jobs/{job_id}/progress").json()["stage"]
        == "训练模型（约3分钟）"
    )
    second = admin.post("/admin/training/jobs", data={"csrf_token": token})
    assert f"训练任务 #{job_id} 正在进行" in second.text
    admin.post(f"/admin/training/jobs/{job_id}/cancel", data={"csrf_token": token})
    admin.app.state.jobs.wait(10)  # type: ignore[attr-defined]
    progress = admin.get(f"/admin/training/jobs/{job_id}/progress").json()
    assert progress["status"] == "cancelled" and progress["finished"]


def test_taxonomy_extended_from_the_console(
    own_settings: Settings, rasa_env: Path, tmp_path: Path
) -> None:
    shipped = own_settings.data_dir / "taxonomy.yml"
    before = shipped.read_bytes(), (own_settings.project_dir / "domain.yml").read_bytes()
    with app_for(own_settings) as app:
        add_user(own_settings, "boss", Role.ADMIN)
        login(app, "boss")
        token = csrf(app, "/admin/taxonomy")
        form = {"csrf_token": token, "kind": "subcategory", "category": "urban_construction",
                "code": "ev_charging", "name": "充电设施", "department": "发展和改革局",
                "sla_days": "5", "tier": "street", "terms": "充电桩，充电"}  # fmt: skip
        bad = app.post("/admin/taxonomy", data={**form, "sla_days": "五"})
        assert bad.status_code == 422 and "办理时限应为整数" in bad.text
        assert 'value="street" selected' in bad.text and 'value="充电设施"' in bad.text
        done = app.post("/admin/taxonomy", data=form)
        assert "已添加二级分类「充电设施」" in done.text
        service = app.get("/open311/v2/services/urban_construction.json").json()
        values = service["attributes"][0]["values"]
        assert {"key": "ev_charging", "name": "充电设施"} in values  # Open311 follows at once
        category = {**form, "kind": "category", "code": "energy", "name": "能源服务",
                    "sub_code": "gas_supply", "sub_name": "燃气供应", "sub_department": "燃气公司",
                    "sub_sla_days": "3", "sub_tier": "district", "sub_terms": "燃气",
                    "examples": "\n".join(f"燃气表第{i}次不走字" for i in range(12))}  # fmt: skip
        done = app.post("/admin/taxonomy", data=category)
        assert "已添加一级分类「能源服务」（意图 report_energy）" in done.text
        data = app.get("/admin/training/data").text
        assert "能源服务 只有 12 条样本" in data  # its examples are training data
    additions = own_settings.taxonomy_additions_path.read_text(encoding="utf-8")
    assert "充电设施" in additions and "燃气表第0次不走字" in additions
    assert (shipped.read_bytes(), (own_settings.project_dir / "domain.yml").read_bytes()) == before


def visible(html: str) -> str:
    """The text a person reads: no tags, so no option values or attributes."""
    return re.sub(r"<[^>]+>", " ", html)


def test_an_unlabelled_example_has_no_label_chosen_for_it(admin: TestClient) -> None:
    admin.post("/api/v1/training-examples", headers=AUTH,
               json={"text": "随便说说", "source": "low_confidence"})  # fmt: skip
    page = admin.get("/admin/training").text
    select = re.search(r'<select name="label_1".*?</select>', page, re.S)
    assert select
    assert re.findall(r"<option[^>]*selected[^>]*>([^<]*)<", select.group(0)) == ["请选择标注"]
    token = csrf(admin, "/admin/training")
    refused = admin.post("/admin/training/review",
                         data={"csrf_token": token, "one": "accept:1", "label_1": ""})  # fmt: skip
    assert "请选择意图" in refused.text and "待审核（1）" in refused.text


def test_the_data_view_answers_with_20000_examples(
    admin: TestClient, own_settings: Settings
) -> None:
    """Counted in SQL, 50 accepted examples a page, the quality check in the background."""
    before = re.search(r"城乡建设</td><td>(\d+)<", admin.get("/admin/training/data").text)
    assert before
    now = utcnow()
    rng = random.Random(5)
    words = ["".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(16)) for _ in range(20_000)]
    rows = [
        {"text": f"第{i}号楼前{words[i]}", "intent":
         "report_urban_construction", "source": "import", "status": "accepted",
         "created_by": "import:h.csv", "created_at": now, "reviewed_at": now}
        for i in range(20_000)
    ]  # fmt: skip
    rows.append({**rows[0], "intent": "not_resolved"})  # the same text, another label
    engine = make_engine(own_settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        session.execute(insert(TrainingExample), rows)
    engine.dispose()
    page = admin.get("/admin/training/data").text
    assert "已采纳的 20001 条" in page and "第 1 / 401 页" in page
    assert page.count('action="/admin/training/examples/') == 50
    assert "训练数据已有变化，正在重新检查" in page  # the check of before, until the new one
    counts = re.search(r"城乡建设</td><td>(\d+)<", page)
    assert counts and int(counts.group(1)) == int(before.group(1)) + 20_000
    for _ in range(2):  # the check under way may be the one of before: then once more
        datasets.QUALITY.wait(120)
        admin.get("/admin/training/data")
    datasets.QUALITY.wait(120)
    checked = admin.get("/admin/training/data?page=401").text
    assert "正在检查" not in checked and 'value="第19999号楼前' not in checked
    assert f'value="第0号楼前{words[0]}"' in checked  # the oldest, on the last page
    assert f"第0号楼前{words[0]}：城乡建设" in checked  # a contradiction
    assert "问题没解决" in visible(checked) and "not_resolved" not in visible(checked)


def test_a_training_started_elsewhere_shows_and_blocks_the_console(
    admin: TestClient, factory: sessionmaker[Session], own_settings: Settings
) -> None:
    """As `petition train` in a terminal holds the slot: another process, another claim."""
    elsewhere = job_slot.claim(factory, actor="cli:root", log_dir=own_settings.training_log_dir)
    try:
        models = admin.get("/admin/models").text
        shown = " ".join(visible(models).split())
        assert f"训练任务 #{elsewhere.job_id} 正在进行" in shown and "命令行 root" in shown
        assert re.search(r'id="start-training" disabled', models)
        token = csrf(admin, "/admin/models")
        refused = admin.post("/admin/training/jobs", data={"csrf_token": token})
        assert "同一时间只能有一个训练任务" in refused.text
        job_page = admin.get(f"/admin/training/jobs/{elsewhere.job_id}").text
        assert 'id="job-elsewhere"' in job_page and 'id="cancel-form"' not in job_page
        cancel = admin.post(f"/admin/training/jobs/{elsewhere.job_id}/cancel",
                            data={"csrf_token": token})  # fmt: skip
        assert "无法在这里取消" in cancel.text
    finally:
        elsewhere.release()  # its process ended without finishing the job
    models = admin.get("/admin/models").text
    assert "训练进程已退出，任务中断" in models and 'id="running-job"' not in models


def test_training_pages_name_everything_in_chinese(admin: TestClient) -> None:
    admin.post("/api/v1/training-examples", headers=AUTH,
               json={"text": "还是没解决", "source": "low_confidence",
                     "predicted_intent": "not_resolved", "predicted_confidence": 0.4})  # fmt: skip
    inbox = visible(admin.get("/admin/training").text)
    for code in ("not_resolved", "inform", "affirm", "report_"):
        assert code not in inbox
    assert "问题没解决" in inbox and "补充信息" in inbox
    data = visible(admin.get("/admin/training/data").text)
    for code in ("greet", "inform", "affirm", "report_", ".yml"):
        assert code not in data.replace("文件 ", "") or code == ".yml"
    assert "问候" in data
