"""Welfare programs and the immutable, content-addressed versions of their rule sets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .district import Institution, ResourceCategory, Sponsor


class RuleSetVersion(Base):
    """One published version of a rule set: never updated, only superseded.

    ``yaml_text`` is the self-contained (resolved) rule set, so a past verdict can be
    re-derived even after the policy files or parameters changed.
    """

    __tablename__ = "ruleset_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    base: Mapped[str | None] = mapped_column(String(100))
    yaml_text: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


PROGRAM_STATUSES = ("open", "closed")


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("resource_categories.id"))
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsors.id"))
    quota: Mapped[int | None]
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    base_ruleset: Mapped[str] = mapped_column(String(100))
    ruleset_version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Institution] = relationship()
    category: Mapped[ResourceCategory] = relationship()
    sponsor: Mapped[Sponsor | None] = relationship()
    ruleset_version: Mapped[RuleSetVersion] = relationship()
