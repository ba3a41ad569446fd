"""Shared life cycle of the trainable components: create, save to and load from model storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Type, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

StoredT = TypeVar("StoredT", bound="StoredComponent")


class StoredComponent(GraphComponent):
    """A component whose trained state lives in its own model-storage resource.

    Subclasses call ``persist`` at the end of ``train`` and implement ``save`` and ``restore``.
    A resource that was never written (training was skipped) loads as the untrained component,
    which leaves messages as it finds them, rather than failing the whole model.
    """

    def __init__(
        self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls: Type[StoredT],
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StoredT:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls: Type[StoredT],
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> StoredT:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                component.restore(directory)
        except (ValueError, FileNotFoundError):
            pass  # never trained: keep the untrained state
        return component

    def persist(self) -> Resource:
        """Write the trained state to the component's resource (the end of ``train``)."""
        with self._model_storage.write_to(self._resource) as directory:
            self.save(directory)
        return self._resource

    def save(self, directory: Path) -> None:
        """Write the trained state into ``directory``."""
        raise NotImplementedError

    def restore(self, directory: Path) -> None:
        """Read the state ``save`` wrote into ``directory``."""
        raise NotImplementedError
