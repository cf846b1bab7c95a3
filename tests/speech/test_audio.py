"""Audio in: every format a phone or WeChat sends, at any rate, and the refusals."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from assistant.speech import AudioError, decode, encode_silk
from eval.stt_augment import encode

LIMITS = {"max_seconds": 60, "max_bytes": 10 * 1024 * 1024}

# container, codec, sample rate, bit rate: what browsers, phones and mini-programs upload
FORMATS = {
    "mp3": ("mp3", "libmp3lame", 44_100, 64_000),
    "m4a": ("ipod", "aac", 48_000, 64_000),
    "aac": ("adts", "aac", 22_050, 48_000),
    "ogg": ("ogg", "libopus", 48_000, 48_000),
    "webm": ("webm", "libopus", 48_000, 64_000),  # MediaRecorder in a browser
    "amr": ("amr", "libopencore_amrnb", 8_000, 12_200),
}


def wav_bytes(samples: np.ndarray, rate: int = 16_000, channels: int = 1) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    if channels == 2:
        pcm = np.repeat(pcm, 2)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def encoded(samples: np.ndarray, kind: str) -> bytes:
    if kind == "silk":
        return encode_silk(samples)
    if kind == "wav44k-stereo":
        resampled = np.interp(np.arange(int(len(samples) * 44_100 / 16_000)) * 16_000 / 44_100,
                              np.arange(len(samples)), samples)
        return wav_bytes(resampled, 44_100, channels=2)
    return encode(samples, *FORMATS[kind])


@pytest.mark.parametrize("kind", [*FORMATS, "silk", "wav44k-stereo"])
def test_each_format_decodes_to_16k_mono_of_the_same_length(buy_samples, kind) -> None:
    audio = decode(encoded(buy_samples, kind), **LIMITS)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.duration_s - len(buy_samples) / 16_000) < 0.15
    assert float(np.sqrt(np.mean(audio.samples ** 2))) > 0.01


def test_a_clip_from_any_format_is_transcribed_alike(recognizer, buy_samples) -> None:
    for kind in ("mp3", "m4a", "webm", "amr", "silk"):
        transcript = recognizer.transcribe(encoded(buy_samples, kind))
        assert "贵州茅台" in transcript.text and "买入100" in transcript.text, (kind, transcript.text)


@pytest.mark.parametrize("data, code, status", [
    (b"", "audio_empty", 400),
    (b"\x00\x01garbage, not audio at all" * 50, "audio_unreadable", 415),
    (wav_bytes(np.zeros(32_000)), "audio_silent", 422),
    (wav_bytes(np.full(32_000, 1e-5)), "audio_silent", 422),
    (wav_bytes(0.1 * np.sin(np.arange(61 * 16_000) / 5.0)), "audio_too_long", 413),
])
def test_bad_audio_is_refused_with_a_reason(data, code, status) -> None:
    with pytest.raises(AudioError) as caught:
        decode(data, **LIMITS)
    assert caught.value.code == code and caught.value.status == status
    assert caught.value.message and not caught.value.message.isascii()


def test_a_truncated_upload_is_unreadable_or_too_short_to_hear(buy_clip) -> None:
    mp3 = encoded(decode(buy_clip, **LIMITS).samples, "mp3")
    with pytest.raises(AudioError) as caught:
        decode(mp3[:300], **LIMITS)
    assert caught.value.status in (400, 415, 422)


def test_the_size_limit_comes_before_decoding(buy_clip) -> None:
    with pytest.raises(AudioError) as caught:
        decode(buy_clip, max_seconds=60, max_bytes=1000)
    assert caught.value.code == "audio_too_large" and caught.value.status == 413
