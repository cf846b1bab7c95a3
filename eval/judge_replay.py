"""Recorded readings of the guard judge, served over the OpenAI protocol, so the evaluations can be
run with a judge where no endpoint is reachable (`python -m eval compliance|handoff --judge-readings FILE`).

A readings file holds one JSON object per line: {"kind": "input"|"output", "text", "answer"}, where
`text` is the masked text exactly as the judge is shown it (inside <message> or <text>) and
`answer` the JSON object it gave. A guard prompt whose text has no reading gets an answer that is
not JSON (so the local checks decide, as with an off-format model); any other prompt (the
knowledge base's answer, the handoff summary) gets a 503, so those fall back as without an LLM.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from eval.local_server import LocalServer

_UNDER_REVIEW = {"input": re.compile(r"<message>\n(.*)\n</message>", re.DOTALL),
                 "output": re.compile(r"<text>\n(.*)\n</text>", re.DOTALL)}


def load_readings(path: Path) -> dict[tuple[str, str], dict]:
    readings: dict[tuple[str, str], dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            readings.setdefault((row["kind"], row["text"]), row["answer"])  # the first reading of a text counts
    return readings


class JudgeReplay(LocalServer):
    """A with-block: a uvicorn server on a free loopback port; `base_url` for the settings."""

    def __init__(self, readings: dict[tuple[str, str], dict]) -> None:
        self.readings, self.asked, self.answered = readings, 0, 0
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            body = await request.json()
            messages = body.get("messages", [])
            if not messages or "合规审查员" not in str(messages[0].get("content", "")):
                return JSONResponse({"error": {"message": "not recorded"}}, status_code=503)
            self.asked += 1
            content = str(messages[-1].get("content", ""))
            answer = None
            for kind, pattern in _UNDER_REVIEW.items():
                m = pattern.search(content)
                if m and (kind, m.group(1)) in self.readings:
                    answer = self.readings[(kind, m.group(1))]
            self.answered += answer is not None
            text = json.dumps(answer, ensure_ascii=False) if answer is not None else "（没有这条的记录）"
            return {"id": "replay", "object": "chat.completion", "created": int(time.time()), "model": "replay",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}

        super().__init__(app, prefix="/v1")
