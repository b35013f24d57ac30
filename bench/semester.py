"""A generated semester for imports: courses in rooms across two time zones, a 12-week term with a reading
week, as timetable rows (CSV, iCalendar or JSON). The tests use a small one, the bench a big one.

Course `c` meets in room `c % rooms`, on weekday `(c // rooms) % 5` at hour `9 + (c // (5 rooms)) % 8`, for
50 minutes, in every teaching week but the reading week, local to its room (even rooms London, odd rooms
New York): no two courses ever share a room's slot. `series=True` gives one row per course (weekly, in
teaching weeks "1-5,7-12" of the calendar); otherwise one row per session.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ZONES = ("Europe/London", "America/New_York")
TERM_START = date(2027, 4, 5)  # a Monday, more than the 30-day horizon after the tests' clock (2027-03-01)
WEEKS = 12
READING_WEEK = 6
SESSION_SECONDS = 50 * 60


@dataclass
class Semester:
    rooms: list[dict[str, str]]
    calendar: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    sessions: int = 0  # bookings the rows stand for (one per teaching week and course)

    def csv(self) -> str:
        names = sorted({key for row in self.rows for key in row}, key=_column_order)
        out = io.StringIO()
        writer = csv.DictWriter(out, names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue()

    def ics(self) -> str:
        """The same rows as VEVENTs (series rows carry their teaching weeks as X-ONAIR- properties)."""
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//onair//bench semester//EN"]
        for row in self.rows:
            zone = self.rooms[int(row["channel"].split()[-1])]["timezone"]
            start = datetime.fromisoformat(row["start"])
            lines += ["BEGIN:VEVENT", f"UID:{row['external_id']}", f"SUMMARY:{row['title']}"]
            lines += [f"LOCATION:{row['channel']}", f"DTSTART;TZID={zone}:{start:%Y%m%dT%H%M%S}"]
            lines.append(f"DURATION:PT{SESSION_SECONDS // 60}M")
            if "weeks" in row:  # teaching weeks make it weekly (an RRULE would say the same another way)
                lines += [f"X-ONAIR-CALENDAR:{row['calendar']}", f"X-ONAIR-WEEKS:{row['weeks']}"]
            lines += [f"CATEGORIES:{row['tags']}", "END:VEVENT"]
        lines.append("END:VCALENDAR")
        return "\r\n".join(lines) + "\r\n"


def _column_order(name: str) -> tuple[int, str]:
    order = ["external_id", "title", "channel", "start", "duration", "calendar", "weeks", "tags"]
    return (order.index(name) if name in order else len(order), name)


def teaching_weeks() -> list[int]:
    return [w for w in range(1, WEEKS + 1) if w != READING_WEEK]


def slot(course: int, rooms: int) -> tuple[int, int, int]:
    """(room, weekday with Monday 0, hour) of a course."""
    return course % rooms, (course // rooms) % 5, 9 + (course // (5 * rooms)) % 8


def semester(
    courses: int = 300, rooms: int = 40, series: bool = True, term_start: date = TERM_START
) -> Semester:
    if courses > rooms * 40:
        raise ValueError("more courses than the rooms have weekly slots")
    made = Semester(
        rooms=[{"name": f"Room {r}", "timezone": ZONES[r % 2]} for r in range(rooms)],
        calendar={
            "name": "Academic year",
            "timezone": "Europe/London",
            "terms": [{"name": "Summer term", "start": term_start.isoformat(), "weeks": WEEKS}],
        },
    )
    weeks = teaching_weeks()
    for course in range(courses):
        room, day, hour = slot(course, rooms)
        first = datetime.combine(term_start + timedelta(days=day), datetime.min.time()).replace(hour=hour)
        common = {"title": f"Course {course:04d}", "channel": f"Room {room}", "tags": f"year{1 + course % 3}"}
        if series:
            made.rows.append(
                {
                    "external_id": f"C{course:04d}",
                    **common,
                    "start": first.isoformat(),
                    "duration": SESSION_SECONDS,
                    "calendar": "Academic year",
                    "weeks": "1-5,7-12",
                }
            )
        else:
            for week in weeks:
                start = first + timedelta(weeks=week - 1)
                made.rows.append(
                    {
                        "external_id": f"C{course:04d}-W{week:02d}",
                        **common,
                        "start": start.isoformat(),
                        "duration": SESSION_SECONDS,
                    }
                )
        made.sessions += len(weeks)
    return made


def session_starts(course: int, rooms: int, term_start: date = TERM_START) -> list[datetime]:
    """A course's sessions as aware local datetimes (what a closure preview is checked against)."""
    room, day, hour = slot(course, rooms)
    zone = ZoneInfo(ZONES[room % 2])
    first = datetime.combine(term_start + timedelta(days=day), datetime.min.time()).replace(hour=hour)
    return [(first + timedelta(weeks=w - 1)).replace(tzinfo=zone) for w in teaching_weeks()]
