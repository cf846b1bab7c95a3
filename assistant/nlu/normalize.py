"""Canonical form of customer text: full-width to half-width, simplified characters, tidy spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize_text(text: str) -> str:
    """NFKC (full-width letters/digits → ASCII), traditional → simplified, collapse whitespace.

    Chinese punctuation survives NFKC except the full-width forms that have ASCII twins,
    which is what downstream sentence splitting expects.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _t2s().convert(text)
    return _SPACES.sub(" ", text).strip()
