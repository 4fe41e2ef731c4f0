"""The department desk's forms (Flask-WTF, CSRF on every POST form).

As in ``admin_ui.forms``: a form checks the shape of input (present, a whole number, not too
long); whether a value is allowed (a quota, an allocation, an override without a note) is the
service's answer, which :func:`attach` puts next to the field it names.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional, Regexp

from service.errors import ServiceError

from .. import i18n
from ..forms import NoRRN, WholeNumberField

MAX_NOTE = 1000
MAX_REASON = 500
_TOO_LONG = _l("%(max)d자 이내로 적어 주세요.")


class ProgramStatusForm(FlaskForm):
    """Open or close a program: the status to set, and which page to go back to."""

    status = HiddenField(validators=[AnyOf(("open", "closed"))])
    back = HiddenField(validators=[Optional(), AnyOf(("desk", "progress"))])


class ReminderForm(FlaskForm):
    """Ask for replacements: every institution that owes one, or only ``institution``."""

    institution = HiddenField(validators=[Optional(), Length(max=64)])


class IdListField(Field):
    """Checked nominations (``ids``, repeated): whole numbers, with a message in the page's language."""

    data: list[int]

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            self.data = sorted({int(str(v).strip()) for v in valuelist})
        except ValueError:
            self.data = []
            raise ValueError(_l("추천 번호가 올바르지 않습니다.")) from None

    def _value(self) -> str:
        return ""


class CandidatesForm(FlaskForm):
    """The merged list's actions: the checked nominations, the status a button asks for, a note."""

    ids = IdListField(default=list)
    status = HiddenField(validators=[InputRequired(), AnyOf(("confirmed", "delivered"))])
    note = TextAreaField(_l("처리 사유"), validators=[Optional(), Length(max=MAX_NOTE, message=_TOO_LONG), NoRRN()])


class ExportForm(FlaskForm):
    """A download that lists people: the reason is recorded with it (the service requires one)."""

    reason = StringField(
        _l("내려받는 사유"), validators=[Optional(), Length(max=MAX_REASON, message=_TOO_LONG), NoRRN()]
    )
    format = HiddenField(validators=[Optional(), AnyOf(("csv", "xlsx"))])


class HouseholdForm(ExportForm):
    """Household concentration lists people: a reason first, then the look-back period."""

    days = WholeNumberField(
        _l("조회 기간"),
        default=365,
        validators=[
            InputRequired(message=_l("값을 입력하세요.")),
            NumberRange(min=1, max=1825, message=_l("1–1825일 범위여야 합니다.")),
        ],
    )


_CODE = Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$", message=_l("영문 소문자, 숫자, 하이픈으로 적어 주세요."))
_QUANTITY = [
    InputRequired(message=_l("값을 입력하세요.")),
    NumberRange(min=1, max=10_000_000, message=_l("1 이상의 수량을 입력하세요.")),
]


class PoolForm(FlaskForm):
    """A sponsor's pool of one resource category (admin)."""

    code = StringField(_l("풀 코드"), validators=[InputRequired(message=_l("값을 입력하세요.")), _CODE])
    name = StringField(
        _l("풀 이름"),
        validators=[InputRequired(message=_l("값을 입력하세요.")), Length(max=200, message=_TOO_LONG), NoRRN()],
    )
    sponsor = SelectField(_l("후원처"), validate_choice=True)
    resource_category = SelectField(_l("자원 분류"), validate_choice=True)
    quantity = WholeNumberField(_l("수량"), validators=_QUANTITY)


class AllocationForm(FlaskForm):
    """Give a program (more of) the pool's stock (admin)."""

    program = SelectField(_l("사업"), validate_choice=True)
    quantity = WholeNumberField(_l("배분 수량"), validators=_QUANTITY)


def attach(form: FlaskForm, exc: ServiceError, fields: dict[str, str] | None = None) -> list[str]:
    """Put the service's messages next to the fields they name (``fields`` renames the service's
    keys to the form's); return the general message when no field is named.

    An answer about one field is shown there in the page's language (the service's message
    pair); several fields each get the service's own message for it.
    """
    loose: list[str] = []
    placed = False
    errors = exc.errors or {}
    for key, messages in errors.items():
        name = (fields or {}).get(str(key), str(key))
        texts = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
        if len(errors) == 1:
            texts = [i18n.pick(exc.ko, exc.en)]
        if name in form and name != "csrf_token":
            form[name].errors = [*form[name].errors, *texts]
            placed = True
    if not placed:
        loose.append(i18n.pick(exc.ko, exc.en))
    return loose
