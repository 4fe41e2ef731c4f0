"""``/api/v1/pools``: a sponsor's resource pools and their allocation to programs."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from .. import pools as service
from ..db import get_session
from . import schemas
from .auth import current_principal, requires

blp = Blueprint("pools", __name__, url_prefix="/api/v1/pools", description="자원 풀과 배분 (resource pools)")


@blp.route("")
class Pools(MethodView):
    @requires("pools.read")
    @blp.response(200, schemas.PoolList)
    def get(self) -> dict[str, Any]:
        """Every pool with its allocations and use."""
        items = service.list_pools(get_session(), current_principal())
        return {"items": items, "total": len(items)}

    @requires("pools.manage")
    @blp.arguments(schemas.PoolIn)
    @blp.response(201, schemas.PoolOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a sponsor's pool (admin)."""
        return service.create_pool(get_session(), body, current_principal())


@blp.route("/<code>")
class PoolItem(MethodView):
    @requires("pools.read")
    @blp.response(200, schemas.PoolOut)
    def get(self, code: str) -> dict[str, Any]:
        """The pool: quantity, allocated, delivered, remaining, and each program's share."""
        return service.describe(get_session(), code, current_principal())


@blp.route("/<code>/allocations")
class PoolAllocations(MethodView):
    @requires("pools.manage")
    @blp.arguments(schemas.AllocationIn)
    @blp.response(201, schemas.PoolOut)
    def post(self, body: dict[str, Any], code: str) -> dict[str, Any]:
        """Allocate part of the pool to a program (more than the pool holds is a 409)."""
        return service.allocate(get_session(), code, body["program"], body["quantity"], current_principal())
