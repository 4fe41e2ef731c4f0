"""Registry events, notifications, statistics and the audit log."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from .. import audit, clock, concentration, exports, notifications
from ..db import begin_write, get_session
from ..models import Notification
from ..registry_events import apply_event
from ..security import get_cipher
from ..stats import METRICS, export_headers, export_rows, statistics
from . import schemas
from .auth import current_principal, requires
from .problems import wants_english
from .serialize import kst

blp = Blueprint("operations", __name__, url_prefix="/api/v1", description="등록 사건·알림·통계·감사")


@blp.route("/registry/events")
class RegistryEvents(MethodView):
    @requires("registry.events")
    @blp.arguments(schemas.RegistryEventIn)
    @blp.response(200, schemas.RegistryEventOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """A death or move-out: open nominations of that person are re-screened at once and
        their institutions notified."""
        session = get_session()
        begin_write(session)
        result = apply_event(
            session, get_cipher(), current_principal(), body["type"], body["rrn"], body["date"], clock.today()
        )
        session.commit()
        return {
            "id": result.event.id,
            "type": result.event.type,
            "rrn": result.event.rrn_masked,
            "date": result.event.event_date,
            "resident_found": result.resident_found,
            "applied": result.applied,
            "rescreened": result.rescreened,
        }


def _notification(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "nomination": n.nomination_id,
        "message": n.message_en if wants_english() else n.message_ko,
        "messages": {"ko": n.message_ko, "en": n.message_en},
        "created_at": kst(n.created_at),
        "read_at": kst(n.read_at),
    }


@blp.route("/notifications")
class Notifications(MethodView):
    @requires("notifications.read")
    @blp.arguments(schemas.NotificationArgs, location="query")
    @blp.response(200, schemas.NotificationList)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's institution's notifications, newest first."""
        items, total = notifications.inbox(
            get_session(), current_principal(), args["unread"], args["limit"], args["offset"]
        )
        return {"items": [_notification(n) for n in items], "total": total}


@blp.route("/notifications/<id:notification_id>/read")
class NotificationRead(MethodView):
    @requires("notifications.read")
    @blp.response(200, schemas.NotificationOut)
    def post(self, notification_id: int) -> dict[str, Any]:
        """Mark a notification read (idempotent)."""
        return _notification(notifications.mark_read(get_session(), current_principal(), notification_id))


@blp.route("/stats")
class Stats(MethodView):
    @requires("stats.read")
    @blp.arguments(schemas.StatsArgs, location="query")
    @blp.response(200, schemas.StatsOut)
    def get(self, args: dict[str, Any]) -> Any:
        """Counts grouped by ``by`` (``format=csv|xlsx``); ``by=household`` lists households of
        concentrated receipt (needs ``reason``, recorded in the access log)."""
        session, principal, by, fmt = get_session(), current_principal(), args["by"], args["format"]
        if by == "household":
            reason = exports.require_reason(args.get("reason"))
            rows = concentration.households(session, principal, args["days"], reason)
            if fmt == "json":
                return {"by": by, "rows": rows, "totals": {"households": len(rows)}}
            body = exports.render(fmt, "세대 집중", concentration.HEADERS, concentration.table(rows))
            return exports.attachment(body, fmt, "stats-household")
        data = statistics(session, by, principal, args.get("program"))
        if fmt == "json":
            return data
        # CSV keeps its machine-friendly header; XLSX has the Korean one the admin UI downloads too
        headers = [by, "label", *METRICS] if fmt == "csv" else export_headers(by)
        body = exports.render(fmt, f"통계-{by}", headers, export_rows(data))
        return exports.attachment(body, fmt, f"stats-{by}")


@blp.route("/audit")
class Audit(MethodView):
    @requires("audit.read")
    @blp.arguments(schemas.AuditArgs, location="query")
    @blp.response(200, schemas.AuditList)
    def get(self, args: dict[str, Any]) -> Any:
        """Who read or changed which personal data, when; filter by actor, subject (RRN), date.
        ``format=csv|xlsx`` downloads every matching entry and needs ``reason`` (recorded)."""
        subject = args.get("subject")
        filters = audit.AuditFilters(
            args.get("actor"), args.get("action"), args.get("institution"),
            # entries keep the index of the key they were written under: try every key of the ring
            tuple(get_cipher().candidate_indexes(subject.digits)) if subject is not None else None,
            args.get("date_from"), args.get("date_to"), args["limit"], args["offset"],
        )  # fmt: skip
        fmt = args["format"]
        if fmt != "json":
            reason = exports.require_reason(args.get("reason"))
            rows = audit.export(get_session(), current_principal(), filters, reason, fmt)
            return exports.attachment(exports.render(fmt, "접속기록", audit.EXPORT_HEADERS, rows), fmt, "audit")
        items, total = audit.search(get_session(), current_principal(), filters)
        return {
            "items": [
                {
                    "id": e.id,
                    "at": kst(e.at),
                    "actor": e.actor,
                    "institution": e.institution_code,
                    "role": e.role,
                    "action": e.action,
                    "subject": e.subject_masked,
                    "target": e.target,
                    "detail": e.detail,
                }  # fmt: skip
                for e in items
            ],
            "total": total,
        }
