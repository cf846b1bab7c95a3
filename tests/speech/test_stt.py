"""The model: joined once and checked, loaded once and shared, used by a bounded pool."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.nlu import default_master
from assistant.speech import (
    ModelUnavailable,
    SpeechBusy,
    SpeechRecognizer,
    provision_base_model,
    resolve_model_dir,
)
from assistant.speech.model import MODEL_BIN_SHA256, sha256_of
from tests.conftest import STT_DIR


def test_the_packaged_model_is_joined_once_and_checked(tmp_path) -> None:
    target = provision_base_model(tmp_path)
    assert sha256_of(target / "model.bin") == MODEL_BIN_SHA256
    assert {p.name for p in target.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert provision_base_model(tmp_path) == target and (target / "model.bin").stat().st_mtime_ns == mtime
    # A damaged file is noticed and joined again.
    with (target / "model.bin").open("r+b") as fh:
        fh.truncate(1000)
    provision_base_model(tmp_path)
    assert sha256_of(target / "model.bin") == MODEL_BIN_SHA256


def test_a_configured_model_directory_must_hold_a_model(tmp_path) -> None:
    with pytest.raises(ModelUnavailable):
        resolve_model_dir(tmp_path, STT_DIR)
    assert resolve_model_dir(None, STT_DIR) == STT_DIR / "whisper-base"


def test_a_transcript_carries_raw_text_corrections_and_confidence(recognizer, buy_clip) -> None:
    t = recognizer.transcribe(buy_clip)
    assert t.text == "买入100股贵州茅台。" and t.language == "zh"
    assert t.raw_text and 2.0 < t.duration_s < 2.3 and 0 < t.confidence <= 1
    guessed = [c for c in t.corrections if c.kind == "security" and not c.exact_sound]
    if guessed:  # a name chosen by a near sound is never reported as certain
        assert t.confidence <= 0.3 and t.guessed_security
    body = t.as_dict()
    assert set(body) >= {"text", "raw_text", "language", "duration_s", "confidence", "corrections"}


def test_recognisers_share_one_loaded_model(recognizer) -> None:
    other = SpeechRecognizer(master=default_master(), model=None, stt_dir=STT_DIR)
    assert other.model is recognizer.model


def test_the_pool_refuses_rather_than_queueing_without_bound(buy_samples) -> None:
    r = SpeechRecognizer(master=default_master(), model=None, stt_dir=STT_DIR, max_concurrent=1, max_waiting=0,
                         queue_timeout_s=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with r._turn():
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=hold)
    worker.start()
    holding.wait(5)
    try:
        with pytest.raises(SpeechBusy):
            r.transcribe_samples(buy_samples)
    finally:
        release.set()
        worker.join()
    assert r.transcribe_samples(buy_samples).text  # free again


def test_a_waiting_request_gives_up_after_the_queue_timeout(buy_samples) -> None:
    r = SpeechRecognizer(master=default_master(), model=None, stt_dir=STT_DIR, max_concurrent=1, max_waiting=1,
                         queue_timeout_s=0.1)
    with r._turn():
        with pytest.raises(SpeechBusy):
            r.transcribe_samples(buy_samples)


def test_models_are_never_fetched(monkeypatch, tmp_path: Path) -> None:
    """An empty model folder fails at once instead of reaching for a hub."""
    (tmp_path / "model.bin").write_bytes(b"not a model")
    r = SpeechRecognizer(master=default_master(), model=tmp_path, stt_dir=STT_DIR)
    from assistant.speech import SpeechUnavailable

    with pytest.raises(SpeechUnavailable):
        r.model


def test_a_clip_longer_than_the_short_window_takes_the_full_path(recognizer, buy_samples) -> None:
    import numpy as np

    from assistant.speech import decode
    from tests.conftest import CLIPS

    no = decode((CLIPS / "dv25.wav").read_bytes(), max_seconds=60, max_bytes=1 << 30).samples  # 不用了，取消。
    gap = np.zeros(16_000, dtype=np.float32)
    long = np.concatenate([buy_samples, gap, no, gap, gap, gap, buy_samples, gap, gap])  # beyond the 10-s window
    transcript = recognizer.transcribe_samples(long)
    assert transcript.duration_s > 10 and "贵州茅台" in transcript.text and "取消" in transcript.text
