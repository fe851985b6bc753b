"""Working days in mainland China: weekends, the State Council's public holidays and the
weekend days made working days in exchange (调休).

The holidays come from `chinesecalendar` (PyPI), which carries each year's State Council
notice once it is published (version 1.11 knows 2004–2026). For a year it does not know
yet, Monday to Friday are taken as working days, and the federation can name the days
itself in the settings `HUZHU_HOLIDAYS` / `HUZHU_MAKEUP_WORKDAYS` (environment variables of
the same names: comma-separated dates, e.g. `2027-01-01,2027-02-16`), which win over both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar

__all__ = ["is_workday", "add_workdays", "parse_dates"]


def parse_dates(text: str) -> frozenset[date]:
    """`2027-01-01, 2027-02-16` → the dates; a bad item raises ValueError naming it."""
    out = set()
    for item in (text or "").replace("，", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            out.add(date.fromisoformat(item))
        except ValueError as exc:
            raise ValueError(f"not a date (YYYY-MM-DD): {item!r}") from exc
    return frozenset(out)


def is_workday(
    day: date, *, holidays: Iterable[date] = (), makeup_workdays: Iterable[date] = ()
) -> bool:
    if day in makeup_workdays:
        return True
    if day in holidays:
        return False
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the library does not know yet
        return day.weekday() < 5


def add_workdays(
    day: date,
    workdays: int,
    *,
    holidays: Iterable[date] = (),
    makeup_workdays: Iterable[date] = (),
) -> date:
    """`day` + `workdays` working days (the first counted is the day after `day`)."""
    holidays, makeup_workdays = frozenset(holidays), frozenset(makeup_workdays)
    while workdays > 0:
        day += timedelta(days=1)
        if is_workday(day, holidays=holidays, makeup_workdays=makeup_workdays):
            workdays -= 1
    return day
