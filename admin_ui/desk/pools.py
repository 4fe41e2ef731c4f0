"""Resource pools: a sponsor's stock and its allocation between the departments' programs.

Departments and auditors read them; only the coordinating department (admin) registers a
pool or allocates from it. An allocation beyond what the pool has left is refused by the
service, and the refusal is shown next to the quantity.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from service import access
from service import pools as service
from service import programs as programs_service
from service.db import get_session
from service.errors import ServiceError

from .. import bp
from ..auth import current_principal
from .forms import AllocationForm, PoolForm, attach


def _names() -> tuple[dict[str, dict[str, Any]], dict[str, str], dict[str, str]]:
    """Programs by code, sponsors' and categories' names by code: a pool's answer has only codes."""
    session = get_session()
    principal = current_principal()
    programs = {p["code"]: p for p in programs_service.list_programs(session, principal)}
    choices = service.choices(session, principal)
    return programs, dict(choices["sponsors"]), dict(choices["categories"])


def _pool_form(formdata: Any = None) -> PoolForm:
    choices = service.choices(get_session(), current_principal())
    form = PoolForm(formdata=formdata)
    form.sponsor.choices = [("", _("없음"))] + choices["sponsors"]
    form.resource_category.choices = choices["categories"]
    return form


@bp.route("/pools", methods=["GET", "POST"])
def desk_pools() -> ResponseReturnValue:
    """Every pool with its quantity and use; an admin registers a new one here."""
    principal = current_principal()
    access.require(principal, "pools.read")
    may_manage = access.allowed(principal, "pools.manage")
    form, status, problems = None, 200, []
    if may_manage:
        form = _pool_form(request.form if request.method == "POST" else None)
    if request.method == "POST":
        access.require(principal, "pools.manage")
        assert form is not None
        if form.validate():
            body = {
                "code": form.code.data.strip(),
                "name": form.name.data.strip(),
                "sponsor": form.sponsor.data or None,
                "resource_category": form.resource_category.data,
                "quantity": form.quantity.data,
            }
            try:
                created = service.create_pool(get_session(), body, principal)
            except ServiceError as exc:
                get_session().rollback()
                problems, status = attach(form, exc), exc.status
            else:
                flash(_("자원 풀 %(name)s을(를) 등록했습니다.", name=created["name"]), "success")
                return redirect(url_for("admin_ui.desk_pool", code=created["code"]))
        else:
            status = 422
    programs, sponsors, categories = _names()
    pools = service.list_pools(get_session(), principal)
    page = render_template(
        "desk/pools/list.html",
        pools=pools,
        form=form,
        problems=problems,
        sponsors=sponsors,
        categories=categories,
        programs=programs,
        invalid=status >= 400,
    )
    return page, status


def _program_choices(form: AllocationForm, pool: dict[str, Any], programs: dict[str, dict[str, Any]]) -> None:
    """The programs of the pool's resource category (the service refuses any other anyway)."""
    form.program.choices = [
        (p["code"], f"{p['name']} · {p['department_name']}")
        for p in programs.values()
        if p["resource_category"] == pool["resource_category"]
    ]


def _render_pool(code: str, form: AllocationForm | None, status: int = 200, problems: list[str] | None = None) -> Any:
    pool = service.describe(get_session(), code, current_principal())
    programs, sponsors, categories = _names()
    if form is not None:
        _program_choices(form, pool, programs)
    page = render_template(
        "desk/pools/pool.html",
        pool=pool,
        unallocated=pool["quantity"] - pool["allocated"],
        form=form,
        problems=problems or [],
        programs=programs,
        sponsors=sponsors,
        categories=categories,
        invalid=status >= 400,
    )
    return page, status


@bp.get("/pools/<code>")
def desk_pool(code: str) -> ResponseReturnValue:
    """One pool: quantity, allocated, delivered, remaining, and each program's share."""
    principal = current_principal()
    access.require(principal, "pools.read")
    form = AllocationForm(formdata=None) if access.allowed(principal, "pools.manage") else None
    return _render_pool(code, form)


@bp.route("/pools/<code>/allocations", methods=["GET", "POST"])
def desk_allocate(code: str) -> ResponseReturnValue:
    """``배분``: part of the pool to a program of its resource category (admin)."""
    if request.method == "GET":
        return redirect(url_for("admin_ui.desk_pool", code=code))
    principal = current_principal()
    access.require(principal, "pools.manage")
    form = AllocationForm()
    _program_choices(form, service.describe(get_session(), code, principal), _names()[0])
    if not form.validate():
        return _render_pool(code, form, 422)
    try:
        service.allocate(get_session(), code, form.program.data, form.quantity.data, principal)
    except ServiceError as exc:
        get_session().rollback()
        return _render_pool(code, form, exc.status, attach(form, exc))
    flash(_("%(n)s개를 배분했습니다.", n=form.quantity.data), "success")
    return redirect(url_for("admin_ui.desk_pool", code=code))
