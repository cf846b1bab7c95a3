"""Audio in: any container PyAV (bundled FFmpeg) reads, plus WeChat SILK (pilk), to 16 kHz mono.

WAV, MP3, AAC/M4A, OGG/Opus, WebM and AMR go through PyAV; WeChat voice notes (SILK v3, with
Tencent's leading 0x02 byte or without) through pilk. Whatever the input sample rate or channel
count, the result is 16 kHz mono float32 in [-1, 1], which is what Whisper expects.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
SILENCE_RMS = 10 ** (-50 / 20)  # below -50 dBFS over the whole clip there is nothing to hear
SILENCE_PEAK = 10 ** (-40 / 20)
_SILK_MAGIC = b"#!SILK_V3"


class AudioError(Exception):
    """Audio the service cannot use; `status`, `code` and a Chinese `message` for the customer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def empty_audio() -> AudioError:
    return AudioError(400, "audio_empty", "没有收到语音内容，请按住说话后再发送。")


def too_large(limit_bytes: int) -> AudioError:
    return AudioError(413, "audio_too_large", f"语音文件过大（不能超过 {limit_bytes // (1024 * 1024)} MB），请缩短后再试。")


def too_long(limit_s: float) -> AudioError:
    return AudioError(413, "audio_too_long", f"语音过长，单条语音请不要超过 {int(limit_s)} 秒。")


def unreadable() -> AudioError:
    return AudioError(415, "audio_unreadable",
                      "无法识别该音频文件，请使用常见格式（WAV、MP3、M4A、OGG、WebM、AMR 或微信语音）重新录制。")


def silent() -> AudioError:
    return AudioError(422, "audio_silent", "没有听到声音，请靠近麦克风再说一遍。")


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    source_format: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def is_silk(data: bytes) -> bool:
    return data.startswith(_SILK_MAGIC) or data[1:].startswith(_SILK_MAGIC)


def decode(data: bytes, *, max_seconds: float, max_bytes: int) -> Audio:
    """Decode and check an uploaded clip: not empty, not too big, not too long, not silent."""
    if not data:
        raise empty_audio()
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    if is_silk(data):
        samples, fmt = _decode_silk(data), "silk"
    else:
        samples, fmt = _decode_av(data, max_seconds)
    if samples.size == 0:
        raise empty_audio()
    if samples.size > max_seconds * SAMPLE_RATE:
        raise too_long(max_seconds)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms < SILENCE_RMS or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise silent()
    return Audio(samples=samples, source_format=fmt)


def _decode_av(data: bytes, max_seconds: float) -> tuple[np.ndarray, str]:
    import av

    limit = int((max_seconds + 1) * SAMPLE_RATE)  # stop early: a long upload is refused, not decoded whole
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise unreadable()
            stream = container.streams.audio[0]
            fmt = container.format.name.split(",")[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                frame.pts = None
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError, EOFError, OSError):
        raise unreadable() from None
    if not chunks:
        return np.zeros(0, dtype=np.float32), fmt
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    return np.clip(samples, -1.0, 1.0), fmt


def _decode_silk(data: bytes) -> np.ndarray:
    import pilk

    with tempfile.TemporaryDirectory(prefix="silk-") as tmp:
        src, pcm = Path(tmp) / "in.silk", Path(tmp) / "out.pcm"
        src.write_bytes(data)
        try:
            pilk.decode(str(src), str(pcm), pcm_rate=SAMPLE_RATE)
        except Exception:  # pilk raises its own error type or a plain one for broken files
            raise unreadable() from None
        raw = pcm.read_bytes() if pcm.exists() else b""
    raw = raw[: len(raw) - len(raw) % 2]
    return (np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0)


def encode_silk(samples: np.ndarray, *, tencent: bool = True) -> bytes:
    """16 kHz mono float samples → a WeChat-style SILK file (for tests and the evaluation set)."""
    import pilk

    pcm16 = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with tempfile.TemporaryDirectory(prefix="silk-") as tmp:
        pcm, out = Path(tmp) / "in.pcm", Path(tmp) / "out.silk"
        pcm.write_bytes(pcm16)
        pilk.encode(str(pcm), str(out), pcm_rate=SAMPLE_RATE, tencent=tencent)
        return out.read_bytes()
