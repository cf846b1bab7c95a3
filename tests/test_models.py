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
    assert not list((tmp_path / "no-models").glob("*.joblib"))  # nothing was trained behind the operator's back


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
