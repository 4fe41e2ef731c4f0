"""Registry events, notifications, statistics and the audit log."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from .. import audit, clock
from ..db import begin_write, get_session
from ..errors import NotFound
from ..models import AuditEntry, Notification
from ..registry_events import apply_event
from ..security import get_cipher
from ..stats import METRICS, statistics
from . import schemas
from .auth import current_principal, requires
from .problems import wants_english
from .serialize import kst

blp = Blueprint("operations", __name__, url_prefix="/api/v1", description="등록 사건·알림·통계·감사")


@blp.route("/registry/events")
class RegistryEvents(MethodView):
    @requires("admin", "system")
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
    @requires()
    @blp.arguments(schemas.NotificationArgs, location="query")
    @blp.response(200, schemas.NotificationList)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's institution's notifications, newest first."""
        session = get_session()
        principal = current_principal()
        query = select(Notification).where(Notification.institution_id == principal.institution_id)
        if args["unread"]:
            query = query.where(Notification.read_at.is_(None))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = list(
            session.scalars(query.order_by(Notification.id.desc()).limit(args["limit"]).offset(args["offset"]))
        )
        if items:
            audit.record(session, principal, "notification.list", target=f"institution:{principal.institution_code}",
                         detail={"ids": [n.id for n in items]})  # fmt: skip
            session.commit()
        return {"items": [_notification(n) for n in items], "total": total}


@blp.route("/notifications/<id:notification_id>/read")
class NotificationRead(MethodView):
    @requires()
    @blp.response(200, schemas.NotificationOut)
    def post(self, notification_id: int) -> dict[str, Any]:
        """Mark a notification read (idempotent)."""
        session = get_session()
        principal = current_principal()
        item = session.get(Notification, notification_id)
        if item is None or item.institution_id != principal.institution_id:
            raise NotFound("알림을 찾을 수 없습니다", f"notification {notification_id} not found")
        if item.read_at is None:
            item.read_at = clock.now()
            session.commit()
        return _notification(item)


@blp.route("/stats")
class Stats(MethodView):
    @requires("admin", "department", "auditor")
    @blp.arguments(schemas.StatsArgs, location="query")
    @blp.response(200, schemas.StatsOut)
    def get(self, args: dict[str, Any]) -> Any:
        """Counts of nominations, verdicts, deliveries and people grouped by ``by``; ``format=csv``."""
        data = statistics(get_session(), args["by"], current_principal(), args.get("program"))
        if args["format"] != "csv":
            return data
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([args["by"], "label", *METRICS])
        for row in data["rows"]:
            writer.writerow([row["key"] or "", row["label"], *[row[m] for m in METRICS]])
        return Response(
            "\ufeff" + out.getvalue(),  # BOM: Excel opens Korean text correctly
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="stats-{args["by"]}.csv"'},
        )


@blp.route("/audit")
class Audit(MethodView):
    @requires("auditor", "admin")
    @blp.arguments(schemas.AuditArgs, location="query")
    @blp.response(200, schemas.AuditList)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Who read or changed which personal data, when; filter by actor, subject (RRN), date."""
        session = get_session()
        principal = current_principal()
        query = select(AuditEntry)
        if args.get("actor"):
            query = query.where(AuditEntry.actor == args["actor"])
        if args.get("action"):
            query = query.where(AuditEntry.action == args["action"])
        if args.get("institution"):
            query = query.where(AuditEntry.institution_code == args["institution"])
        if args.get("subject") is not None:
            query = query.where(AuditEntry.subject_index == get_cipher().blind_index(args["subject"].digits))
        if args.get("date_from"):
            query = query.where(AuditEntry.at >= clock.start_of_day(args["date_from"]))
        if args.get("date_to"):
            query = query.where(AuditEntry.at < clock.start_of_day(args["date_to"], plus_days=1))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(args["limit"]).offset(args["offset"])))
        filters = {k: str(v) for k, v in args.items() if k != "subject" and v}
        audit.record(session, principal, "audit.read", detail={"filters": filters})
        session.commit()
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
