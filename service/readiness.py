"""Is this process ready for traffic? The database answers and its schema is the newest revision.

``/readyz`` asks this on every probe, so it must be cheap: the head revision is read from the
migration scripts once per process (they cannot change under a running server), the current one
is a single-row query on the request's own connection.
"""

from __future__ import annotations

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from .migrations_runner import MIGRATIONS


@cache
def head_revision() -> str | None:
    """The newest revision of the shipped migrations (``None`` only if there were none)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def schema_revision(session: Session) -> str | None:
    """The revision the database is at (``None`` when it was never migrated); raises when it does not answer."""
    return MigrationContext.configure(session.connection()).get_current_revision()
