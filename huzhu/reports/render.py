"""One Report, three forms: a text table (terminal), JSON (scripts), .xlsx (auditors).

The .xlsx has one sheet per table with the figures as numbers (money in yuan with two
decimals, ratios as percentages) and, where the table has a chart, a native Excel chart drawn
by xlsxwriter from the sheet's own cells (so it follows edits in Excel).
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from decimal import Decimal

import xlsxwriter

from huzhu.core.money import fen_to_yuan, format_fen

from .base import Report, Table

__all__ = ["report_json", "report_text", "report_xlsx", "cell_text", "chart_data"]


def _json_value(kind: str, value):
    if value is None:
        return None
    if kind == "money":
        return fen_to_yuan(int(value))
    if kind == "ratio":
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _json_row(table: Table, row: dict) -> dict:
    return {c.key: _json_value(c.kind, row.get(c.key)) for c in table.columns if c.key in row}


def report_json(report: Report) -> dict:
    """The JSON form. `payouts` keeps the issue's contract exactly:
    {"report", "year", "by", "rows": [{"key", "claims", "amount"}], "total": {"claims", "amount"}}
    (amounts yuan strings with two decimals); other reports list their tables."""
    if report.name == "payouts":
        table = report.tables[0]
        return {
            "report": "payouts",
            "year": report.year,
            "by": report.by,
            "rows": [
                {"key": r["key"], "claims": r["claims"], "amount": fen_to_yuan(r["amount_fen"])}
                for r in table.rows
            ],
            "total": {
                "claims": table.total["claims"],
                "amount": fen_to_yuan(table.total["amount_fen"]),
            },
        }
    return {
        "report": report.name,
        "year": report.year,
        "by": report.by,
        "union": report.union_code,
        "tables": {
            t.key: {
                "title": t.title,
                "rows": [_json_row(t, r) for r in t.rows],
                "total": _json_row(t, t.total) if t.total else None,
            }
            for t in report.tables
        },
    }


def cell_text(kind: str, value) -> str:
    """A value as people read it (pages and the text table)."""
    if value is None or value == "":
        return "—" if kind in ("ratio", "days", "money") and value is None else ""
    if kind == "money":
        return format_fen(int(value))
    if kind == "ratio":
        return f"{Decimal(value) * 100:.2f}%"
    if kind == "int":
        return f"{value:,}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def report_text(report: Report) -> str:
    lines = [
        f"{report.title} · {report.year}年度"
        + (f" · {report.union_code}" if report.union_code else "")
    ]
    for t in report.tables:
        lines += ["", t.title]
        rows = [*t.rows, *([t.total] if t.total else [])]
        cells = [[cell_text(c.kind, r.get(c.key)) for c in t.columns] for r in rows]
        heads = [c.title for c in t.columns]
        widths = [max([_width(h), *(_width(row[i]) for row in cells)]) for i, h in enumerate(heads)]
        right = [c.kind in ("int", "money", "ratio", "days") for c in t.columns]
        lines.append("  ".join(_pad(h, w, r) for h, w, r in zip(heads, widths, right, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        for i, row in enumerate(cells):
            if t.total and i == len(cells) - 1:
                lines.append("  ".join("-" * w for w in widths))
            lines.append(
                "  ".join(_pad(v, w, r) for v, w, r in zip(row, widths, right, strict=True))
            )
        if not t.rows:
            lines.append("（无数据）")
    if report.note:
        lines += ["", report.note]
    return "\n".join(lines)


def _xlsx_value(kind: str, value):
    if value is None:
        return None
    if kind == "money":
        # Whole fen / 100 is exact to the cent as a float for any realistic amount.
        return float(Decimal(int(value)) / 100)
    if kind == "ratio":
        return float(value)
    return value


_CHART_TYPES = {"bar": "column", "line": "line", "pie": "pie", "stacked": "column"}


def report_xlsx(report: Report) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    title = book.add_format({"bold": True, "font_size": 14})
    head = book.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True})
    formats = {
        "text": book.add_format({"border": 1}),
        "int": book.add_format({"border": 1, "num_format": "#,##0"}),
        "days": book.add_format({"border": 1, "num_format": "0"}),
        "money": book.add_format({"border": 1, "num_format": "#,##0.00"}),
        "ratio": book.add_format({"border": 1, "num_format": "0.00%"}),
        "date": book.add_format({"border": 1, "num_format": "yyyy-mm-dd"}),
    }
    bold = {k: book.add_format({**_props(f), "bold": True}) for k, f in formats.items()}
    used = set()
    for t in report.tables:
        name = t.title[:28]
        for ch in "[]:*?/\\":
            name = name.replace(ch, " ")
        while name in used:
            name = name[:26] + f"{len(used)}"
        used.add(name)
        sheet = book.add_worksheet(name)
        scope = f"工会：{report.union_code}（含下级）" if report.union_code else "全部工会"
        sheet.write(0, 0, f"{report.title} · {report.year}年度 · {t.title}", title)
        sheet.write(1, 0, scope)
        sheet.write_row(3, 0, [c.title for c in t.columns], head)
        rows = [*t.rows, *([t.total] if t.total else [])]
        for i, row in enumerate(rows):
            fmt = bold if (t.total and i == len(rows) - 1) else formats
            for j, c in enumerate(t.columns):
                value = _xlsx_value(c.kind, row.get(c.key))
                f = fmt.get(c.kind, fmt["text"])
                if value is None:
                    sheet.write_blank(4 + i, j, None, f)
                elif c.kind == "date":
                    sheet.write_datetime(4 + i, j, value, f)
                else:
                    sheet.write(4 + i, j, value, f)
        for j, c in enumerate(t.columns):
            sheet.set_column(j, j, 28 if c.kind == "text" and c.key in ("label", "reason") else 14)
        sheet.freeze_panes(4, 0)
        note_row = 5 + len(rows)
        if t.note or report.note:
            sheet.write(note_row, 0, t.note or report.note)
        if t.chart and t.rows:
            _add_chart(book, sheet, t, name, first=4, last=3 + len(t.rows), at_row=note_row + 2)
    book.close()
    return out.getvalue()


def _props(fmt) -> dict:
    props = {"border": 1}
    if fmt.num_format:
        props["num_format"] = fmt.num_format
    return props


def _add_chart(book, sheet, t: Table, sheet_name: str, *, first: int, last: int, at_row: int):
    chart_def = t.chart
    kind = _CHART_TYPES[chart_def.kind]
    options = {"type": kind}
    if kind == "column" and chart_def.horizontal:
        options["type"] = "bar"
    if chart_def.kind == "stacked":
        options["subtype"] = "stacked"
    chart = book.add_chart(options)
    keys = [c.key for c in t.columns]
    x = keys.index(chart_def.x)
    ref = f"'{sheet_name}'"
    series = chart_def.series[:1] if chart_def.kind == "pie" else chart_def.series
    for key in series:
        col = keys.index(key)
        chart.add_series(
            {
                "name": [sheet_name, 3, col],
                "categories": f"={ref}!${_col(x)}${first + 1}:${_col(x)}${last + 1}",
                "values": f"={ref}!${_col(col)}${first + 1}:${_col(col)}${last + 1}",
                **({"data_labels": {"percentage": True}} if chart_def.kind == "pie" else {}),
            }
        )
    chart.set_title({"name": chart_def.title or t.title})
    if chart_def.kind != "pie":
        kinds = {t.columns[keys.index(k)].kind for k in series}
        if kinds == {"ratio"}:
            (chart.set_x_axis if options["type"] == "bar" else chart.set_y_axis)(
                {"num_format": "0%"}
            )
    chart.set_size({"width": 760, "height": 360 if len(t.rows) < 14 else 20 * len(t.rows) + 120})
    sheet.insert_chart(at_row, 0, chart)


def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def chart_data(report: Report) -> list[dict]:
    """The charts of a report as plain data for the browser (ECharts draws them):
    [{id, title, kind, horizontal, percent, categories, series: [{name, data}]}]."""
    charts = []
    for t in report.tables:
        if not t.chart or not t.rows:
            continue
        cols = {c.key: c for c in t.columns}
        series = t.chart.series[:1] if t.chart.kind == "pie" else t.chart.series
        percent = all(cols[k].kind == "ratio" for k in series)
        money = all(cols[k].kind == "money" for k in series)

        def value(kind, v):
            if v is None:
                return None
            if kind == "money":
                return float(Decimal(int(v)) / 100)
            if kind == "ratio":
                return float(v)
            return v

        charts.append(
            {
                "id": f"chart-{t.key}",
                "title": t.chart.title or t.title,
                "kind": t.chart.kind,
                "horizontal": t.chart.horizontal,
                "percent": percent,
                "money": money,
                "categories": [cell_text("text", r.get(t.chart.x)) for r in t.rows],
                "series": [
                    {"name": cols[k].title, "data": [value(cols[k].kind, r.get(k)) for r in t.rows]}
                    for k in series
                ],
            }
        )
    return charts
