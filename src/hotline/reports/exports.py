"""The daily report as files (C4e): an xlsx workbook (openpyxl) and a PDF
(ReportLab), both in Chinese, both from ``selectors.DailyReport``.

The PDF sets its text in ReportLab's built-in CID font STSong-Light (Adobe's
Chinese font set, which every PDF reader carries or substitutes): nothing
to embed and no font file to install on a server, on Linux or Windows."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.reports.selectors import DailyReport

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_TYPE = "application/pdf"


def filename(report: DailyReport, ext: str) -> str:
    return f"daily-report-{report.center.code}-{report.day.isoformat()}.{ext}"


def title(report: DailyReport) -> str:
    return _("%(center)s daily operations report %(day)s") % {"center": report.center.name,
                                                               "day": report.day.isoformat()}


def _flag(flagged: bool) -> str:
    return _("Below target") if flagged else ""


def sections(report: DailyReport) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as titled tables of text: (title, header, rows)."""
    return [(str(name), [str(h) for h in header], [[str(c) for c in row] for row in rows])
            for name, header, rows in _sections(report)]


def _sections(report: DailyReport) -> list[tuple]:
    days = [d.strftime("%m-%d") for d in report.trend_days]
    out = [(_("Center KPIs"), [_("Metric"), report.day.strftime("%m-%d"), _("Target"), _("Flag"), *days],
            [[m.label, m.text, m.target_text, _flag(m.flagged), *[c["text"] + (" ▲" if c["flagged"] else "") for c in m.trend_cells]]
             for m in report.center_metrics])]
    person_header = [_("Name"), *[str(label) for label in report.person_labels]]

    def person_rows(rows):
        return [[r.name, *[m.text + (" ▲" if m.flagged else "") for m in r.metrics]] for r in rows]

    if report.teams:
        out.append((_("Teams"), person_header, person_rows(report.teams)))
    out.append((_("Agents"), person_header, person_rows(report.agents)))
    out.append((_("Orders by type and state"), [_("Business type"), *report.state_labels, _("Total")],
                [[t["name"], *[str(n) for n in t["counts"]], str(t["total"])] for t in report.by_type]
                + [[_("Total"), *[str(n) for n in report.state_totals], str(report.orders_total)]]))
    out.append((_("Overdue orders (%(count)d)") % {"count": report.overdue_count},
                [_("Order"), _("Business type"), _("State"), _("Time limit"), _("Due"), _("Overdue (h:mm)"),
                 _("Responsible unit")],
                [[o["number"], o["type"], o["state"], str(o["metric"]), _local(o["due_at"]), o["overdue"], o["unit"]]
                 for o in report.overdue]))
    cb = report.callbacks
    out.append((_("Callbacks"), [_("Callbacks due"), _("Called back in limit"), _("Called back late"),
                                 _("Closed without a callback"), _("Not called back yet")],
                [[str(cb["due"]), str(cb["kept"]), str(cb["late"]), str(cb["closed"]), str(cb["waiting"])]]))
    if report.missed_callbacks:
        out.append((_("Callbacks missed"), [_("Order"), _("Business type"), _("Due"), _("Outcome")],
                    [[m["number"], m["type"], _local(m["due_at"]), str(m["outcome_label"])]
                     for m in report.missed_callbacks]))
    return out


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def xlsx(report: DailyReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    book.remove(book.active)
    red = PatternFill("solid", fgColor="F8D7DA")
    for name, header, rows in sections(report):
        sheet = book.create_sheet(title=name[:31])
        sheet.append([title(report)])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append(header)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
            if any(_("Below target") == v or str(v).endswith("▲") for v in row):
                for cell in sheet[sheet.max_row]:
                    if cell.value in (_("Below target"),) or str(cell.value).endswith("▲"):
                        cell.fill = red
        sheet.column_dimensions["A"].width = 28
        for col in "BCDEFGHIJKL":
            sheet.column_dimensions[col].width = 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FONT = "STSong-Light"


def pdf(report: DailyReport) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import (
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    heading = ParagraphStyle("h", fontName=FONT, fontSize=15, leading=20, spaceAfter=4)
    sub = ParagraphStyle("s", fontName=FONT, fontSize=11, leading=15, spaceBefore=8, spaceAfter=3)
    small = ParagraphStyle("p", fontName=FONT, fontSize=8, leading=10)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title(report), author="hotline")
    story = [Paragraph(title(report), heading),
             Paragraph(_("Generated %(time)s") % {"time": _local(report.generated_at)}, small)]
    for name, header, rows in sections(report):
        story.append(Paragraph(name, sub))
        data = [header, *rows] if rows else [header, [_("None")] + [""] * (len(header) - 1)]
        table = Table([[Paragraph(str(c), small) for c in row] for row in data], repeatRows=1)
        style = [("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
                 ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
        for i, row in enumerate(rows, start=1):
            for j, cell in enumerate(row):
                if cell == _("Below target") or str(cell).endswith("▲"):
                    style.append(("BACKGROUND", (j, i), (j, i), colors.HexColor("#F8D7DA")))
        table.setStyle(TableStyle(style))
        story += [table, Spacer(1, 3 * mm)]
    doc.build(story)
    return out.getvalue()
