"""The notifications inbox: unread first; a nominee turned ineligible links to a replacement.

Each institution sees its own inbox (``access.notification_filter``). Opening a notification
is a POST (it marks the notification read), answered by a redirect to the nomination or to
the replacement form prefilled with ``replaces``.
"""

from __future__ import annotations

from typing import Final

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from service import access, notifications
from service.db import get_session

from . import bp
from .auth import current_principal
from .forms import InboxOpenForm

PAGE_SIZE: Final = 30


@bp.get("/inbox")
def inbox() -> ResponseReturnValue:
    """The institution's notifications, unread first, newest first."""
    principal = current_principal()
    access.require(principal, "notifications.read")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    items, total, unread = notifications.inbox_for_desk(get_session(), principal, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template(
        "inbox/list.html", items=items, total=total, unread=unread, page=page, pages=pages, open_form=InboxOpenForm()
    )


@bp.route("/inbox/<int:notification_id>/open", methods=["GET", "POST"])
def inbox_open(notification_id: int) -> ResponseReturnValue:
    """Mark the notification read and go on: ``go=replace`` to the prefilled replacement form,
    otherwise to the nomination it is about (or back to the inbox)."""
    principal = current_principal()
    access.require(principal, "notifications.read")
    if request.method == "GET" or not InboxOpenForm().validate():
        return redirect(url_for("admin_ui.inbox"))
    item = notifications.mark_read(get_session(), principal, notification_id)
    if item.nomination_id is None:
        return redirect(url_for("admin_ui.inbox"))
    if request.form.get("go") == "replace":
        return redirect(url_for("admin_ui.nominate", replaces=item.nomination_id))
    return redirect(url_for("admin_ui.nomination_detail", nomination_id=item.nomination_id))
