"""The policy desk: the program list, a program's thresholds (simulate, publish), its versions.

Each view parses its form, asks ``service`` and renders; who may open which page is asked of
``service.access``. The threshold page works without JavaScript (two submit buttons, each
posting the same form to its own address); with htmx the simulation swaps in place.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from service import access, simulation
from service import programs as service
from service.db import get_session
from service.errors import Conflict, Invalid
from service.security import Principal

from . import bp, i18n
from .auth import current_principal
from .forms import (
    ThresholdsBase,
    VersionDiffForm,
    expected_version,
    parameter_fields,
    parameter_values,
    thresholds_form,
)

STATUS_FILTERS = ("open", "closed")


@bp.get("/")
@bp.get("/programs")
def programs() -> ResponseReturnValue:
    """Every program the officer may see: status, period, quota, outcomes, rule-set version."""
    principal = current_principal()
    access.require(principal, "programs.read")
    status = request.args.get("status")
    status = status if status in STATUS_FILTERS else None
    session = get_session()
    items = service.list_programs(session, principal, status=status)
    manageable = _manageable(principal, [item["code"] for item in items])
    return render_template("programs/list.html", items=items, manageable=manageable, status=status)


def _manageable(principal: Principal, codes: list[str]) -> set[str]:
    """The programs whose threshold page this officer may open (so only those are linked)."""
    if not access.allowed(principal, "programs.manage"):
        return set()
    session = get_session()
    return {code for code in codes if access.can_manage_program(principal, service.get_program(session, code))}


def _managed_program(code: str) -> tuple[Principal, dict[str, Any]]:
    """The program's description, for its owning department or an admin only (403 otherwise)."""
    principal = current_principal()
    session = get_session()
    program = service.get_program(session, code)
    access.require_manager(principal, program)
    return principal, service.describe(session, program)


def _render_thresholds(
    description: dict[str, Any],
    form: ThresholdsBase,
    status: int = 200,
    result: dict[str, Any] | None = None,
    conflict: bool = False,
    general_errors: list[str] | None = None,
) -> ResponseReturnValue:
    rules = {rule["id"]: rule for rule in description.get("rules", [])}
    page = render_template(
        "programs/thresholds.html",
        program=description,
        form=form,
        fields=parameter_fields(form, description),
        rules=rules,
        simulation=result,
        conflict=conflict,
        general_errors=general_errors or [],
        invalid=status == 422,
    )
    return page, status


def _attach(form: ThresholdsBase, exc: Invalid) -> list[str]:
    """Put the service's messages next to the fields they name; return the ones naming none."""
    loose: list[str] = []
    for key, messages in (exc.errors or {}).items():
        name = str(key).removeprefix("parameters.")
        texts = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
        if name in form and name != "csrf_token":
            form[name].errors = [*form[name].errors, *texts]
        else:
            loose.extend(texts)
    if not exc.errors:
        loose.append(i18n.pick(exc.ko, exc.en))
    return loose


@bp.get("/programs/<code>")
def thresholds(code: str) -> ResponseReturnValue:
    """Each parameter with its label, unit, bounds, value and rules; one input per parameter."""
    _principal, description = _managed_program(code)
    return _render_thresholds(description, thresholds_form(description))


@bp.post("/programs/<code>/simulate")
def simulate(code: str) -> ResponseReturnValue:
    """``모의 적용``: how many open and confirmed nominations the values would change, and which."""
    principal, description = _managed_program(code)
    form = thresholds_form(description)
    if not form.validate():
        return _render_thresholds(description, form, 422)
    try:
        result = simulation.simulate_parameters(get_session(), code, parameter_values(form, description), principal)
    except Invalid as exc:
        get_session().rollback()
        return _render_thresholds(description, form, 422, general_errors=_attach(form, exc))
    return _render_thresholds(description, form, result=result)


@bp.post("/programs/<code>/publish")
def publish(code: str) -> ResponseReturnValue:
    """``게시``: publish the next version with the reason in its history (a reason is required)."""
    principal, description = _managed_program(code)
    form = thresholds_form(description)
    valid = form.validate()
    reason = (form.reason.data or "").strip()
    if not reason:
        form.reason.errors = [*form.reason.errors, _("게시하려면 변경 사유를 적어 주세요.")]
        valid = False
    if not valid:
        return _render_thresholds(description, form, 422)
    session = get_session()
    try:
        after = service.publish_parameters(
            session, code, parameter_values(form, description), principal, reason, expected_version(form)
        )
    except Invalid as exc:
        session.rollback()
        return _render_thresholds(description, form, 422, general_errors=_attach(form, exc))
    except Conflict:
        session.rollback()
        fresh = service.describe(session, service.get_program(session, code))
        form.expected_version.data = str(fresh["ruleset"]["version"])
        return _render_thresholds(fresh, form, 409, conflict=True)
    before, now = description["ruleset"]["version"], after["ruleset"]["version"]
    if now == before:
        flash(_("바뀐 값이 없어 새 버전을 게시하지 않았습니다."), "info")
    else:
        flash(_("버전 %(version)s을(를) 게시했습니다.", version=now), "success")
    return redirect(url_for("admin_ui.thresholds", code=code))


@bp.get("/programs/<code>/versions")
def versions(code: str) -> ResponseReturnValue:
    """Who published which version, when and why, with its sha256; two versions side by side."""
    principal = current_principal()
    access.require(principal, "programs.read")
    session = get_session()
    program = service.get_program(session, code)
    description = service.describe(session, program)
    history = service.version_history(session, program)
    numbers = [item["version"] for item in history]
    form = VersionDiffForm(formdata=request.args if request.args.get("a") else None)
    form.a.choices = form.b.choices = [(n, _("버전 %(version)s", version=n)) for n in numbers]
    if request.args.get("a") and form.validate():
        a, b = form.a.data, form.b.data
    else:
        b = numbers[0] if numbers else 0
        a = numbers[1] if len(numbers) > 1 else b
        form.a.data, form.b.data = a, b
    by_number = {item["version"]: item for item in history}
    comparison = _compare(by_number.get(a), by_number.get(b), description)
    return render_template(
        "programs/versions.html",
        program=description,
        history=history,
        form=form,
        left=by_number.get(a),
        right=by_number.get(b),
        comparison=comparison,
        manageable=access.can_manage_program(principal, program),
    )


def _compare(
    left: dict[str, Any] | None, right: dict[str, Any] | None, description: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows of a side-by-side table: every parameter of either version, marked where they differ."""
    if left is None or right is None:
        return []
    bounds = description.get("parameter_bounds", {})
    names = list(dict.fromkeys([*left["parameters"], *right["parameters"]]))
    return [
        {
            "name": name,
            "label": bounds.get(name, {}).get("label"),
            "unit": bounds.get(name, {}).get("unit", ""),
            "left": left["parameters"].get(name),
            "right": right["parameters"].get(name),
            "changed": left["parameters"].get(name) != right["parameters"].get(name),
        }
        for name in names
    ]


@bp.get("/programs/<code>/versions/<int:version>.yaml")
def version_download(code: str, version: int) -> ResponseReturnValue:
    """One version's resolved rule set, exactly as stored (its sha256 is that of this text)."""
    principal = current_principal()
    access.require(principal, "programs.read")
    session = get_session()
    program = service.get_program(session, code)
    body = service.version_yaml(session, program, version)
    response = Response(body, mimetype="application/yaml")
    response.headers.set("Content-Disposition", "attachment", filename=f"{program.code}-v{version}.yaml")
    return response
