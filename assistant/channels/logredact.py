"""Bearer tokens never reach a log line.

Browsers cannot set headers on a WebSocket, so the app's and the console's sockets carry their
token as `?access_token=`; uvicorn writes the request line, query string included, to its access
log ("uvicorn.access") and, for sockets, to "uvicorn.error". A filter on those loggers replaces
the value before any handler formats the record. It keeps the record's argument tuple as it was
(uvicorn's access formatter unpacks it by position).
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAM = re.compile(r"(?i)((?<![A-Za-z0-9_])(?:access_token|token|ticket)=)[^&\s\"']+")
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn")


def redact(text: str) -> str:
    return _SECRET_PARAM.sub(r"\1" + REDACTED, text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_log_redaction() -> None:
    """Idempotent: one filter per logger however many apps a process builds."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
