"""Speech: audio decoding, Whisper speech-to-text, Chinese normalisation and domain correction."""

from assistant.speech.audio import AudioError, decode, encode_silk
from assistant.speech.correct import Correction, DomainCorrector
from assistant.speech.model import ModelUnavailable, provision_base_model, resolve_model_dir
from assistant.speech.normalize import normalize_transcript, numbers_for_trading, text_for_scoring
from assistant.speech.stt import (
    DOMAIN_PROMPT,
    SpeechBusy,
    SpeechRecognizer,
    SpeechUnavailable,
    Transcript,
)

__all__ = [
    "DOMAIN_PROMPT",
    "AudioError",
    "Correction",
    "DomainCorrector",
    "ModelUnavailable",
    "SpeechBusy",
    "SpeechRecognizer",
    "SpeechUnavailable",
    "Transcript",
    "decode",
    "encode_silk",
    "normalize_transcript",
    "numbers_for_trading",
    "provision_base_model",
    "resolve_model_dir",
    "text_for_scoring",
]
