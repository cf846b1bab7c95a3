"""Build the larger speech evaluation set (eval/datasets/stt_augmented/) from ../shared/voice-dev.

`python -m eval.stt_augment [--source DIR]` writes, for each of the 25 recordings, six variants
that a customer's phone would plausibly send, each as the codec it would arrive in:

- noise10: white noise at 10 dB SNR (a noisy street), OGG/Opus 32 kb/s
- babble15: two other recordings of the set mixed in at 15 dB SNR (people talking nearby), OGG/Opus
- slow085 / fast120: played 0.85× and 1.2× as fast (tape-style: pitch moves with speed), OGG/Opus
- amr8k: narrow-band telephone audio, 8 kHz AMR-NB 12.2 kb/s
- silk: a WeChat voice note, SILK v3 with Tencent's header

Deterministic (seeded); the manifest (manifest.tsv) keeps the source id, text, intent and entity.
No synthesised speech: no offline Mandarin TTS is available without downloading a voice model.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import av
import numpy as np

from assistant.settings import PROJECT_ROOT
from assistant.speech import decode, encode_silk

SOURCE = PROJECT_ROOT.parent / "shared" / "voice-dev"
TARGET = Path(__file__).resolve().parent / "datasets" / "stt_augmented"
RATE = 16_000


def _mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    noise = np.resize(noise, clean.shape)
    p_clean, p_noise = np.mean(clean ** 2), np.mean(noise ** 2) + 1e-12
    scaled = noise * np.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))
    mixed = clean + scaled
    peak = np.max(np.abs(mixed))
    return (mixed / peak * 0.9 if peak > 0.99 else mixed).astype(np.float32)


def _speed(samples: np.ndarray, factor: float) -> np.ndarray:
    n = int(len(samples) / factor)
    return np.interp(np.arange(n) * factor, np.arange(len(samples)), samples).astype(np.float32)


def encode(samples: np.ndarray, container: str, codec: str, rate: int, bit_rate: int | None = None) -> bytes:
    """Mono float samples at 16 kHz → bytes in the given container and codec (resampled to `rate`)."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
        frame.sample_rate = RATE
        for chunk in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(chunk):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def build(source: Path = SOURCE, target: Path = TARGET) -> int:
    rows = list(csv.DictReader((source / "sentences.tsv").open(encoding="utf-8"), delimiter="\t"))
    clips = {r["id"]: decode((source / f"{r['id']}.wav").read_bytes(), max_seconds=60, max_bytes=1 << 30).samples
             for r in rows}
    ids = [r["id"] for r in rows]
    rng = np.random.default_rng(20261125)
    target.mkdir(parents=True, exist_ok=True)
    out_rows = []
    for k, r in enumerate(rows):
        clean = clips[r["id"]]
        others = np.concatenate([clips[ids[(k + 7) % len(ids)]], clips[ids[(k + 13) % len(ids)]]])
        variants = {
            "noise10": (_mix_at_snr(clean, rng.standard_normal(len(clean)).astype(np.float32), 10), "ogg"),
            "babble15": (_mix_at_snr(clean, others, 15), "ogg"),
            "slow085": (_speed(clean, 0.85), "ogg"),
            "fast120": (_speed(clean, 1.2), "ogg"),
            "amr8k": (clean, "amr"),
            "silk": (clean, "silk"),
        }
        for name, (samples, kind) in variants.items():
            if kind == "ogg":
                data, ext = encode(samples, "ogg", "libopus", 48_000, 32_000), "ogg"
            elif kind == "amr":
                data, ext = encode(samples, "amr", "libopencore_amrnb", 8_000, 12_200), "amr"
            else:
                data, ext = encode_silk(samples), "silk"
            file = f"{r['id']}_{name}.{ext}"
            (target / file).write_bytes(data)
            out_rows.append({"id": f"{r['id']}_{name}", "file": file, "variant": name, "text": r["text"],
                             "intent": r["intent"], "entity": r["entity"]})
    with (target / "manifest.tsv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "file", "variant", "text", "intent", "entity"], delimiter="\t")
        writer.writeheader()
        writer.writerows(out_rows)
    return len(out_rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args()
    print(f"{build(args.source)} clips written to {TARGET}")
