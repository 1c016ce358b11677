"""Parsing of interval-statistics files (CSV or xlsx) into checked rows.

Pure parsing: no database writes. ``services.import_interval_stats`` checks
the queue codes and writes everything in one transaction, or nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext

COLUMNS = ("queue", "start", "interval_minutes", "offered", "answered", "aht_seconds", "abandoned")
# Header aliases, including the Chinese headers of typical switch exports.
ALIASES = {
    "queue": "queue", "队列": "queue", "技能组": "queue",
    "start": "start", "开始时间": "start", "时段": "start",
    "interval_minutes": "interval_minutes", "interval": "interval_minutes", "时长": "interval_minutes",
    "时段长度": "interval_minutes",
    "offered": "offered", "呼入量": "offered", "进线量": "offered",
    "answered": "answered", "接通量": "answered",
    "aht_seconds": "aht_seconds", "aht": "aht_seconds", "平均处理时长": "aht_seconds",
    "abandoned": "abandoned", "放弃量": "abandoned",
}
DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                    "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")
MAX_ROWS = 200_000


@dataclass(frozen=True)
class Row:
    number: int  # row number in the file, header = 1
    queue: str
    start: dt.datetime
    interval_minutes: int
    offered: int
    answered: int
    aht_seconds: float
    abandoned: int


@dataclass(frozen=True)
class RowError:
    number: int  # 0 = the file as a whole
    message: str


class FileRejected(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def _cells_csv(data: bytes) -> Iterator[list[object]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise FileRejected([RowError(0, gettext("The file is neither UTF-8 nor GB18030 text."))])
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def _cells_xlsx(data: bytes) -> Iterator[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise FileRejected([RowError(0, gettext("The workbook cannot be read (%(kind)s).") % {"kind": type(exc).__name__})]) from exc
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def _int(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(name)
    number = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    if not number.is_integer() or number < 0:
        raise ValueError(name)
    return int(number)


def _float(value: object, name: str) -> float:
    number = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    if not number >= 0 or number == float("inf"):
        raise ValueError(name)
    return number


def _datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value).strip()
        for fmt in DATETIME_FORMATS:
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            moment = dt.datetime.fromisoformat(text)  # raises ValueError
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse(data: bytes, filename: str) -> list[Row]:
    """Checked rows of a file, or :class:`FileRejected` listing every bad row."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        cells: Iterable[list[object]] = _cells_xlsx(data)
    elif name.endswith((".csv", ".txt")):
        cells = _cells_csv(data)
    else:
        raise FileRejected([RowError(0, gettext("Upload a .csv or .xlsx file."))])
    rows: list[Row] = []
    errors: list[RowError] = []
    index: dict[str, int] | None = None
    seen: dict[tuple[str, dt.datetime], int] = {}
    for number, raw in enumerate(cells, start=1):
        if all(_blank(v) for v in raw):
            continue
        if index is None:
            headers = [ALIASES.get(str(v or "").strip().lower(), ALIASES.get(str(v or "").strip(), "")) for v in raw]
            missing = [c for c in COLUMNS if c not in headers]
            if missing:
                raise FileRejected([RowError(number, gettext("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})])
            index = {c: headers.index(c) for c in COLUMNS}
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(RowError(number, gettext("Too many rows (at most %(n)d).") % {"n": MAX_ROWS}))
            break
        values = {c: (raw[i] if i < len(raw) else None) for c, i in index.items()}
        problems = []
        for c in COLUMNS:
            if _blank(values[c]):
                problems.append(gettext("%(column)s is empty") % {"column": c})
        if problems:
            errors.append(RowError(number, gettext("%(problems)s.") % {"problems": gettext("; ").join(problems)}))
            continue
        try:
            start = _datetime(values["start"])
        except (ValueError, TypeError):
            errors.append(RowError(number, gettext("start %(value)s is not a date and time (YYYY-MM-DD HH:MM).") % {"value": values["start"]}))
            continue
        parsed = {}
        for c, conv in (("interval_minutes", _int), ("offered", _int), ("answered", _int), ("abandoned", _int),
                        ("aht_seconds", _float)):
            try:
                parsed[c] = conv(values[c], c)
            except (ValueError, TypeError):
                problems.append(gettext("%(column)s %(value)s is not a number >= 0") % {"column": c, "value": values[c]})
        if not problems:
            minutes = parsed["interval_minutes"]
            if minutes not in (15, 30, 60):
                problems.append(gettext("interval_minutes must be 15, 30 or 60"))
            elif (timezone.localtime(start).hour * 60 + timezone.localtime(start).minute) % minutes:
                problems.append(gettext("start must be on a %(n)d-minute boundary") % {"n": minutes})
            if parsed["answered"] > parsed["offered"] or parsed["abandoned"] > parsed["offered"]:
                problems.append(gettext("answered and abandoned cannot exceed offered"))
            elif parsed["answered"] + parsed["abandoned"] > parsed["offered"]:
                problems.append(gettext("answered + abandoned cannot exceed offered"))
            if parsed["answered"] and parsed["aht_seconds"] <= 0:
                problems.append(gettext("aht_seconds must be > 0 when calls were answered"))
        queue = str(values["queue"]).strip()
        key = (queue, start)
        if key in seen:
            problems.append(gettext("same queue and start as row %(n)d") % {"n": seen[key]})
        if problems:
            errors.append(RowError(number, gettext("%(problems)s.") % {"problems": gettext("; ").join(problems)}))
            continue
        seen[key] = number
        rows.append(Row(number=number, queue=queue, start=start, **parsed))
    if index is None:
        raise FileRejected([RowError(0, gettext("The file is empty."))])
    if errors:
        raise FileRejected(errors)
    if not rows:
        raise FileRejected([RowError(0, gettext("The file has no data rows."))])
    return rows
