"""Console training jobs: the pipeline in a thread, with a log, one at a time, cancellable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings
from retraining import jobs
from retraining.models import JobStatus, TrainingJob
from tests.retraining.fake_rasa import calls


@pytest.fixture
def runner(factory: sessionmaker[Session], own_settings: Settings) -> jobs.JobRunner:
    return jobs.JobRunner(factory, jobs.JobConfig.from_settings(own_settings))


def job(factory: sessionmaker[Session], job_id: int) -> TrainingJob:
    with session_scope(factory) as session:
        found = session.get(TrainingJob, job_id)
        assert found is not None
        session.expunge(found)
        return found


def test_a_job_trains_registers_and_compares(
    runner: jobs.JobRunner, factory: sessionmaker[Session]
) -> None:
    job_id = runner.start("admin:boss")
    runner.wait(30)
    done = job(factory, job_id)
    assert (done.status, done.stage, done.error) == (JobStatus.SUCCEEDED, "done", None)
    assert done.model_version_id is not None
    text, offset = jobs.read_log(done.log_path)
    assert offset > 0
    for line in ("==> 导出已采纳的样本", "0 条已采纳样本加入训练数据", "Epochs: 100%",
                 "==> 在保留测试集上对比评估", "评估用时"):  # fmt: skip
        assert line in text
    assert jobs.read_log(done.log_path, offset) == ("", offset)


def test_one_job_at_a_time_and_cancel(
    runner: jobs.JobRunner, factory: sessionmaker[Session], rasa_env: Path
) -> None:
    (rasa_env / "sleep").write_text("30")
    job_id = runner.start("admin:boss")
    deadline = time.monotonic() + 20
    while not calls(rasa_env) and time.monotonic() < deadline:
        time.sleep(0.05)  # until rasa train runs
    with pytest.raises(jobs.JobConflictError, match=f"训练任务 #{job_id} 正在进行"):
        runner.start("admin:other")
    assert runner.cancel(job_id, "admin:boss")
    runner.wait(10)
    cancelled = job(factory, job_id)
    assert (cancelled.status, cancelled.error) == (JobStatus.CANCELLED, "已取消")
    assert not runner.cancel(job_id, "admin:boss")  # no longer running


def test_failures_show_on_the_job_and_restarts_interrupt(
    runner: jobs.JobRunner, factory: sessionmaker[Session], rasa_env: Path
) -> None:
    (rasa_env / "exit").write_text("1")
    job_id = runner.start("admin:boss")
    runner.wait(30)
    failed = job(factory, job_id)
    assert failed.status == JobStatus.FAILED and "退出码 1" in (failed.error or "")
    assert "TrainingFailed" in jobs.read_log(failed.log_path)[0]
    with session_scope(factory) as session:
        failed_row = session.get(TrainingJob, job_id)
        assert failed_row is not None
        failed_row.status = JobStatus.RUNNING  # as if the app stopped mid-training
    runner.recover()
    assert job(factory, job_id).error == "训练进程已退出，任务中断"  # nobody holds its log


def test_jobs_are_found_newest_first(
    runner: jobs.JobRunner, factory: sessionmaker[Session], rasa_env: Path
) -> None:
    (rasa_env / "exit").write_text("1")  # quick: each job fails at training
    started = []
    for _ in range(3):
        started.append(runner.start("admin:boss"))
        runner.wait(30)
    with session_scope(factory) as session:
        assert [j.id for j in jobs.recent_jobs(session=session, limit=2)] == started[:0:-1]
        found = jobs.get_job(session=session, job_id=started[0])
        assert found is not None and found.requested_by == "admin:boss"
        assert jobs.get_job(session=session, job_id=9999) is None
