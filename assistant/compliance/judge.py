"""A second reader for the guards: an LLM asked what a message does, when one is configured.

The patterns read words and the learned checks read n-grams; neither can tell who does what to
whom, and a violation said in new words slips past both. Where an OpenAI-compatible endpoint is
configured (and `guard_judge` is on), the judge reads each customer message (prompts/guard_input.md)
and each outgoing free text (prompts/guard_output.md) and takes the learned checks' place; the
patterns keep their say (guards.py decides how the two combine).

It only ever sees masked text. Any failure (timeout, an error, an answer that is not the JSON
asked for) gives None, and the local checks decide alone; after a failure the judge rests for
`COOL_DOWN_S`, so a dead endpoint costs one timeout, not one per message.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.compliance.pii import mask_pii
from assistant.compliance.rules import INPUT_RULES, OUTPUT_RULES

log = logging.getLogger(__name__)

INPUT_JUDGED = tuple(INPUT_RULES)
OUTPUT_JUDGED = tuple(r.name for r in OUTPUT_RULES if r.name != "pii")  # personal data is found by its checksums
HANDOFF_REASONS = ("fraud_victim", "complaint", "customer_request", "negative_sentiment", "licensed_advice", "guard_review")
COOL_DOWN_S = 30.0
CACHE_SIZE = 1024
MAX_CHARS = 4000  # a longer text is judged on its first MAX_CHARS (the patterns still read all of it)
_JSON = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True)
class InputReading:
    rules: tuple[str, ...]  # the input rules the message touches, in INPUT_JUDGED order
    handoff: str | None  # the reason a person should take over, if any


@dataclass(frozen=True)
class JudgedViolation:
    rule: str
    span: str  # as the judge quoted it; guards.py finds it in the text


class ComplianceJudge:
    """`llm` is a langchain chat model; `clock` is for the cool-down (tests pass their own)."""

    context_turns = 4  # earlier messages shown with a customer message, oldest first

    def __init__(self, llm, prompts_dir: Path, *, name: str = "llm", clock: Callable[[], float] = time.monotonic) -> None:
        self.llm, self.prompts_dir, self.name, self.clock = llm, prompts_dir, name, clock
        self._resting_until = 0.0
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def read_input(self, masked_text: str, context: Sequence[tuple[str, str]] = ()) -> InputReading | None:
        ctx = "\n".join(f"{'客户' if role == 'customer' else '客服'}：{mask_pii(text).text[:300]}"
                        for role, text in list(context)[-self.context_turns:]) or "（无）"
        answer = self._ask("guard_input", {"context": ctx, "message": masked_text[:MAX_CHARS]})
        if answer is None:
            return None
        rules, handoff = answer.get("rules", []), answer.get("handoff")
        if not isinstance(rules, list) or not (handoff is None or isinstance(handoff, str)):
            return self._malformed("guard_input")
        named = {r for r in rules if isinstance(r, str)}
        return InputReading(tuple(r for r in INPUT_JUDGED if r in named),
                            handoff if handoff in HANDOFF_REASONS else None)

    def read_output(self, text: str) -> list[JudgedViolation] | None:
        answer = self._ask("guard_output", {"text": mask_pii(text).text[:MAX_CHARS]})
        if answer is None:
            return None
        items = answer.get("violations", [])
        if not isinstance(items, list):
            return self._malformed("guard_output")
        found = []
        for item in items:
            if isinstance(item, dict) and item.get("rule") in OUTPUT_JUDGED:
                found.append(JudgedViolation(item["rule"], str(item.get("span") or "")))
        return found

    # --- the call ---

    def _ask(self, prompt_name: str, variables: dict[str, str]) -> dict | None:
        key = (prompt_name, *variables.values())
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            if self.clock() < self._resting_until:
                return None
        from assistant.llm import load_prompt

        try:
            result = (load_prompt(self.prompts_dir, prompt_name) | self.llm).invoke(variables)
            content = str(getattr(result, "content", result))
        except Exception as exc:  # noqa: BLE001 - any failure of the optional judge leaves the local checks to decide
            log.warning("guard judge (%s) failed: %s", prompt_name, type(exc).__name__)
            self._rest()
            return None
        answer = _parse(content)
        if answer is None:
            return self._malformed(prompt_name)
        with self._lock:
            self._cache[key] = answer
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return answer

    def _malformed(self, prompt_name: str) -> None:
        log.warning("guard judge (%s) gave an answer that is not the JSON asked for", prompt_name)
        return None  # a model that answers off-format once may answer well next time: no rest

    def _rest(self) -> None:
        with self._lock:
            self._resting_until = self.clock() + COOL_DOWN_S


def _parse(content: str) -> dict | None:
    """The JSON object in the answer; models wrap it in ```json fences or a sentence now and then."""
    match = _JSON.search(content)
    if not match:
        return None
    try:
        value = json.loads(match.group(0))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def build_judge(settings, prompts_dir: Path | None = None) -> ComplianceJudge | None:
    """None without an LLM endpoint, or with `guard_judge` off."""
    if not (settings.llm_enabled and settings.guard_judge):
        return None
    from assistant.llm import build_chat_model

    llm = build_chat_model(settings, timeout_s=settings.guard_judge_timeout_s, model=settings.guard_judge_model,
                           temperature=0.0)
    return ComplianceJudge(llm, prompts_dir or settings.prompts_dir, name=settings.guard_judge_model or settings.llm_model)
