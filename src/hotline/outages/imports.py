"""Reading a file of planned outages (CSV or xlsx) into checked rows.

Pure parsing, no database: ``services.import_outages`` checks the area codes,
numbers and permissions and writes everything in one transaction, or nothing.
Every problem names its row (the header is row 1, as a spreadsheet counts),
its column (as the file's header names it) and the reason, in the user's
language.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from hotline.outages.models import OutageClass

# Canonical column → the header shown when the file lacks it.
COLUMNS = {
    "number": pgettext_lazy("outage", "Number"),
    "outage_class": gettext_lazy("Outage class"),
    "planned_start": gettext_lazy("Start time"),
    "planned_end": gettext_lazy("End time"),
    "area_codes": gettext_lazy("Area codes"),
    "lines": gettext_lazy("Lines"),
    "transformers": gettext_lazy("Transformers"),
    "reason": pgettext_lazy("outage", "Reason"),
    "scope": gettext_lazy("Scope"),
    "occurred_at": gettext_lazy("Trip time"),
}
REQUIRED = ("outage_class", "planned_start", "planned_end", "area_codes", "reason")
# Header aliases: the Chinese headers of dispatch's outage plans, and English.
ALIASES = {
    "编号": "number", "停电编号": "number", "计划编号": "number", "number": "number",
    "停电类型": "outage_class", "停电类别": "outage_class", "类型": "outage_class", "class": "outage_class",
    "outage_class": "outage_class", "type": "outage_class",
    "开始时间": "planned_start", "停电开始时间": "planned_start", "计划开始时间": "planned_start", "停电时间": "planned_start",
    "start": "planned_start", "planned_start": "planned_start",
    "结束时间": "planned_end", "停电结束时间": "planned_end", "计划结束时间": "planned_end", "预计送电时间": "planned_end",
    "送电时间": "planned_end", "end": "planned_end", "planned_end": "planned_end",
    "停电区域编码": "area_codes", "区域编码": "area_codes", "供电区域编码": "area_codes", "台区编码": "area_codes",
    "area_codes": "area_codes", "areas": "area_codes",
    "线路": "lines", "停电线路": "lines", "lines": "lines",
    "变压器": "transformers", "停电设备": "transformers", "设备": "transformers", "transformers": "transformers",
    "原因": "reason", "停电原因": "reason", "reason": "reason",
    "停电范围": "scope", "范围": "scope", "scope": "scope",
    "跳闸时间": "occurred_at", "故障时间": "occurred_at", "occurred_at": "occurred_at",
    # The English headers the import page shows in English.
    "outage class": "outage_class", "start time": "planned_start", "end time": "planned_end",
    "area codes": "area_codes", "trip time": "occurred_at",
}
DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                    "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M",
                    "%Y年%m月%d日 %H时%M分", "%Y年%m月%d日%H时%M分", "%Y.%m.%d %H:%M")
SEPARATORS = re.compile(r"[;；、,，\s]+")
MAX_ROWS = 5000
MAX_REASON = 1000
MAX_SCOPE = 2000
MAX_ITEM = 100
MAX_ITEMS = 200


@dataclass(frozen=True)
class RowError:
    row: int  # 0: the file as a whole
    column: str  # as the file's header names it; "" for the whole row or file
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRejected(Exception):
    """Nothing was imported; ``errors`` names every problem."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


@dataclass
class Row:
    row: int
    headers: dict[str, str]  # canonical column → the file's header
    number: str = ""
    outage_class: str = ""
    planned_start: dt.datetime | None = None
    planned_end: dt.datetime | None = None
    area_codes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    transformers: list[str] = field(default_factory=list)
    reason: str = ""
    scope: str = ""
    occurred_at: dt.datetime | None = None
    failed: set[str] = field(default_factory=set)  # columns with a problem

    def column(self, name: str) -> str:
        return self.headers.get(name) or str(COLUMNS[name])


def class_names() -> dict[str, str]:
    """Every way a file may name a class: the code, the Chinese name (the
    seed documents' terms) and the English label."""
    names: dict[str, str] = {}
    for choice in OutageClass:
        names[choice.value] = choice.value
        names[str(choice.label).lower()] = choice.value
        with translation.override("zh-hans"):
            names[str(choice.label)] = choice.value
    names.update({"故障停电": OutageClass.GRID_FAULT, "电网故障": OutageClass.GRID_FAULT,
                  "超供电能力停限电": OutageClass.OVER_CAPACITY, "超电网供电能力停电": OutageClass.OVER_CAPACITY,
                  "有序用电停电": OutageClass.ORDERLY_USE, "违约停电": OutageClass.CONTRACT_VIOLATION,
                  "计划检修停电": OutageClass.PLANNED, "计划检修": OutageClass.PLANNED})
    return names


def _decode(data: bytes) -> str:
    # UTF-8 (with or without BOM) first: a UTF-8 file rarely decodes as
    # anything else by accident. GB18030 (a superset of GBK) decodes any bytes.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _cells_csv(data: bytes) -> Iterator[list[object]]:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def _cells_xlsx(data: bytes) -> Iterator[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportRejected([RowError(0, "", _("The workbook cannot be read (%(error)s).")
                                       % {"error": type(exc).__name__})]) from exc
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number in a spreadsheet
    return str(value).strip()


