"""One training at a time, whatever started it: the slot is a row in the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import ROOT, Settings
from retraining import job_slot, pipeline, trainer
from retraining.models import JobStatus, TrainingJob
from retraining.workspace import Workspace

CLAIMER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from core.db import make_engine, make_sessionmaker
    from retraining import job_slot
    factory = make_sessionmaker(make_engine(sys.argv[1]))
    claim = job_slot.claim(factory, actor="cli:root", log_dir=Path(sys.argv[2]))
    print(claim.job_id, flush=True)
    sys.stdin.read()  # until killed
    """
)


def status(factory: sessionmaker[Session], job_id: int) -> tuple[str, str | None]:
    with session_scope(factory) as session:
        job = session.get(TrainingJob, job_id)
        assert job is not None
        return job.status, job.error


def test_a_run_of_another_process_holds_the_slot_until_it_dies(
    factory: sessionmaker[Session], own_settings: Settings
) -> None:
    """Like `petition train` in a terminal: the console sees it, and cannot start another."""
    other = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, own_settings.database_url,
         str(own_settings.training_log_dir)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert other.stdout is not None
        job_id = int(other.stdout.readline())
        with session_scope(factory) as session:
            running = job_slot.running_job(session)
            assert running is not None and running.id == job_id
        with pytest.raises(job_slot.JobConflictError, match=f"训练任务 #{job_id} 正在进行"):
            job_slot.claim(factory, actor="admin:boss", log_dir=own_settings.training_log_dir)
        assert issubclass(job_slot.JobConflictError, trainer.TrainingFailed)  # the CLI says so
    finally:
        os.kill(other.pid, signal.SIGKILL)  # no chance to finish its row
        other.wait(10)
    with session_scope(factory) as session:
        assert job_slot.running_job(session) is None
    assert status(factory, job_id) == (JobStatus.FAILED, job_slot.DEAD_OWNER)
    claim = job_slot.claim(factory, actor="admin:boss", log_dir=own_settings.training_log_dir)
    claim.release()


def test_a_training_outside_the_console_is_a_job_too(
    factory: sessionmaker[Session], workspace: Workspace
) -> None:
    """`petition train` calls the pipeline without a job: it claims and finishes one."""
    held = job_slot.claim(factory, actor="admin:boss", log_dir=workspace.log_dir)
    with pytest.raises(job_slot.JobConflictError):
        pipeline.train_candidate(factory, workspace=workspace, actor="cli:root")
    job_slot.finish(factory, held.job_id, JobStatus.SUCCEEDED)
    held.release()
    candidate = pipeline.train_candidate(factory, workspace=workspace, actor="cli:root")
    with session_scope(factory) as session:
        job = session.get(TrainingJob, held.job_id + 1)
        assert job is not None
        assert (job.status, job.stage, job.requested_by) == (
            JobStatus.SUCCEEDED,
            "done",
            "cli:root",
        )
        assert job.model_version_id == candidate.version_id
    log = Path(job.log_path).read_text(encoding="utf-8")
    assert pipeline.OUTSIDE_CONSOLE in log and "==> 在保留测试集上对比评估" in log
