"""The four learned models as one build step: the intent classifier, the input and output guards'
learned checks and the handoff triggers' learned check.

Each is built from its folder under training/ into var/, keyed by the hash of its data, by
`assistant train` (which `make run` runs before serving). The service only loads what is built:
in production a model that is not built stops the start with a message naming `assistant train`;
in development and tests it is trained in the foreground, with a warning and its time in the log,
before the service answers. Nothing trains in the background, and /readyz names the models still
loading.

Several hosts share one model directory (ASSISTANT_NLU_MODEL_DIR, ASSISTANT_COMPLIANCE_MODEL_DIR):
the same data hash names the same file, so every host loads the same bytes. A build takes a file
lock in that directory, so two builds started together (two `assistant train`, two development
hosts) train each model once: the second waits, then finds it built. Files are written whole
(a temporary file renamed), so a host never loads half a model."""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.compliance import GuardModels, RuleClassifier
from assistant.nlu import IntentClassifier

log = logging.getLogger(__name__)


class ModelsNotBuilt(RuntimeError):
    """The service was started without a built model (production only)."""


@dataclass
class LearnedModel:
    name: str  # the training/ folder: intents, input_guard, output_guard, handoff_triggers
    title: str  # what an operator reads
    model: IntentClassifier | RuleClassifier
    file: str | None = None  # the file name it was loaded from (the data hash is in it), once loaded

    def path(self) -> Path | None:
        return self.model.cache_path()

    @property
    def built(self) -> bool:
        path = self.path()
        return path is not None and path.exists()

    @property
    def loaded(self) -> bool:
        return self.model.ready

    def load(self) -> None:
        """Load the built model (or train and save it first when it is not built)."""
        path = self.path()
        self.model.ensure_trained()
        self.file = path.name if path is not None else None

    def rebuild(self) -> None:
        """Train from the data even when a built model exists, and save it in its place."""
        path = self.path()
        if path is not None and path.exists():
            path.unlink()
        self.model._trained = None
        self.load()

    def check(self) -> str:
        """A quick figure that says the model learned its data (not an evaluation: see eval/)."""
        if isinstance(self.model, IntentClassifier):
            trained = self.model.ensure_trained()
            accuracy = getattr(trained, "oof_accuracy", None)
            return f"五折交叉验证准确率 {accuracy:.3f}" if accuracy is not None else "（旧版本模型，无交叉验证记录）"
        examples = self.model.training_examples()[::10]  # every tenth training text, judged as the service would
        right = sum({f.rule for f in self.model.findings(text)} == (labels & set(self.model.rules))
                    for text, labels in examples)
        return f"抽查 {len(examples)} 条训练文本，判对 {right / max(len(examples), 1):.1%}"


class LearnedModels:
    def __init__(self, intents: IntentClassifier, guards: GuardModels, triggers: RuleClassifier) -> None:
        self.items = [
            LearnedModel("intents", "意图识别模型", intents),
            LearnedModel("input_guard", "输入合规检查模型", guards.input),
            LearnedModel("output_guard", "输出合规检查模型", guards.output),
            LearnedModel("handoff_triggers", "转人工判断模型", triggers),
        ]

    def missing(self) -> list[LearnedModel]:
        return [m for m in self.items if not m.built]

    def loading(self) -> list[str]:
        return [m.name for m in self.items if not m.loaded]

    def built_files(self) -> dict[str, str | None]:
        """The file each model was built into, by name: its data hash is in the name, so two hosts (or
        workers) that report the same names serve the same models (read from one shared directory)."""
        return {m.name: m.file for m in self.items}

    def load_all(self) -> None:
        for m in self.items:
            started = time.perf_counter()
            m.load()
            log.info("model %s loaded in %.1f s", m.name, time.perf_counter() - started)

    def build(self, *, force: bool = False,
              step: Callable[[LearnedModel, str], None] | None = None) -> list[tuple[LearnedModel, float, str]]:
        """Build what is missing (everything with force); `step(model, phase)` is called before each
        model ("build" or "skip") for a progress display. Returns (model, seconds, check) each."""
        results = []
        for m in self.items:
            todo = force or not m.built
            if step:
                step(m, "build" if todo else "skip")
            if not todo:  # built from this very data: not even loaded, so a restart stays quick
                results.append((m, 0.0, ""))
                continue
            with building(m):
                if not force and m.built:  # another process built it while this one waited
                    results.append((m, 0.0, ""))
                    continue
                started = time.perf_counter()
                m.rebuild() if force else m.load()
            results.append((m, time.perf_counter() - started, m.check()))
        return results


@contextmanager
def building(model: LearnedModel) -> Iterator[None]:
    """Held while a model is trained and saved: one process at a time per model directory."""
    path = model.path()
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".build.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare(models: LearnedModels, environment: str) -> None:
    """At start-up: refuse (production) or train in the foreground (development, tests) what is not built."""
    missing = models.missing()
    if not missing:
        return
    names = "、".join(f"{m.title}（training/{m.name}）" for m in missing)
    if environment == "production":
        raise ModelsNotBuilt(f"缺少已构建的模型：{names}。请先运行 `assistant train` 构建模型，再启动服务。")
    log.warning("models not built: %s. Training them now, before serving (production refuses to start; "
                "run `assistant train` beforehand)", ", ".join(m.name for m in missing))
    for m in missing:
        started = time.perf_counter()
        with building(m):  # another worker or host may be building it: wait, then load what it built
            m.load()
        log.warning("model %s ready in %.1f s", m.name, time.perf_counter() - started)


__all__ = ["LearnedModel", "LearnedModels", "ModelsNotBuilt", "building", "prepare"]
