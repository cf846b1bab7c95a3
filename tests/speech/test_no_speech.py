"""Noise is not speech: clips of generated noise are refused with a 422 in Chinese rather than
transcribed (white noise used to come back as the model's prompt, and the balance was read out)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.speech import AudioError
from assistant.speech.stt import DOMAIN_PROMPT, _Segment, heard_nothing
from tests.speech.test_audio import wav_bytes

RATE = 16_000
_rng = np.random.default_rng(2026)


def _noise(kind: str, seconds: float = 3.0) -> np.ndarray:
    n = int(seconds * RATE)
    if kind == "white":
        return _rng.normal(0, 0.2, n)
    if kind == "pink":  # 1/f: white noise shaped in the frequency domain
        spectrum = np.fft.rfft(_rng.normal(0, 1, n))
        spectrum /= np.sqrt(np.arange(1, len(spectrum) + 1))
        x = np.fft.irfft(spectrum, n)
        return 0.3 * x / np.abs(x).max()
    if kind == "brown":
        x = np.cumsum(_rng.normal(0, 1, n))
        return 0.3 * (x - x.mean()) / np.abs(x - x.mean()).max()
    if kind == "hum":  # mains hum with its harmonics
        t = np.arange(n) / RATE
        return 0.1 * sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 6))
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "hum"])
def test_noise_clips_are_refused_as_no_speech(recognizer, kind) -> None:
    with pytest.raises(AudioError) as refused:
        recognizer.transcribe(wav_bytes(_noise(kind)))
    assert refused.value.status == 422 and refused.value.code == "no_speech"
    assert not refused.value.message.isascii()


def test_speech_is_still_transcribed(recognizer, buy_clip) -> None:
    assert "贵州茅台" in recognizer.transcribe(buy_clip).text


def _segments(text: str, logprob: float, no_speech: float) -> list[_Segment]:
    return [_Segment(text=text, tokens=list(range(max(1, len(text)))), avg_logprob=logprob, no_speech_prob=no_speech)]


@pytest.mark.parametrize("raw, logprob, no_speech, refused", [
    ("账户业务。", np.log(0.45), 0.1, True),  # the prompt's tail, unsure: what white noise gave
    ("持仓", np.log(0.9), 0.05, False),  # a real, clear request that happens to be in the prompt
    ("涉及股票买卖、委托、撤单", np.log(0.95), 0.05, True),  # a long piece of the prompt: never a customer
    ("买入100股贵州茅台。", np.log(0.8), 0.05, False),
    ("买入100股贵州茅台。", np.log(0.8), 0.9, True),  # the model itself says there was no speech
])
def test_a_prompt_echo_or_a_likely_silence_is_nothing_heard(raw, logprob, no_speech, refused) -> None:
    assert heard_nothing(raw, _segments(raw, logprob, no_speech), no_speech_max=0.6) is refused
    assert "账户业务" in DOMAIN_PROMPT
