"""The learned models as a build step: their data and its manifest, the start-up without them,
and /readyz while they load."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from assistant.settings import PROJECT_ROOT
from assistant.training import MANIFEST, MODELS, TRAINING_DIR, files, manifest
from tests.conftest import make_settings


def test_every_training_file_has_a_manifest_line_saying_who_how_when_and_for_which_model() -> None:
    entries = manifest()
    assert {e.model for e in entries} == set(MODELS)
    for entry in entries:
        assert entry.author.strip() and entry.how.strip() and entry.when[:4] == "2026", entry
        path = TRAINING_DIR / entry.file
        assert path.parent.name == entry.model, entry.file
        if path.suffix == ".jsonl":
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            assert entry.examples == len(rows), entry.file
    for model in MODELS:  # raises when a file is missing from the manifest or the folder
        assert files(model)
    # No authoring round in a name: a file says what it holds.
    assert not [e.file for e in entries if any(ch.isdigit() for ch in e.file)]


def test_a_file_the_manifest_does_not_list_is_an_error(tmp_path) -> None:
    from assistant.training import TrainingDataError

    (tmp_path / "handoff_triggers").mkdir()
    (tmp_path / "manifest.jsonl").write_text(MANIFEST.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "handoff_triggers" / "unlisted.jsonl").write_text('{"text": "转人工", "label": "customer_request"}\n')
    with pytest.raises(TrainingDataError, match="unlisted.jsonl"):
        files("handoff_triggers", root=tmp_path)


def test_the_package_holds_no_training_data() -> None:
    assert not list((PROJECT_ROOT / "assistant").rglob("*_train*.jsonl"))
    assert not (PROJECT_ROOT / "assistant" / "nlu" / "data" / "intents.yml").exists()


def test_production_refuses_to_start_without_built_models_and_names_the_command(tmp_path, small_kb_dir) -> None:
    from assistant.app import create_app
    from assistant.models import ModelsNotBuilt

    settings = make_settings(tmp_path / "var", small_kb_dir, environment="production", auth_jwt_secret="s" * 40,
                             compliance_model_dir=tmp_path / "no-models")
    with pytest.raises(ModelsNotBuilt) as refused:
        with TestClient(create_app(settings, ingest_in_background=False)):
            pass
    message = str(refused.value)
    assert "assistant train" in message
    assert "training/input_guard" in message and "training/output_guard" in message
    assert "training/handoff_triggers" in message and "training/intents" not in message  # that one is built
    assert not list((tmp_path / "no-models").glob("*.pkl"))  # nothing was trained behind the operator's back


def test_readyz_names_the_models_still_loading(embedder, nlu_parser, guard_models, trigger_model) -> None:
    from assistant.app import build_guard_models, build_nlu
    from assistant.handoff import build_trigger_model
    from assistant.models import LearnedModels

    settings = make_settings(PROJECT_ROOT / "var", PROJECT_ROOT / "knowledge_base")
    parser = build_nlu(settings, embedder)
    models = LearnedModels(parser.classifier, build_guard_models(settings, parser),
                           build_trigger_model(settings.resolved_compliance_model_dir))
    assert not models.missing()  # built by the session's fixtures, found by the hash of their data
    assert models.loading() == list(MODELS)
    models.load_all()
    assert models.loading() == []


def test_a_started_service_reports_nothing_left_loading(open_client, tmp_path, small_kb_dir) -> None:
    client = open_client(make_settings(tmp_path / "var", small_kb_dir))
    body = client.get("/readyz").json()
    assert body["status"] == "ready" and body["checks"]["models"] is True
    assert body["loading"] == []


class _Counting:
    """A stand-in learned model in a shared directory: counts its trainings (one ought to do for all)."""

    rules: tuple = ()
    trainings: list = []

    def __init__(self, directory) -> None:
        self.directory, self._trained = directory, None

    def cache_path(self):
        return self.directory / "stand-in-0123456789abcdef.pkl"

    @property
    def ready(self) -> bool:
        return self._trained is not None

    def ensure_trained(self):
        import time

        from assistant.nlu import load_or_build

        def train() -> dict:
            self.trainings.append(1)
            time.sleep(0.3)  # long enough for the other builder to arrive meanwhile
            return {"weights": [1, 2, 3]}

        self._trained = self._trained or load_or_build(self.cache_path(), train)
        return self._trained

    def training_examples(self) -> list:
        return []


def test_two_builds_into_one_shared_directory_train_each_model_once(tmp_path) -> None:
    import threading

    from assistant.models import LearnedModel, LearnedModels

    _Counting.trainings = []
    builders = []
    for _ in range(2):  # two hosts running `assistant train` (or starting in development) together
        models = LearnedModels.__new__(LearnedModels)
        models.items = [LearnedModel("handoff_triggers", "转人工判断模型", _Counting(tmp_path))]
        builders.append(models)
    results: list = []
    threads = [threading.Thread(target=lambda m=m: results.append(m.build())) for m in builders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_Counting.trainings) == 1
    assert sorted(seconds > 0 for [(_, seconds, _)] in results) == [False, True]  # the second found it built
