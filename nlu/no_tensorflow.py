"""Serve without importing TensorFlow when no component of the pipeline needs it.

Rasa 3.6 imports TensorFlow (and through it Keras and JAX) from modules every server loads —
the tracker featurizers, the entity extractor base class, the training utilities — even when
no component of the model uses it. On this machine that import is 7-10 s of a Rasa start of
about 28 s. This project's pipeline and policies (config.yml) are linear classifiers, a CRF,
regular expressions and rules: none of them runs TensorFlow.

``install()`` puts a stand-in for ``tensorflow`` and its companion packages on the import path,
so Rasa's modules can still *define* their TensorFlow classes and constants: attribute lookups
give placeholder classes, and calls made while a module or class body is executing return
placeholders too. Any call from a function — that is, TensorFlow actually being used while
the server runs — raises ``TensorFlowNotLoaded`` naming what was called, so a model that does
need TensorFlow fails to load loudly (its activation is then refused and the previous model
stays) instead of answering wrongly.

``needed_by()`` reads the pipeline configurations: a component of Rasa's known to run
TensorFlow, or a custom component from outside this project's ``nlu`` package, means the
real TensorFlow is imported as before.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import sys
import types
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

# Rasa's own components that build TensorFlow graphs.
TENSORFLOW_COMPONENTS = frozenset(
    {
        "DIETClassifier",
        "ResponseSelector",
        "TEDPolicy",
        "UnexpecTEDIntentPolicy",
        "LanguageModelFeaturizer",
        "ConveRTFeaturizer",
    }
)
OWN_PACKAGE = "nlu."  # this project's components: none of them uses TensorFlow
STANDIN_ROOTS = (
    "tensorflow",
    "tensorflow_addons",
    "tensorflow_hub",
    "tensorflow_text",
    "tensorflow_probability",
    "keras",
)


class TensorFlowNotLoaded(RuntimeError):
    """TensorFlow was used in a Rasa process started without it."""


def needed_by(config_files: Iterable[Path]) -> bool:
    """Whether any component named in these Rasa configurations may run TensorFlow.

    A file that cannot be read counts as needing it (the safe side).
    """
    for path in config_files:
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return True
        if not isinstance(config, dict):
            return True
        for section in ("pipeline", "policies"):
            for component in config.get(section) or []:
                name = str(component.get("name", "")) if isinstance(component, dict) else ""
                if name in TENSORFLOW_COMPONENTS:
                    return True
                if "." in name and not name.startswith(OWN_PACKAGE):
                    return True
    return False


def _defining() -> bool:
    """Whether the placeholder's caller is a module or class body being executed.

    Module and class bodies run with a plain namespace; functions (and lambdas and
    comprehensions inside them) are compiled with ``CO_NEWLOCALS``.
    """
    frame = sys._getframe(2)  # 0: here, 1: _Placeholder.__call__, 2: its caller
    return not frame.f_code.co_flags & inspect.CO_NEWLOCALS


class _Placeholder(type):
    """Placeholder classes: any attribute is another placeholder; they can be subclassed."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _placeholder(f"{cls.__qualname__}.{name}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if not _defining():
            raise TensorFlowNotLoaded(
                f"{cls.__qualname__} was called, but this Rasa process was started without "
                "TensorFlow because config.yml names no component that needs it "
                "(nlu/no_tensorflow.py). Start it with RASA_TENSORFLOW=1."
            )
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]  # used as a decorator: leave the function as it is
        return _placeholder(f"{cls.__qualname__}()")

    def __getitem__(cls, item: Any) -> Any:
        return _placeholder(f"{cls.__qualname__}[]")

    def __or__(cls, other: Any) -> Any:
        return cls

    __ror__ = __or__


def _placeholder(qualname: str) -> Any:
    return _Placeholder(qualname.rsplit(".", 1)[-1], (), {"__qualname__": qualname})


class _StandInModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _placeholder(f"{self.__name__}.{name}")


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] in STANDIN_ROOTS:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def installed() -> bool:
    return any(isinstance(finder, _StandInFinder) for finder in sys.meta_path)


def install() -> None:
    """Answer imports of TensorFlow and its companions with the stand-in (idempotent)."""
    loaded = [name for name in sys.modules if name.split(".", 1)[0] in STANDIN_ROOTS]
    if loaded:
        raise RuntimeError(f"TensorFlow is imported already ({loaded[0]})")
    if not installed():
        sys.meta_path.insert(0, _StandInFinder())


def wanted(environ: dict[str, str], project: Path) -> bool:
    """Whether this Rasa process imports the real TensorFlow.

    ``RASA_TENSORFLOW=1`` or ``0`` decides; otherwise the project's ``config.yml`` and the
    retraining configuration (``TRAINING_CONFIG``), which every model this process may be
    given is trained from, decide through ``needed_by``.
    """
    choice = environ.get("RASA_TENSORFLOW", "").strip()
    if choice in ("0", "1"):
        return choice == "1"
    configs = [project / "config.yml"]
    if environ.get("TRAINING_CONFIG"):
        configs.append(project / environ["TRAINING_CONFIG"])
    return needed_by(configs)
