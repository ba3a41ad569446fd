"""Model activations and rollbacks from the console, carried out in the background.

Rasa takes 15-60 s to load a model (longer on a busy machine). A web request that waited for
it would hold the admin's browser and any reverse proxy that long, and fail there first; so
the console checks the request at once (refusals are shown immediately), hands the swap to
this switcher and shows the version page, which refreshes until the swap is done or failed.
One switch at a time per app process; the CLI switches synchronously through ``versions``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from retraining import versions
from retraining.models import ModelVersion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SwitchState:
    """The latest switch to one version: ``running``, ``done`` or ``failed`` (with why)."""

    status: str
    rollback: bool
    error: str | None = None


class SwitchBusyError(versions.RegistryError):
    """Another activation or rollback is still under way."""


class Switcher:
    """Owns the one running model switch of this app process."""

    def __init__(self, factory: sessionmaker[Session], deployment: versions.Deployment) -> None:
        self._factory = factory
        self._deployment = deployment
        self._lock = threading.Lock()
        self._states: dict[int, SwitchState] = {}
        self._thread: threading.Thread | None = None

    def request(
        self, version_id: int, *, actor: str, rollback: bool, override_reason: str | None = None
    ) -> None:
        """Check at once, then switch in the background; RegistryError (Chinese) if refused."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise SwitchBusyError("正在切换模型，请稍候再试")
            with session_scope(self._factory) as session:
                version = _version(session, version_id)
                if rollback:
                    versions.rollback_target(session, version)
                else:
                    versions.check_activation(
                        version, deployment=self._deployment, override_reason=override_reason
                    )
            self._states[version_id] = SwitchState(status="running", rollback=rollback)
            self._thread = threading.Thread(
                target=self._run,
                args=(version_id, actor, rollback, override_reason),
                name=f"model-switch-{version_id}",
                daemon=True,
            )
            self._thread.start()

    def state(self, version_id: int) -> SwitchState | None:
        return self._states.get(version_id)

    def wait(self, timeout: float | None = None) -> None:
        """Until the running switch is over (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(
        self, version_id: int, actor: str, rollback: bool, override_reason: str | None
    ) -> None:
        try:
            with session_scope(self._factory) as session:
                version = _version(session, version_id)
                if rollback:
                    versions.rollback(
                        session, actor=actor, deployment=self._deployment, to_version=version
                    )
                else:
                    versions.activate(
                        session,
                        version,
                        actor=actor,
                        deployment=self._deployment,
                        override_reason=override_reason,
                    )
            self._states[version_id] = SwitchState(status="done", rollback=rollback)
        except versions.RegistryError as exc:
            self._states[version_id] = SwitchState("failed", rollback, str(exc))
        except Exception as exc:  # a failed switch must be visible, never a dead thread
            log.exception("switching to model version %s failed", version_id)
            self._states[version_id] = SwitchState("failed", rollback, f"切换失败：{exc}"[:500])


def _version(session: Session, version_id: int) -> ModelVersion:
    version = versions.get_version(session=session, version_id=version_id)
    if version is None:
        raise versions.RegistryError("未找到该模型版本")
    return version
