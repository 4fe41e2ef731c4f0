"""Statistics staff look at: counts by dong, institution, sponsor, resource category and program
(a ranked bar chart drawn on the server and the table beside it), household concentration
behind a stated reason, and every table as CSV and XLSX with Korean headers.

The dong dashboard lists every dong of the district, those without a nomination at zero
(``service.stats.dong_table``). Downloads call the same service functions as the page and
``service.exports.render``; they hold exactly the numbers on the screen.
"""

from __future__ import annotations

from typing import Any, Final

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from service import access, charts, concentration, exports
from service import stats as service
from service.db import get_session
from service.errors import ServiceError

from .. import bp
from ..auth import current_principal
from .forms import HouseholdForm, attach

GROUP_LABELS: Final = {
    "dong": _l("행정동"),
    "institution": _l("추천 기관"),
    "sponsor": _l("후원처"),
    "category": _l("자원 분류"),
    "program": _l("사업"),
}
METRIC_LABELS: Final = {
    "nominations": _l("추천"),
    "eligible": _l("적격"),
    "review": _l("검토 필요"),
    "ineligible": _l("부적격"),
    "open": _l("접수"),
    "confirmed": _l("확정"),
    "delivered": _l("전달 완료"),
    "cancelled": _l("취소"),
    "people": _l("대상자 수"),
}
CHART_METRICS: Final = ("nominations", "eligible", "ineligible", "confirmed", "delivered", "people")


def _query() -> tuple[str, str | None, str]:
    """``by``, ``program`` and ``metric`` from the query string (anything unknown: the default)."""
    by = request.args.get("by", "dong")
    if by not in service.GROUPS:
        by = "dong"
    metric = request.args.get("metric", "nominations")
    if metric not in CHART_METRICS:
        metric = "nominations"
    program = (request.args.get("program") or "").strip()[:64] or None
    return by, program, metric


def _table(by: str, program: str | None, metric: str) -> dict[str, Any]:
    """The grouped counts the page and its downloads show, ranked by ``metric``."""
    session, principal = get_session(), current_principal()
    if by == "dong":
        data = service.dong_table(session, principal, program)
    else:
        data = service.statistics(session, by, principal, program)
    return {**data, "rows": service.ranked(data["rows"], metric)}


def _chart(data: dict[str, Any], by: str, metric: str) -> Markup:
    rows = data["rows"]
    label, group = str(METRIC_LABELS[metric]), str(GROUP_LABELS[by])
    top = [f"{r['label']} {r[metric]}" for r in rows[:3] if r[metric]]
    leaders = _("가장 많은 곳: %(list)s.", list=", ".join(top)) if top else _("아직 건수가 없습니다.")
    description = _(
        "%(group)s %(n)s곳의 %(metric)s 건수, 많은 순. %(top)s", group=group, n=len(rows), metric=label, top=leaders
    )
    svg = charts.bar_chart(
        [charts.Bar(str(r["label"]), int(r[metric]), r["key"]) for r in rows],
        title=_("%(group)s별 %(metric)s", group=group, metric=label),
        description=description,
        id_prefix="stats-chart",
        value_format=_("{value}건"),
    )
    return Markup(svg)  # noqa: S704 - every text in it is escaped by service.charts


@bp.get("/stats")
def desk_stats() -> ResponseReturnValue:
    """A dashboard grouped ``by`` one of the five groupings, optionally for one program."""
    principal = current_principal()
    access.require(principal, "stats.read")
    by, program, metric = _query()
    data = _table(by, program, metric)
    programs = service.statistics(get_session(), "program", principal)["rows"]
    return render_template(
        "desk/stats/dashboard.html",
        by=by,
        program=program,
        metric=metric,
        data=data,
        chart=_chart(data, by, metric),
        groups=GROUP_LABELS,
        metrics=service.METRICS,
        metric_labels=METRIC_LABELS,
        metric_columns=[METRIC_LABELS[m] for m in service.METRICS],
        chart_metrics=CHART_METRICS,
        programs=[(r["key"], r["label"]) for r in programs if r["key"]],
    )


@bp.get("/stats/export")
def desk_stats_export() -> ResponseReturnValue:
    """The dashboard's table as CSV or XLSX: the same rows in the same order, Korean headers."""
    principal = current_principal()
    access.require(principal, "stats.read")
    fmt = request.args.get("format", "csv")
    if fmt not in exports.MIME:
        abort(404)
    by, program, metric = _query()
    data = _table(by, program, metric)
    body = exports.render(fmt, f"통계-{by}", service.export_headers(by), service.export_rows(data))
    return exports.attachment(body, fmt, f"stats-{by}" + (f"-{program}" if program else ""))


@bp.route("/stats/households", methods=["GET", "POST"])
def desk_households() -> ResponseReturnValue:
    """Households that received one kind of resource twice or more: they name people, so the
    list (or its download) comes only with a reason, recorded in the access log."""
    principal = current_principal()
    access.require(principal, "stats.read")
    form = HouseholdForm(formdata=request.form if request.method == "POST" else None)
    rows: list[dict[str, Any]] | None = None
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        if form.validate():
            session = get_session()
            try:
                reason = exports.require_reason(form.reason.data)
                rows = concentration.households(session, principal, int(form.days.data), reason)
            except ServiceError as exc:
                session.rollback()
                problems, status = attach(form, exc), exc.status
            else:
                if form.format.data in exports.MIME:
                    fmt = form.format.data
                    body = exports.render(fmt, "세대 집중", concentration.HEADERS, concentration.table(rows))
                    return exports.attachment(body, fmt, "stats-household")
        else:
            status = 422
    page = render_template("desk/stats/households.html", form=form, rows=rows, problems=problems, invalid=status >= 400)
    return page, status
