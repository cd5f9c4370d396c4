"""The status report as people and scripts read it: one HTML page, and its JSON twin.

The page works without JavaScript: filtering, sorting and paging are plain
links carrying query parameters. Everything that comes from a feed or a
server (names, URLs, error messages) is escaped, and URLs were made
printable (no credentials) before they reached the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from ..app.status import StatusReport
from ..core.reporting.status import (
    IDLE_BUCKETS,
    IDLE_LABELS,
    STATES,
    Page,
    StatusRow,
    select_rows,
    span,
)
from .jsonout import iso, status_fields

__all__ = ["View", "page_json", "render_html", "view_from_query"]

PER_PAGE = 200
SCHEMA_VERSION = 1


class View:
    """What one request asks to see: a state or idle bucket, an order, a page."""

    def __init__(self, state: str | None = None, idle: str | None = None, sort: str = "state",
                 descending: bool = False, page: int = 1, token: str | None = None):
        self.state, self.idle, self.sort, self.descending, self.page = state, idle, sort, descending, page
        self.token = token  # carried into the page's links when the request brought it in the query

    def select(self, report: StatusReport) -> Page:
        return select_rows(report.rows, state=self.state, idle=self.idle, sort=self.sort,
                           descending=self.descending, page=self.page, per_page=PER_PAGE)

    def link(self, **changes: Any) -> str:
        """This view's URL with ``changes``, as an escaped attribute value."""
        params = {"state": self.state, "idle": self.idle, "sort": self.sort,
                  "desc": "1" if self.descending else None, "page": None, "token": self.token}
        params.update(changes)
        kept = {k: v for k, v in params.items() if v not in (None, "") and not (k == "sort" and v == "state")}
        query = urlencode(kept)
        return escape("?" + query if query else "?", quote=True)


def view_from_query(query: Mapping[str, str]) -> View:
    """A view from the request's query parameters; nonsense falls back to the defaults."""
    page = query.get("page", "1")
    return View(
        state=query.get("state") or None, idle=query.get("idle") or None, sort=query.get("sort", "state"),
        descending=query.get("desc") == "1", page=int(page) if page.isdigit() else 1, token=query.get("token"),
    )


