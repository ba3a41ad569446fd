"""Where training and evaluation read and write, taken from ``Settings`` in one place.

The CLI and the console's training jobs build one ``Workspace`` and hand it down; no module
of ``retraining`` knows a path of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings

# The hand-written held-back set that ships with the project (never trained on).
FIXED_HOLDOUT = Path("tests") / "data" / "nlu_holdout"


@dataclass(frozen=True)
class Workspace:
    project: Path  # the Rasa project: config.yml, domain.yml, data/{nlu,rules,stories}
    config: Path  # the pipeline configuration ``rasa train`` uses
    models_dir: Path  # models/petition.tar.gz (what Rasa loads) and models/versions/
    rasa_bin: Path  # the Rasa environment's ``rasa`` command
    rasa_python: Path  # … and its interpreter (nlu/evaluate_model.py)
    taxonomy_additions: Path  # categories added from the console (may not exist)
    imported_dir: Path  # imported history as NLU data (may not exist)
    holdout_dir: Path  # imported history kept apart for evaluation (may not exist)
    log_dir: Path  # training jobs' logs, which also tell whether a job's process lives

    @classmethod
    def from_settings(cls, settings: Settings) -> Workspace:
        # TRAINING_CONFIG when it is set; otherwise the project's own config.yml, so that a
        # project folder elsewhere (PROJECT_DIR) brings its own pipeline.
        explicit = "training_config" in settings.model_fields_set
        return cls(
            project=settings.project_dir,
            config=settings.training_config if explicit else settings.project_dir / "config.yml",
            models_dir=settings.model_dir,
            rasa_bin=settings.rasa_bin,
            rasa_python=settings.rasa_python,
            taxonomy_additions=settings.taxonomy_additions_path,
            imported_dir=settings.imported_nlu_dir,
            holdout_dir=settings.holdout_dir,
            log_dir=settings.training_log_dir,
        )

    @property
    def holdout_dirs(self) -> tuple[Path, ...]:
        """Folders of the held-back set (CSV files with ``text`` and ``category``)."""
        return (self.project / FIXED_HOLDOUT, self.holdout_dir)

    def runtime_files(self) -> list[Path]:
        """Training data outside the checkout, for the data fingerprint of a version."""
        files = [self.taxonomy_additions] if self.taxonomy_additions.is_file() else []
        if self.imported_dir.is_dir():
            files += sorted(self.imported_dir.rglob("*.yml"))
        return files
