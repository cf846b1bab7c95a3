"""Prompt templates live in prompts/<name>.md, one file each, with [system] and [user] parts."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

_PART = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


@lru_cache(maxsize=32)
def load_prompt(prompts_dir: Path, name: str) -> ChatPromptTemplate:
    path = prompts_dir / f"{name}.md"
    pieces = _PART.split(path.read_text(encoding="utf-8"))
    # pieces: [preamble, role, text, role, text, ...]; the preamble is a comment for maintainers.
    messages = []
    for role, text in zip(pieces[1::2], pieces[2::2], strict=True):
        messages.append(("system" if role == "system" else "human", text.strip()))
    if not messages:
        raise ValueError(f"prompt {path} has no [system] or [user] part")
    return ChatPromptTemplate.from_messages(messages)