def page_json(report: StatusReport, view: View) -> dict[str, Any]:
    """``/status.json``: the same view as the page, with the counts of the whole report."""
    page = view.select(report)
    return {
        "version": SCHEMA_VERSION, "generated": iso(report.generated), "feeds": len(report.rows),
        "states": report.states, "idle": report.idle, "page": page.number, "pages": page.pages,
        "matching": page.total, "rows": [status_fields(r) for r in page.rows],
    }


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1d232a;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.muted{color:#5b6570}nav a{margin-right:.9rem;text-decoration:none}nav a.on{font-weight:700;text-decoration:underline}
table{border-collapse:collapse;width:100%;background:#fff;margin-top:.6rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e7eb;vertical-align:top}
th a{color:inherit}td.num{text-align:right}.url,.why{font-size:.85rem;color:#5b6570;word-break:break-all}
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.82rem;font-weight:600}
.s-ok{background:#dff3e4;color:#145a2c}.s-failing{background:#fde2e1;color:#8a1c17}
.s-deferred{background:#fff1cc;color:#6b4b00}.s-retired{background:#e6e6e6;color:#333}
.s-quiet{background:#e5ecfb;color:#1f3f8a}.s-new,.s-disabled{background:#f0f0f0;color:#555}
ul.idle{margin:.2rem 0;padding-left:1.2rem}
"""


def render_html(report: StatusReport, view: View) -> str:
    """The whole page for ``view`` of ``report``."""
    page = view.select(report)
    generated = report.generated.strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>ingest status: {len(report.rows)} feeds</title><style>{_STYLE}</style></head><body>",
        f"<h1>ingest status</h1><p class=\"muted\">{len(report.rows)} feeds · generated {generated}</p>",
        _state_nav(report, view), _idle_list(report, view),
        _table(page, view, report.generated), _pager(page, view), "</body></html>\n",
    ]
    return "\n".join(parts)


def _state_nav(report: StatusReport, view: View) -> str:
    links = [f"<a href=\"{view.link(state=None, idle=None)}\" class=\"{'on' if not view.state else ''}\">"
             f"all <b>{len(report.rows)}</b></a>"]
    for state in STATES:
        on = " on" if view.state == state else ""
        links.append(f"<a href=\"{view.link(state=state, idle=None)}\" class=\"state-link{on}\" data-state=\"{state}\">"
                     f"{state} <b>{report.states[state]}</b></a>")
    return "<nav aria-label=\"states\">" + "".join(links) + "</nav>"


def _idle_list(report: StatusReport, view: View) -> str:
    items = [
        f"<li><a href=\"{view.link(idle=name, state=None)}\" data-idle=\"{name}\">{IDLE_LABELS[name]}</a>: "
        f"{report.idle[name]}</li>"
        for name, _ in IDLE_BUCKETS if report.idle[name]
    ]
    if not items:
        return "<h2>Idle feeds</h2><p class=\"muted\">Every polled feed published within the last week.</p>"
    return "<h2>Idle feeds</h2><ul class=\"idle\">" + "".join(items) + "</ul>"


_COLUMNS = (("name", "Feed"), ("state", "State"), ("last_poll", "Last poll"), ("last_new", "Last new entry"),
            ("new_30d", "New (30 days)"), ("next_poll", "Next poll"))


def _table(page: Page, view: View, now: datetime) -> str:
    nodes = any(row.node for row in page.rows)  # a cluster's column, absent on a single node
    heads = []
    for key, label in _COLUMNS:
        desc = "1" if view.sort == key and not view.descending else None
        heads.append(f"<th><a href=\"{view.link(sort=key, desc=desc)}\">{label}</a></th>")
    if nodes:
        heads.append("<th>Node</th>")
    body = [_row(row, now, nodes) for row in page.rows]
    empty = f"<tr><td colspan=\"{len(heads)}\" class=\"muted\">No feed matches.</td></tr>" if not body else ""
    return ("<table><thead><tr>" + "".join(heads) + "</tr></thead><tbody>"
            + "".join(body) + empty + "</tbody></table>")


def _row(row: StatusRow, now: datetime, nodes: bool) -> str:
    why = ""
    if row.reason:
        why = f"<div class=\"why\">{escape(row.reason)}</div>"
    if row.since is not None:
        label = {"failing": "since", "retired": "retired", "deferred": "until"}.get(row.state, "since")
        why += f"<div class=\"why\">{label} {_time(row.since, now)}</div>"
    node = ""
    if nodes:
        node = f"<td>{escape(row.node) if row.node else '-'}"
        if row.node and row.lease_until:
            node += f"<div class=\"why\">lease until {_time(row.lease_until, now)}</div>"
        node += "</td>"
    return (
        f"<tr class=\"feed\" data-state=\"{row.state}\"><td><span class=\"name\">{escape(row.name)}</span>"
        f"<div class=\"url\">{escape(row.url)}</div></td>"
        f"<td><span class=\"badge s-{row.state}\">{row.state}</span>{why}</td>"
        f"<td>{_time(row.last_poll, now)}</td><td>{_time(row.last_new, now)}</td>"
        f"<td class=\"num\">{row.new_30d}</td><td>{_time(row.next_poll, now, none=_next_unknown(row))}</td>"
        f"{node}</tr>"
    )


def _pager(page: Page, view: View) -> str:
    if page.pages == 1:
        return f"<p class=\"muted\">{page.total} shown.</p>"
    links = []
    if page.number > 1:
        links.append(f"<a href=\"{view.link(page=page.number - 1)}\" rel=\"prev\">previous</a>")
    if page.number < page.pages:
        links.append(f"<a href=\"{view.link(page=page.number + 1)}\" rel=\"next\">next</a>")
    return (f"<nav aria-label=\"pages\" class=\"muted\">page {page.number} of {page.pages} "
            f"({page.total} feeds) " + " ".join(links) + "</nav>")


def _next_unknown(row: StatusRow) -> str:
    """What the next poll is when no time is planned: never, or whenever the next run comes."""
    return "never" if row.state in ("retired", "disabled") else "next run"


def _time(moment: datetime | None, now: datetime, none: str = "never") -> str:
    if moment is None:
        return f"<span class=\"muted\">{none}</span>"
    seconds = (now - moment).total_seconds()
    relative = f"{span(seconds)} ago" if seconds >= 0 else f"in {span(-seconds)}"
    stamp = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<time datetime=\"{iso(moment)}\" title=\"{stamp}\">{relative}</time>"
