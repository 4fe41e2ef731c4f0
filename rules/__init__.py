"""The rules engine of seonbyeol: load YAML rule sets, evaluate facts, build verdicts.

A library that knows nothing of Flask or the database. The service calls:

- `Library.from_directory("policies")` then `library.get("base-screening")`
- `ruleset.derive(program_code, parameters, version)` and `ruleset.to_yaml()` to publish
- `load_text(stored_yaml)` to get a stored version back
- `screen(ruleset, facts, evaluated_at)` (or `evaluate` + `build_verdict`) per nomination
- `run_rule_tests(paths, out)` behind `seonbyeol rules test [PATH]`
"""

from rules.engine import EngineError, evaluate
from rules.errors import FactsError, Problem, RuleSetError, UnknownRuleSetError
from rules.facts import EXAMPLE_DEFAULTS, FACTS, FactSpec, validate_facts, with_example_defaults
from rules.loader import Library, load_file, load_text
from rules.model import Example, Parameter, Rule, RuleSet, Text
from rules.testing import DEFAULT_POLICIES_DIR, run_rule_tests
from rules.verdict import Reason, Verdict, build_verdict, outcome_of, screen

__all__ = [
    "DEFAULT_POLICIES_DIR",
    "EXAMPLE_DEFAULTS",
    "FACTS",
    "EngineError",
    "Example",
    "FactSpec",
    "FactsError",
    "Library",
    "Parameter",
    "Problem",
    "Reason",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "Text",
    "UnknownRuleSetError",
    "Verdict",
    "build_verdict",
    "evaluate",
    "load_file",
    "load_text",
    "outcome_of",
    "run_rule_tests",
    "screen",
    "validate_facts",
    "with_example_defaults",
]