def parse_datetime(value: object) -> dt.datetime:
    """A local date and time from a cell; ValueError if it is none."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        raise ValueError("a date without a time")
    else:
        text = re.sub(r"\s+", " ", _text(value))
        for fmt in DATETIME_FORMATS:
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            moment = dt.datetime.fromisoformat(text)
            if moment.hour == moment.minute == 0 and len(text) <= 10:
                raise ValueError("a date without a time")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def split_list(value: object) -> list[str]:
    return [part for part in SEPARATORS.split(_text(value)) if part]


def parse(data: bytes, filename: str) -> tuple[list[Row], list[RowError]]:
    """The file's rows and the problems found in them. The caller adds what
    only the database knows (area codes, numbers taken) before deciding; a
    file that cannot be read at all raises :class:`ImportRejected`."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        cells: Iterable[list[object]] = _cells_xlsx(data)
    elif name.endswith((".csv", ".txt")):
        cells = _cells_csv(data)
    else:
        raise ImportRejected([RowError(0, "", _("Upload a .csv or .xlsx file."))])
    classes = class_names()
    rows: list[Row] = []
    errors: list[RowError] = []
    index: dict[str, int] | None = None
    headers: dict[str, str] = {}
    seen_numbers: dict[str, int] = {}
    for number, raw in enumerate(cells, start=1):
        if all(_blank(v) for v in raw):
            continue
        if index is None:
            index = {}
            for i, value in enumerate(raw):
                header = _text(value)
                canonical = ALIASES.get(header) or ALIASES.get(header.lower())
                if canonical and canonical not in index:
                    index[canonical] = i
                    headers[canonical] = header
            missing = [str(COLUMNS[c]) for c in REQUIRED if c not in index]
            if missing:
                raise ImportRejected([RowError(number, "", _("Missing columns: %(columns)s.")
                                               % {"columns": "、".join(missing)})])
            continue
        if len(rows) >= MAX_ROWS:
            errors.append(RowError(number, "", _("Too many rows: at most %(n)d outages per file.") % {"n": MAX_ROWS}))
            break
        values = {c: (raw[i] if i < len(raw) else None) for c, i in index.items()}
        row = Row(row=number, headers=headers)
        problems: list[RowError] = []
        failed: set[str] = set()

        def problem(column: str, message: str) -> None:
            failed.add(column)
            problems.append(RowError(number, row.column(column), message))

        for c in REQUIRED:
            if _blank(values.get(c)):
                problem(c, _("is empty."))
        row.number = _text(values.get("number"))
        if row.number:
            if not re.fullmatch(r"[\w.\-]{1,40}", row.number):
                problem("number", _("at most 40 letters, digits, - _ or ."))
            elif re.fullmatch(r"TD\d+", row.number):
                problem("number", _("numbers TD followed by digits are given by the system; leave it empty."))
            elif row.number in seen_numbers:
                problem("number", _("the same number as row %(row)d.") % {"row": seen_numbers[row.number]})
            else:
                seen_numbers[row.number] = number
        if not _blank(values.get("outage_class")):
            text = _text(values["outage_class"])
            row.outage_class = classes.get(text) or classes.get(text.lower(), "")
            if not row.outage_class:
                with translation.override("zh-hans"):
                    known = "、".join(str(c.label) for c in OutageClass)
                problem("outage_class", _("%(value)s is no outage class; use one of %(known)s.")
                        % {"value": text, "known": known})
        for c in ("planned_start", "planned_end", "occurred_at"):
            if _blank(values.get(c)):
                continue
            try:
                setattr(row, c, parse_datetime(values[c]))
            except (ValueError, TypeError, OverflowError):
                problem(c, _("%(value)s is not a date and time (YYYY-MM-DD HH:MM).") % {"value": _text(values[c])})
        if row.planned_start and row.planned_end and row.planned_end <= row.planned_start:
            problem("planned_end", _("the end must be after the start."))
        if row.outage_class == OutageClass.GRID_FAULT and row.occurred_at is None and "occurred_at" not in failed:
            problem("occurred_at", _("a grid fault outage needs its trip time."))
        row.area_codes = split_list(values.get("area_codes"))
        row.lines = split_list(values.get("lines"))
        row.transformers = split_list(values.get("transformers"))
        for c in ("lines", "transformers"):
            items = getattr(row, c)
            if len(items) > MAX_ITEMS or any(len(item) > MAX_ITEM for item in items):
                problem(c, _("at most %(n)d names of at most %(length)d characters each.")
                        % {"n": MAX_ITEMS, "length": MAX_ITEM})
        row.reason = _text(values.get("reason"))
        if len(row.reason) > MAX_REASON:
            problem("reason", _("at most %(n)d characters.") % {"n": MAX_REASON})
        row.scope = _text(values.get("scope"))
        if len(row.scope) > MAX_SCOPE:
            problem("scope", _("at most %(n)d characters.") % {"n": MAX_SCOPE})
        errors.extend(problems)
        row.failed = failed
        rows.append(row)
    if index is None:
        raise ImportRejected([RowError(0, "", _("The file is empty."))])
    if not rows and not errors:
        raise ImportRejected([RowError(0, "", _("The file has no data rows."))])
    return rows, errors
