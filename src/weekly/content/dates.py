"""Dates as people write them in Korean and English text, for finding an issue's date."""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAME = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATES = (
    r"(?P<ky>\d{4})\s*년\s*(?P<km>\d{1,2})\s*월\s*(?P<kd>\d{1,2})\s*일",  # 2025년 12월 12일
    r"(?<!\d)(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})(?!\d)",  # 2025-12-12
    r"(?<![\d.])(?P<dy>\d{4})\.\s?(?P<dm>\d{1,2})\.\s?(?P<dd>\d{1,2})(?!\d)\.?",  # 2025. 12. 12.
    rf"\b(?P<em>{_MONTH_NAME})\s+(?P<ed>\d{{1,2}}),?\s+(?P<ey>\d{{4}})\b",  # December 12, 2025
    rf"\b(?P<fd>\d{{1,2}})\s+(?P<fm>{_MONTH_NAME})\s+(?P<fy>\d{{4}})\b",  # 12 December 2025
)
#: One date anywhere in a line, in any of the forms above.
DATE = re.compile("|".join(_DATES))
_WEEKDAY = (
    r"\(?(?:[월화수목금토일](?:요일)?"
    r"|(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?)\)?"
)
#: A line that holds a date and nothing else but its weekday and some emphasis.
DATE_LINE = re.compile(
    rf"^[\s*_]*(?:{_WEEKDAY}[\s,]+)?(?:{DATE.pattern})[\s,]*(?:{_WEEKDAY})?[\s*_.]*$"
)


def written_date(found: re.Match[str]) -> dt.date:
    """The date a match of DATE (or DATE_LINE) names; ValueError for one that does not exist."""
    form = next(letter for letter in "kidef" if found[f"{letter}y"])
    year, month, day = (found[form + part] for part in "ymd")
    number = int(month) if month.isdigit() else _MONTHS.index(month[:3].lower()) + 1
    return dt.date(int(year), number, int(day))
