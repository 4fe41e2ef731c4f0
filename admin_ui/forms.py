"""The admin UI's forms (Flask-WTF: every form carries a CSRF token).

Forms parse and check the shape of input (present, a whole number, not too long). Whether a
value is allowed — a threshold's bounds, who may change it — is the service's answer, shown
next to the field it names.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

MAX_REASON = 1000
RESERVED = frozenset({"csrf_token", "reason", "expected_version", "action", "meta"})
"""Form names the threshold form uses itself; no parameter may take one of them."""


class LoginForm(FlaskForm):
    username = StringField(
        _l("아이디"), validators=[InputRequired(message=_l("아이디를 입력하세요.")), Length(max=100)]
    )
    password = PasswordField(
        _l("비밀번호"), validators=[InputRequired(message=_l("비밀번호를 입력하세요.")), Length(max=1024)]
    )


class LogoutForm(FlaskForm):
    """Only the CSRF token: logging out is a POST, so a link on another site cannot do it."""


class WholeNumberField(IntegerField):
    """An integer input whose parse error is in the page's language, not WTForms' English."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        try:
            self.data = int(str(valuelist[0]).strip())
        except ValueError:
            raise ValueError(_l("정수를 입력하세요.")) from None


class ThresholdsBase(FlaskForm):
    reason = TextAreaField(
        _l("변경 사유"),
        validators=[Optional(), Length(max=MAX_REASON, message=_l("%(max)d자 이내로 적어 주세요."))],
    )
    expected_version = HiddenField()


def thresholds_form(description: dict[str, Any], **kwargs: Any) -> ThresholdsBase:
    """A form with one whole-number input per parameter, named after it, defaulting to its value."""

    class ThresholdsForm(ThresholdsBase):
        pass

    for name, bounds in description["parameter_bounds"].items():
        if name in RESERVED:
            raise ValueError(f"parameter name {name!r} collides with a form field")
        field = WholeNumberField(
            name, validators=[InputRequired(message=_l("값을 입력하세요."))], default=bounds["value"]
        )
        setattr(ThresholdsForm, name, field)
    form = ThresholdsForm(**kwargs)
    if not form.expected_version.data:
        form.expected_version.data = str(description["ruleset"]["version"])
    return form


def parameter_fields(form: ThresholdsBase, description: dict[str, Any]) -> list[tuple[Field, dict[str, Any]]]:
    """The form's parameter inputs with their bounds, in the rule set's order."""
    return [(form[name], bounds) for name, bounds in description["parameter_bounds"].items()]


def parameter_values(form: ThresholdsBase, description: dict[str, Any]) -> dict[str, int]:
    return {name: int(form[name].data) for name in description["parameter_bounds"]}


def expected_version(form: ThresholdsBase) -> int | None:
    raw = (form.expected_version.data or "").strip()
    return int(raw) if raw.isdigit() else None


class VersionDiffForm(FlaskForm):
    """Choose two versions to compare (a GET form: it changes nothing, so it needs no token)."""

    class Meta:
        csrf = False

    a = SelectField(_l("기준 버전"), coerce=int, validate_choice=True)
    b = SelectField(_l("비교 버전"), coerce=int, validate_choice=True)
