"""Simulate a parameter change: what it would do to a program's open and confirmed nominations.

Built on the re-screening pass itself (:func:`rescreening.plan`) with the proposed rule set,
so the numbers are exactly what publishing and then re-screening would produce. Nothing is
stored but the access record of the people the answer lists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import access, audit, clock
from .models import Institution
from .policies import parameter_values, ruleset_for
from .programs import get_program, proposed_ruleset
from .rescreening import plan
from .security import Principal


def simulate_parameters(session: Session, code: str, values: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """The contract's simulation answer for ``values`` (any subset of the parameters); commits
    the audit entry."""
    access.require(principal, "programs.manage")
    program = get_program(session, code)
    access.require_manager(principal, program)
    current = ruleset_for(program.ruleset_version)
    proposed = proposed_ruleset(current, values)
    result = plan(session, program, proposed, clock.now())
    changed = [i for i in result.items if i.before != i.after]
    wanted = sorted({i.institution_id for i in changed})
    codes = {
        row.id: row.code
        for row in session.execute(select(Institution.id, Institution.code).where(Institution.id.in_(wanted)))
    }
    audit.record(
        session, principal, "program.simulate", [(i.rrn_index, i.rrn_masked) for i in changed] or [(None, None)],
        target=f"program:{program.code}", detail={"parameters": values, "screened": len(result.items)},
    )  # fmt: skip
    session.commit()
    return {
        "program": program.code,
        "from": {"name": current.name, "version": current.version, "sha256": current.sha256},
        "parameters": parameter_values(proposed),
        "screened": len(result.items),
        "changed": len(changed),
        "transitions": result.transitions(),
        "items": [
            {
                "nomination": i.nomination_id,
                "institution": codes.get(i.institution_id, ""),
                "nominee": {"rrn": i.rrn_masked, "name": i.name},
                "status": i.status,
                "from": i.before,
                "to": i.after,
                "reasons": i.verdict["reasons"],
            }  # fmt: skip
            for i in changed
        ],
    }
