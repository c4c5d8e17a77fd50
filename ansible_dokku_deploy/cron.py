"""Cron schedules as env.yml's backups.schedule writes them: when cron runs one next, and its longest gap.

Pure functions of the schedule's text; the numeric fields only (a name such as MON reads as unknown).
"""

from __future__ import annotations

import itertools
import re
import time

SCHEDULE = re.compile(r" *[0-9A-Za-z*,/-]+( +[0-9A-Za-z*,/-]+){4} *")  # as the packaging schema's $defs/cron


def max_age(schedule: str) -> int:
    """Seconds a backup may be old before the next scheduled one is overdue: the schedule's longest gap + 1 h."""
    minute, hour, dom, month, dow = schedule.split()
    if dom != "*" or month != "*":
        gap = 31 * 86400
    elif dow != "*":
        gap = 7 * 86400
    elif hour != "*":
        gap = _longest_gap(hour, 24) * 3600
    else:
        gap = _longest_gap(minute, 60) * 60
    return gap + 3600


def _longest_gap(field: str, period: int) -> int:
    """The longest wait between two runs in one cron field (e.g. '*/15' in minutes: 15; '3' in hours: 24)."""
    values = _values(field, 0, period - 1)
    if values is None:
        return period
    ordered = sorted(values) or [0]
    gaps = [b - a for a, b in itertools.pairwise(ordered)] + [ordered[0] + period - ordered[-1]]
    return max(gaps)


def _values(field: str, first: int, last: int) -> set[int] | None:
    """The values one cron field matches, from first to last; None for what it cannot read (names)."""
    values: set[int] = set()
    for part in field.split(","):
        rng, _, step = part.partition("/")
        if rng == "*":
            lo, hi = first, last
        elif re.fullmatch(r"\d+-\d+", rng):
            lo, hi = (int(x) for x in rng.split("-", 1))
        elif rng.isdigit():
            lo = hi = int(rng)
            if step:
                hi = last
        else:
            return None
        if step and (not step.isdigit() or int(step) == 0):
            return None
        values.update(range(lo, hi + 1, int(step) if step else 1))
    return {v for v in values if first <= v <= last}


def next_run(schedule: str, now: float) -> float | None:
    """When cron next runs schedule after now; None for a schedule it cannot read. Dokku's crontab sets no TZ and
    Debian's cron has no CRON_TZ: cron reads a schedule in the server's local time (the process's TZ here), so the
    days, hours and minutes are those of the local calendar; the answer is an instant (seconds since the epoch)."""
    fields = schedule.split()
    minutes, hours, days, months, weekdays = (
        _values(f, lo, hi) for f, (lo, hi) in zip(fields, ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7)), strict=True)
    )
    if minutes is None or hours is None or days is None or months is None or weekdays is None:
        return None
    weekdays = {d % 7 for d in weekdays}  # 7 is Sunday too
    either = fields[2] != "*" and fields[4] != "*"  # cron runs when the day of month or the weekday matches
    today = time.localtime(now)
    for day in range(400):
        # noon of the day: a day's offset never lands on another day across a change of summer time
        date = time.localtime(time.mktime((today.tm_year, today.tm_mon, today.tm_mday + day, 12, 0, 0, 0, 0, -1)))
        in_month, on_weekday = date.tm_mday in days, (date.tm_wday + 1) % 7 in weekdays
        if date.tm_mon in months and ((in_month or on_weekday) if either else (in_month and on_weekday)):
            day_of = (date.tm_year, date.tm_mon, date.tm_mday)
            for at in sorted(time.mktime((*day_of, h, m, 0, 0, 0, -1)) for h in hours for m in minutes):
                if at > now:
                    return float(at)
    return None
