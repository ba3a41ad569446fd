"""Rasa served without TensorFlow (nlu/no_tensorflow.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nlu import no_tensorflow

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_projects_pipeline_needs_no_tensorflow() -> None:
    assert not no_tensorflow.needed_by([ROOT / "config.yml"])


@pytest.mark.parametrize(
    "config",
    [
        "pipeline:\n  - name: DIETClassifier\n",
        "policies:\n  - name: TEDPolicy\n",
        "pipeline:\n  - name: ResponseSelector\n",
        "pipeline:\n  - name: somebody.else.Component\n",  # unknown custom code: the safe side
        "pipeline: [",  # unreadable
        "- a list\n",
    ],
)
def test_components_that_may_run_tensorflow_keep_it(tmp_path: Path, config: str) -> None:
    assert no_tensorflow.needed_by([write(tmp_path / "config.yml", config)])


def test_a_missing_configuration_keeps_tensorflow(tmp_path: Path) -> None:
    assert no_tensorflow.needed_by([tmp_path / "nothing.yml"])


def test_the_environment_decides_before_the_configuration(tmp_path: Path) -> None:
    write(tmp_path / "config.yml", "pipeline:\n  - name: nlu.crf.BoundedCRFEntityExtractor\n")
    write(tmp_path / "diet.yml", "pipeline:\n  - name: DIETClassifier\n")
    assert not no_tensorflow.wanted({}, tmp_path)
    assert no_tensorflow.wanted({"TRAINING_CONFIG": "diet.yml"}, tmp_path)
    assert no_tensorflow.wanted({"RASA_TENSORFLOW": "1"}, tmp_path)
    assert not no_tensorflow.wanted(
        {"RASA_TENSORFLOW": "0", "TRAINING_CONFIG": "diet.yml"}, tmp_path
    )


def run_without_tensorflow(code: str) -> subprocess.CompletedProcess[str]:
    program = "from nlu import no_tensorflow\nno_tensorflow.install()\n" + code
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_rasa_loads_its_components_without_tensorflow_and_using_it_fails_loudly() -> None:
    result = run_without_tensorflow(
        """
import sys
import rasa.core.run, rasa.core.agent
from rasa.engine.recipes.default_components import DEFAULT_COMPONENTS
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
import tensorflow as tf
assert "jax" not in sys.modules and not hasattr(tf, "__file__")
def use():
    return tf.constant([1.0])
try:
    use()
except no_tensorflow.TensorFlowNotLoaded as error:
    print("refused:", error)
"""
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: tensorflow.constant was called" in result.stdout


def test_installing_after_tensorflow_was_imported_is_refused() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, types\nsys.modules['tensorflow'] = types.ModuleType('tensorflow')\n"
            "from nlu import no_tensorflow\nno_tensorflow.install()",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "imported already" in result.stderr
