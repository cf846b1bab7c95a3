"""The Shanghai exchange's trading days (XSHG), from exchange_calendars, kept as plain dates.

exchange_calendars is the source: it follows the exchanges' published holiday lists. It needs
pandas, and importing the two took about two seconds of every start, so `assistant train` writes
what we read of it (the first and last session it knows and the weekdays between that are not
sessions) into var/calendar/, named by the library's version; a process reads that file. Where the
file is missing (a fresh checkout's tests) it is made on first use the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from assistant.nlu import load_or_build


@dataclass(frozen=True)
class TradingDays:
    first: date
    last: date
    closed_weekdays: frozenset[date]  # weekdays between first and last that are not sessions

    def is_session(self, day: date) -> bool:
        if not self.first <= day <= self.last:
            # The exchange publishes next year's holidays each December; until then, weekdays.
            return day.weekday() < 5
        return day.weekday() < 5 and day not in self.closed_weekdays


def _from_exchange_calendars() -> TradingDays:
    import exchange_calendars as xcals

    cal = xcals.get_calendar("XSHG")
    first, last = cal.first_session.date(), cal.last_session.date()
    sessions = {ts.date() for ts in cal.sessions}
    closed, day = set(), first
    while day <= last:
        if day.weekday() < 5 and day not in sessions:
            closed.add(day)
        day += timedelta(days=1)
    return TradingDays(first, last, frozenset(closed))


def calendar_path(var_dir: Path) -> Path:
    return var_dir / "calendar" / f"xshg-{version('exchange_calendars')}.pkl"


def build(var_dir: Path) -> TradingDays:
    """Read from var/ when written, else from exchange_calendars (and written): `assistant train`'s step."""
    return load_or_build(calendar_path(var_dir), _from_exchange_calendars)


@lru_cache(maxsize=1)
def xshg() -> TradingDays:
    from assistant.settings import get_settings

    return build(get_settings().var_dir)
