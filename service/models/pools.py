"""Resource pools: a sponsor's stock of one resource category, allocated to programs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .district import ResourceCategory, Sponsor
from .programs import Program


class Pool(Base):
    """E.g. 1,000 boxes of kimchi from 대한적십자사, shared among departments' programs."""

    __tablename__ = "pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsors.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("resource_categories.id"))
    quantity: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sponsor: Mapped[Sponsor | None] = relationship()
    category: Mapped[ResourceCategory] = relationship()


class Allocation(Base):
    """A program's share of a pool; a program draws from one pool (``program_id`` unique), and a
    further allocation to it raises its quantity."""

    __tablename__ = "pool_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), unique=True)
    quantity: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    program: Mapped[Program] = relationship()
