"""Scanning everything the service kept for personal data that should have been masked."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from assistant.storage import Base


def stored_leaks(db, leaks: Callable[[str], list[str]]) -> dict[str, list[str]]:
    """Every table's rows (the simulated broker's own demo records aside), by table: what leaked."""
    found: dict[str, list[str]] = {}
    with db.session() as s:
        for table in Base.metadata.sorted_tables:
            if table.name.startswith("sim_"):
                continue  # the simulated broker's own records of its demo customers
            for row in s.execute(select(table)).all():
                if hit := leaks(" ".join(str(v) for v in row)):
                    found.setdefault(table.name, []).extend(hit)
    return found
