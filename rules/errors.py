"""Errors of rule-set loading: one exception carrying every problem found.

Policy staff fix a YAML file in one pass only if they see all its problems at once, each
pointing at the file, the line and the field, so loading never stops at the first one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule set: where (file, 1-based line, field path) and what."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"

    def as_dict(self) -> dict[str, object]:
        """Return the problem as plain JSON-ready data (for API error bodies)."""
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class RuleSetError(ValueError):
    """A rule set (or a set of them) is invalid; `problems` lists everything wrong."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("RuleSetError needs at least one problem")
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in rule sets:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])

    def __str__(self) -> str:
        return self._render()


class UnknownRuleSetError(KeyError):
    """No rule set of that name in the library."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = tuple(sorted(known))
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown rule set {self.name!r} (known: {', '.join(self.known) or 'none'})"


class FactsError(ValueError):
    """A facts dict does not match the fact catalogue (missing, unknown or mistyped keys)."""
