"""Where the learned models' training data lies: training/<model>/, one file per batch, each listed
in training/manifest.jsonl (who wrote it, how, when, for which model).

The data is kept out of the package: it is read when the models are built (`assistant train`, or
`make run`, which runs it first), and hashed at start-up to find the built models under var/.
Files are read in the manifest's order, the order they were written in, so a model built from
them is the one that was measured. A file in a model's folder that the manifest does not list is
an error, not silently left out (or silently learned)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.settings import PROJECT_ROOT

TRAINING_DIR = PROJECT_ROOT / "training"
MANIFEST = TRAINING_DIR / "manifest.jsonl"
MODELS = ("intents", "input_guard", "output_guard", "handoff_triggers")


class TrainingDataError(RuntimeError):
    """The training folder and its manifest disagree."""


@dataclass(frozen=True)
class ManifestEntry:
    file: str  # relative to training/
    model: str  # one of MODELS
    author: str
    how: str
    when: str
    commit: str = ""
    examples: int | None = None


def manifest(path: Path = MANIFEST) -> list[ManifestEntry]:
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            entry = ManifestEntry(**row)
            if entry.model not in MODELS:
                raise TrainingDataError(f"{path.name} line {n}: unknown model {entry.model!r}")
            entries.append(entry)
    return entries


def files(model: str, root: Path = TRAINING_DIR) -> list[Path]:
    """The model's data files in manifest order; every file in its folder must be listed."""
    listed = [root / e.file for e in manifest(root / MANIFEST.name) if e.model == model]
    present = {p for p in (root / model).iterdir() if p.is_file() and not p.name.startswith(".")}
    missing, unlisted = [p for p in listed if p not in present], present - set(listed)
    if missing or unlisted:
        raise TrainingDataError(
            f"training/{model}: the manifest lists missing files {sorted(p.name for p in missing)} "
            f"and omits {sorted(p.name for p in unlisted)}")
    return listed
