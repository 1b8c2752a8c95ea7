"""A report is a title, some summary lines and tables; written as HTML, CSV and XLSX.

The HTML is self-contained (a chart is embedded as a data URI) so that the report
page can show it as it is; the CSV holds the main table, the XLSX every table on
its own sheet.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook

from jobprocessor import JobContext

Cell = str | int | float | None


@dataclass
class Table:
    name: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Report:
    title: str
    summary: list[str]
    tables: list[Table]
    chart_png: bytes | None = None

    def html(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>", "<ul>"]
        parts += [f"<li>{html.escape(line)}</li>" for line in self.summary]
        parts.append("</ul>")
        if self.chart_png is not None:
            data = base64.b64encode(self.chart_png).decode("ascii")
            parts.append(f'<img alt="chart" src="data:image/png;base64,{data}">')
        for table in self.tables:
            parts.append(f"<h2>{html.escape(table.name)}</h2><table><thead><tr>")
            parts += [f"<th>{html.escape(h)}</th>" for h in table.header]
            parts.append("</tr></thead><tbody>")
            for row in table.rows:
                cells = "".join(f"<td>{html.escape(_text(c))}</td>" for c in row)
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</tbody></table>")
        return "<section class='wfm-report'>" + "\n".join(parts) + "</section>\n"

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        main = self.tables[0]
        writer.writerow(main.header)
        writer.writerows([_text(c) for c in row] for row in main.rows)
        return out.getvalue()

    def xlsx(self) -> bytes:
        book = Workbook()
        default = book.active
        for table in self.tables:
            sheet = book.create_sheet(table.name[:31])
            sheet.append(table.header)
            for row in table.rows:
                sheet.append(list(row))
        if default is not None:
            book.remove(default)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def attach(self, ctx: JobContext, stem: str) -> dict[str, Any]:
        """Add report.html, STEM.csv, STEM.xlsx (and STEM.png) to the job's report."""
        ctx.add_artifact("report.html", self.html(), "text/html")
        ctx.add_artifact(f"{stem}.csv", self.csv(), "text/csv")
        ctx.add_artifact(
            f"{stem}.xlsx",
            self.xlsx(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        files = ["report.html", f"{stem}.csv", f"{stem}.xlsx"]
        if self.chart_png is not None:
            ctx.add_artifact(f"{stem}.png", self.chart_png, "image/png")
            files.append(f"{stem}.png")
        return {"title": self.title, "summary": self.summary, "files": files}


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float):
        return f"{cell:.2f}"
    return str(cell)


def line_chart(x: Sequence[Any], series: dict[str, Sequence[float]], title: str) -> bytes:
    """A PNG line chart (matplotlib's Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.5), dpi=90)
    axes = figure.add_subplot()
    for label, values in series.items():
        axes.step(list(x), list(values), where="post", label=label)
    axes.set_title(title)
    axes.set_ylabel("people")
    axes.legend()
    figure.autofmt_xdate()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
