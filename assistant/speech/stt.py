"""speech.transcribe: uploaded audio → corrected Chinese text with a confidence.

One Whisper model per process, loaded once and shared by every request (CTranslate2 runs
several transcriptions on one model safely). Requests take a turn in a bounded pool: at most
`max_concurrent` transcribe at once, at most `max_waiting` wait (for `queue_timeout_s` at most);
anything beyond that is told to retry instead of piling up in memory.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import re

import numpy as np

from assistant.nlu import SecurityMaster
from assistant.speech.audio import SAMPLE_RATE, Audio, AudioError, decode
from assistant.speech.correct import Correction, CorrectionResult, DomainCorrector
from assistant.speech.model import resolve_model_dir
from assistant.speech.normalize import normalize_transcript, numbers_for_trading

log = logging.getLogger(__name__)

LANGUAGE = "zh"
# Sets the register (simplified characters, Chinese punctuation, a broker's customer speaking).
DOMAIN_PROMPT = ("以下是投资者用普通话说的话，涉及股票买卖、委托、撤单、持仓、行情、资产、开户、"
                 "融资融券、科创板、创业板、可转债、基金和账户业务。")
GUESSED_NAME_CONFIDENCE = 0.3  # below the read-back threshold (ASSISTANT_STT_READBACK_CONFIDENCE, 0.5)
NO_SPEECH = 0.6  # Whisper's own no-speech probability above which a quiet segment is dropped
# Noise is often "heard" as the prompt itself ("账户业务。" at 0.45 from white noise). A transcript that
# only repeats a piece of the prompt is refused when the model is this unsure or less; a piece
# longer than PROMPT_ECHO_CHARS is refused whatever the confidence (nobody says half our prompt).
PROMPT_ECHO_CONFIDENCE = 0.6
PROMPT_ECHO_CHARS = 8
NO_SPEECH_MESSAGE = "没有听清您说的话，请靠近麦克风再说一遍，或直接输入文字。"
_PUNCTUATION = re.compile(r"[\s，。、？！,.?!：:；;“”\"'（）()]+")


class SpeechBusy(Exception):
    """The pool is full: the caller should try again shortly."""

    status, code, message = 503, "speech_busy", "语音识别服务繁忙，请稍后再试，或直接输入文字。"


class SpeechUnavailable(Exception):
    status, code, message = 503, "speech_unavailable", "语音识别暂时不可用，请直接输入文字。"


@dataclass
class _Segment:
    text: str
    tokens: list[int]
    avg_logprob: float
    no_speech_prob: float


@dataclass
class Transcript:
    text: str  # normalised and corrected: what the conversation reads
    raw_text: str  # what the model wrote
    language: str
    duration_s: float
    confidence: float  # 0..1, from the model's token log-probabilities
    corrections: list[Correction] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)  # words that sound like several securities
    seconds: float = 0.0  # processing time

    @property
    def guessed_security(self) -> bool:
        """A security name the recogniser did not write but the correction chose by sound."""
        return bool(self.ambiguous) or any(c.kind == "security" and not c.exact_sound for c in self.corrections)

    def as_dict(self) -> dict:
        return {"text": self.text, "raw_text": self.raw_text, "language": self.language,
                "duration_s": round(self.duration_s, 2), "confidence": round(self.confidence, 3),
                "corrections": [c.as_dict() for c in self.corrections], "ambiguous": self.ambiguous}


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@lru_cache(maxsize=2)
def load_whisper(model_dir: str, device: str, compute_type: str, cpu_threads: int):
    """The one shared model per directory and device, for the life of the process."""
    from faster_whisper import WhisperModel

    started = time.perf_counter()
    model = WhisperModel(model_dir, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                         local_files_only=True)
    log.info("speech model %s loaded in %.1f s", model_dir, time.perf_counter() - started)
    return model


class SpeechRecognizer:
    def __init__(self, *, master: SecurityMaster, model: Path | None, stt_dir: Path, device: str = "cpu",
                 compute_type: str = "int8", cpu_threads: int = 0, beam_size: int = 5, max_seconds: float = 60.0,
                 max_bytes: int = 10 * 1024 * 1024, max_concurrent: int = 1, max_waiting: int = 8,
                 queue_timeout_s: float = 20.0, hotwords: int = 0, window_s: float = 10.0,
                 no_speech_max: float = 0.6, min_voice_s: float = 0.25) -> None:
        self.master = master
        self._model_path, self._stt_dir = model, stt_dir
        self.device, self.compute_type = device, compute_type
        self.cpu_threads = cpu_threads or default_threads()
        self.beam_size = beam_size
        self.max_seconds, self.max_bytes = max_seconds, max_bytes
        self.queue_timeout_s = queue_timeout_s
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._max_in_pool = max_concurrent + max_waiting
        self._in_pool = 0
        self._pool_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._model = None
        self._tokenizer = None
        self.window_s = window_s
        self.no_speech_max, self.min_voice_s = no_speech_max, min_voice_s
        self.corrector = DomainCorrector(master)
        # Hint phrases: the first `hotwords` names of the master list (most traded first).
        self.hotwords = "、".join(s.name for s in master.securities[:hotwords]) or None

    @classmethod
    def from_settings(cls, settings, master: SecurityMaster) -> "SpeechRecognizer":
        return cls(master=master, model=settings.stt_model, stt_dir=settings.resolved_stt_dir,
                   device=settings.stt_device, compute_type=settings.stt_compute_type,
                   cpu_threads=settings.stt_cpu_threads, beam_size=settings.stt_beam_size,
                   max_seconds=settings.stt_max_seconds, max_bytes=settings.stt_max_bytes,
                   max_concurrent=settings.stt_max_concurrent, max_waiting=settings.stt_max_waiting,
                   queue_timeout_s=settings.stt_queue_timeout_s, hotwords=settings.stt_hotwords,
                   window_s=settings.stt_window_s, no_speech_max=settings.stt_no_speech_max,
                   min_voice_s=settings.stt_min_voice_s)

    # --- the model ---

    @property
    def model(self):
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    try:
                        path = resolve_model_dir(self._model_path, self._stt_dir)
                        self._model = load_whisper(str(path), self.device, self.compute_type, self.cpu_threads)
                    except Exception:
                        log.exception("speech model failed to load")
                        raise SpeechUnavailable() from None
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    # --- transcription ---

    def decode(self, data: bytes) -> Audio:
        return decode(data, max_seconds=self.max_seconds, max_bytes=self.max_bytes)

    def transcribe(self, data: bytes) -> Transcript:
        """Decode, check and transcribe an upload; AudioError, SpeechBusy or SpeechUnavailable otherwise."""
        return self.transcribe_samples(self.decode(data).samples)

    def transcribe_samples(self, samples: np.ndarray, *, plain: bool = False, hotwords: str | None = None,
                           correct: bool = True) -> Transcript:
        """`plain`: faster-whisper as it comes (no prompt, hotwords, short window or correction), for the
        evaluation's baseline.
        `hotwords` replaces the configured hint phrases for this call; `correct=False` skips the domain
        correction (the evaluation compares them)."""
        model = self.model
        if not plain and voiced_seconds(samples) < self.min_voice_s:
            raise AudioError(422, "no_speech", NO_SPEECH_MESSAGE)  # noise or silence: nothing to transcribe
        prompt = None if plain else DOMAIN_PROMPT
        hints = None if plain else (hotwords or self.hotwords)
        with self._turn():
            started = time.perf_counter()
            segments = None
            if self.window_s and not plain and len(samples) <= (self.window_s - 1) * SAMPLE_RATE:
                segments = self._short_clip(model, samples, prompt, hints)
            if segments is None:
                segments, _ = model.transcribe(
                    samples, language=LANGUAGE, task="transcribe", beam_size=self.beam_size,
                    initial_prompt=prompt, hotwords=hints, condition_on_previous_text=False,
                    without_timestamps=True, vad_filter=False, temperature=0.0,
                )
                segments = list(segments)
            segments = [s for s in segments if not (s.no_speech_prob > NO_SPEECH and s.avg_logprob < -1.0)]
            elapsed = time.perf_counter() - started
        raw = "".join(s.text for s in segments).strip()
        duration = len(samples) / SAMPLE_RATE
        if plain:
            return Transcript(text=raw, raw_text=raw, language=LANGUAGE, duration_s=duration,
                              confidence=_confidence(segments), seconds=elapsed)
        text = normalize_transcript(raw)
        if not text.strip("。？！，") or heard_nothing(raw, segments, self.no_speech_max):
            raise AudioError(422, "no_speech", NO_SPEECH_MESSAGE)
        result = self.corrector.correct(text) if correct else CorrectionResult(text, [], [])
        transcript = Transcript(text=numbers_for_trading(result.text), raw_text=raw, language=LANGUAGE,
                                duration_s=duration, confidence=_confidence(segments),
                                corrections=result.corrections, ambiguous=result.ambiguous, seconds=elapsed)
        if transcript.guessed_security:
            # The name is our guess, not what was heard: low enough that a spoken order is read back.
            transcript.confidence = min(transcript.confidence, GUESSED_NAME_CONFIDENCE)
        return transcript

    def _short_clip(self, model, samples: np.ndarray, prompt: str | None, hotwords: str | None) -> list | None:
        """Encode only `window_s` seconds instead of Whisper's fixed 30 (the encoder is most of
        the cost: about 8x faster for a 10-second window), then one beam search. None when the
        result looks broken (repetition, very low probability): the caller redoes it the usual way."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_compression_ratio, get_ctranslate2_storage, get_suppressed_tokens

        if self._tokenizer is None:
            self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                                        language=LANGUAGE)
        tokenizer = self._tokenizer
        frames = int(self.window_s * 100)  # 10 ms hop
        features = model.feature_extractor(samples)[:, :frames]
        features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
        encoded = model.model.encode(get_ctranslate2_storage(np.ascontiguousarray(features[None])))
        previous = tokenizer.encode(" " + prompt.strip()) if prompt else []
        prompt_ids = model.get_prompt(tokenizer, previous[-(model.max_length // 2 - 1):], without_timestamps=True,
                                      hotwords=hotwords)
        result = model.model.generate(
            encoded, [prompt_ids], beam_size=self.beam_size, patience=1, length_penalty=1,
            max_length=model.max_length, return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )[0]
        tokens = result.sequences_ids[0]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = tokenizer.decode(tokens).strip()
        if get_compression_ratio(text) > 2.4 or avg_logprob < -1.0:
            return None
        return [_Segment(text=text, tokens=tokens, avg_logprob=avg_logprob, no_speech_prob=result.no_speech_prob)]

    @contextmanager
    def _turn(self):
        """A place in the pool: refused at once when it is full, or after waiting too long."""
        with self._pool_lock:
            if self._in_pool >= self._max_in_pool:
                raise SpeechBusy()
            self._in_pool += 1
        try:
            if not self._slots.acquire(timeout=self.queue_timeout_s):
                raise SpeechBusy()
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._pool_lock:
                self._in_pool -= 1


def voiced_seconds(samples: np.ndarray) -> float:
    """Seconds of speech that voice-activity detection (Silero, shipped inside faster-whisper) finds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(samples.astype(np.float32, copy=False),
                                  VadOptions(min_speech_duration_ms=100, min_silence_duration_ms=300))
    return sum(s["end"] - s["start"] for s in spans) / SAMPLE_RATE


def heard_nothing(raw: str, segments, no_speech_max: float) -> bool:
    """The model was most likely hearing no speech: it says so itself (mean no-speech probability
    above the limit), or the transcript only repeats a piece of the prompt it was given."""
    if segments:
        weights = [max(1, len(s.tokens)) for s in segments]
        if sum(s.no_speech_prob * w for s, w in zip(segments, weights)) / sum(weights) > no_speech_max:
            return True
    said = _PUNCTUATION.sub("", raw)
    prompt = _PUNCTUATION.sub("", DOMAIN_PROMPT)
    if said and said in prompt:
        return len(said) > PROMPT_ECHO_CHARS or _confidence(segments) <= PROMPT_ECHO_CONFIDENCE
    return False


def _confidence(segments) -> float:
    """exp of the token-weighted mean log-probability: about 0.8 for clear speech, lower when unsure."""
    weights = [max(1, len(s.tokens)) for s in segments]
    if not segments:
        return 0.0
    mean = sum(s.avg_logprob * w for s, w in zip(segments, weights)) / sum(weights)
    return float(min(1.0, max(0.0, math.exp(mean))))
