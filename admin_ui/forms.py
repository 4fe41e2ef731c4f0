"""The admin UI's forms (Flask-WTF: every form carries a CSRF token).

Forms parse and check the shape of input (present, a whole number, not too long). Whether a
value is allowed — a threshold's bounds, who may change it — is the service's answer, shown
next to the field it names.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, StopValidation
from wtforms.widgets import TextInput

from service import rrn
from service.rrn import RRN

from . import i18n

MAX_REASON = 1000
RESERVED = frozenset({"csrf_token", "reason", "expected_version", "action", "meta"})
"""Form names the threshold form uses itself; no parameter may take one of them."""


class NoRRN:
    """Free text that is stored (notes, reasons, names) refuses an RRN-shaped number
    (``service.rrn.contains_rrn``, the one rule of the API and the uploads too); the message never
    repeats the number."""

    def __call__(self, form: Any, field: Field) -> None:
        if rrn.contains_rrn(field.data if isinstance(field.data, str) else None):
            field.data = rrn.blank_in_text(field.data)  # the page shown again must not hold the number
            field.raw_data = [field.data]
            raise StopValidation(
                str(_l("주민등록번호로 보이는 숫자가 있습니다. 주민등록번호는 주민등록번호 칸에만 적어 주세요."))
            )


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
        validators=[Optional(), Length(max=MAX_REASON, message=_l("%(max)d자 이내로 적어 주세요.")), NoRRN()],
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


# --------------------------------------------------------------------------- the nomination desk

MAX_NAME = 100
MAX_NOTE = 1000
_PAIR = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


def pair_text(message: str) -> str:
    """A service message written "한국어 (English)" in the page's language."""
    match = _PAIR.match(message)
    if not match:
        return message
    return match.group(2) if i18n.current() == "en" else match.group(1)


class ChoiceField(SelectField):
    """A select whose "not one of the choices" error is in the page's language."""

    def __init__(self, *args: Any, invalid: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invalid = invalid or _l("목록에서 고르세요.")

    def pre_validate(self, form: Any) -> None:
        if self.validate_choice and self.data not in {value for value, *_rest in self.iter_choices()}:
            raise StopValidation(str(self.invalid))


class RRNField(StringField):
    """The resident registration number: parsed on submission and **never rendered back**.

    A page after submission carries at most the masked number (``900101-1******``); a form
    that must be corrected asks for the number again, so no whole number is ever in a page.
    """

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.number: RRN | None = None

    def _value(self) -> str:
        return ""

    def pre_validate(self, form: Any) -> None:
        self.number = None
        raw = (self.data or "").strip()
        if not raw:
            raise StopValidation(str(_l("주민등록번호를 입력하세요.")))
        try:
            self.number = rrn.parse(raw)
        except rrn.InvalidRRN as exc:
            raise StopValidation(pair_text(str(exc))) from None


class NominateForm(FlaskForm):
    """One nominee (contract: ``program``, ``rrn``, ``name``, ``note``; ``replaces`` for a
    replacement; ``form_id`` so that sending the same form twice registers once)."""

    program = ChoiceField(_l("사업"), invalid=_l("접수 중인 사업을 고르세요."))
    rrn = RRNField(_l("주민등록번호"))
    name = StringField(
        _l("성명"),
        validators=[
            InputRequired(message=_l("성명을 입력하세요.")),
            Length(max=MAX_NAME, message=_l("%(max)d자 이내로 적어 주세요.")),
            NoRRN(),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    note = TextAreaField(
        _l("비고"),
        validators=[Optional(), Length(max=MAX_NOTE, message=_l("%(max)d자 이내로 적어 주세요.")), NoRRN()],
    )
    replaces = HiddenField()
    form_id = HiddenField()

    def replaces_id(self) -> int | None:
        raw = (self.replaces.data or "").strip()
        return int(raw) if raw.isdigit() else None


class TicketForm(FlaskForm):
    """Confirm or cancel what was checked: only the token of the kept rows (and the CSRF token)."""

    token = HiddenField()


class UploadForm(FlaskForm):
    program = ChoiceField(_l("사업"), invalid=_l("접수 중인 사업을 고르세요."))
    file = FileField(_l("대상자 파일 (CSV 또는 XLSX)"), validators=[FileRequired(message=_l("파일을 선택하세요."))])


class KoreanDateField(DateField):
    """A date input whose parse error is in the page's language."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = date.fromisoformat(str(valuelist[0]).strip())
        except ValueError:
            self.data = None
            raise ValueError(_l("날짜를 YYYY-MM-DD 형식으로 입력하세요.")) from None


class NominationFilterForm(FlaskForm):
    """The list's filters (a GET form: it changes nothing, so it needs no token)."""

    class Meta:
        csrf = False

    program = ChoiceField(_l("사업"), default="")
    outcome = ChoiceField(_l("판정"), default="")
    status = ChoiceField(_l("상태"), default="")
    date_from = KoreanDateField(_l("추천일 (부터)"), validators=[Optional()])
    date_to = KoreanDateField(_l("추천일 (까지)"), validators=[Optional()])


class ExportForm(FlaskForm):
    reason = StringField(
        _l("내려받는 사유"),
        validators=[Optional(), Length(max=MAX_REASON, message=_l("%(max)d자 이내로 적어 주세요.")), NoRRN()],
    )
    format = ChoiceField(_l("형식"), choices=[SelectChoice("csv", "CSV"), SelectChoice("xlsx", "XLSX (Excel)")])


class InboxOpenForm(FlaskForm):
    """Open a notification (marks it read): only the CSRF token; the button says where to go."""


class KeepReportForm(FlaskForm):
    """Keep the month's access review (the month shown; the service checks it)."""

    month = HiddenField(validators=[InputRequired(), Length(min=7, max=7)])


class AuditSearchForm(FlaskForm):
    """The access log's filters (a GET form, also sent as hidden fields with an export)."""

    class Meta:
        csrf = False

    actor = StringField(
        _l("행위자"), validators=[Optional(), Length(max=200, message=_l("%(max)d자 이내로 적어 주세요."))]
    )
    action = StringField(
        _l("행위"), validators=[Optional(), Length(max=100, message=_l("%(max)d자 이내로 적어 주세요."))]
    )
    institution = StringField(
        _l("기관 코드"), validators=[Optional(), Length(max=64, message=_l("%(max)d자 이내로 적어 주세요."))]
    )
    date_from = KoreanDateField(_l("기간 (부터)"), validators=[Optional()])
    date_to = KoreanDateField(_l("기간 (까지)"), validators=[Optional()])

    def validate_date_to(self, field: Field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise StopValidation(str(_l("끝 날짜가 시작 날짜보다 앞섭니다.")))


class AuditExportForm(FlaskForm):
    """An export of the access log lists people: a stated reason (kept with it) and a format."""

    reason = StringField(
        _l("내려받는 사유"),
        validators=[Optional(), Length(max=500, message=_l("%(max)d자 이내로 적어 주세요.")), NoRRN()],
    )
    format = ChoiceField(_l("형식"), choices=[SelectChoice("csv", "CSV"), SelectChoice("xlsx", "XLSX (Excel)")])
