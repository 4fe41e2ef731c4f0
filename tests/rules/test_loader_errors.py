"""Every validation error names the file, the 1-based line and the field path.

In each case the line the error must point at is marked with a `#<` comment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import Library, RuleSetError, load_text
from tests.rules.helpers import BASE_YAML, write

HEAD = "ruleset: child\nextends: base\ntitle: {ko: 자식, en: Child}\n"

CASES: list[tuple[str, str, str, str]] = [
    # (case id, child YAML, field, fragment of the message)
    ("unknown top-level key", HEAD + "colour: blue #<\n", "colour", "unknown key"),
    (
        "unknown rule key",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.found, eq: true}\n"
        "    message: {ko: a, en: b}\n    priority: 3 #<\n",
        "rules[0].priority",
        "unknown key",
    ),
    (
        "duplicate YAML key",
        HEAD + "parameters:\n  p: {value: 1, min: 0, max: 2}\n  p: {value: 1, min: 0, max: 2} #<\n",
        "parameters.p",
        "duplicate key",
    ),
    ("bad YAML", HEAD + "rules: [\n  - id: 1 #<\n", "", "invalid YAML"),
    (
        "unknown fact",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n      all:\n"
        "        - {fact: resident.found, eq: true}\n        - {fact: resident.income, lt: 5} #<\n"
        "    message: {ko: a, en: b}\n",
        "rules[0].when.all[1].fact",
        "unknown fact 'resident.income'",
    ),
    (
        "unknown parameter",
        HEAD + "rules:\n  - id: r\n    severity: block\n"
        "    when: {fact: resident.age, lt: {param: max_age}} #<\n    message: {ko: a, en: b}\n",
        "rules[0].when.lt.param",
        "unknown parameter 'max_age'",
    ),
    (
        "new parameter outside its bounds",
        HEAD + "parameters:\n  min_age:\n    value: 130 #<\n    min: 0\n    max: 120\n",
        "parameters.min_age.value",
        "outside the bounds 0–120",
    ),
    (
        "override outside the base bounds",
        HEAD + "parameters:\n  limit_a:\n    value: 11 #<\n",
        "parameters.limit_a.value",
        "outside the bounds 1–10",
    ),
    (
        "override with more than a value",
        HEAD + "parameters:\n  limit_a:\n    value: 2\n    max: 20 #<\n",
        "parameters.limit_a.max",
        "only its value may be overridden",
    ),
    (
        "min greater than max",
        HEAD + "parameters:\n  p:\n    value: 5\n    min: 9 #<\n    max: 3\n",
        "parameters.p.min",
        "min 9 is greater than max 3",
    ),
    (
        "unknown placeholder",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.found, eq: true}\n"
        "    message:\n      ko: '{resident.income}원' #<\n      en: 'income'\n",
        "rules[0].message.ko",
        "unknown placeholder {resident.income}",
    ),
    (
        "duplicate rule id in one file",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.found, eq: true}\n"
        "    message: {ko: a, en: b}\n  - id: r #<\n    severity: block\n"
        "    when: {fact: resident.found, eq: true}\n    message: {ko: a, en: b}\n",
        "rules[1].id",
        "duplicate rule id 'r'",
    ),
    (
        "rule id already in the base",
        HEAD + "rules:\n  - id: too_many #<\n    severity: review\n"
        "    when: {fact: resident.found, eq: true}\n    message: {ko: a, en: b}\n",
        "rules[0].id",
        "already defined in base rule set 'base'",
    ),
    (
        "bad severity",
        HEAD + "rules:\n  - id: r\n    severity: warn #<\n    when: {fact: resident.found, eq: true}\n"
        "    message: {ko: a, en: b}\n",
        "rules[0].severity",
        "block or review",
    ),
    (
        "lt on a str fact",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n"
        "      fact: resident.status\n      lt: active #<\n    message: {ko: a, en: b}\n",
        "rules[0].when.lt",
        "compares numbers",
    ),
    (
        "eq with a string on a bool fact",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n"
        "      fact: resident.found\n      eq: 'true' #<\n    message: {ko: a, en: b}\n",
        "rules[0].when.eq",
        "bool fact",
    ),
    (
        "a parameter compared with a bool fact",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n"
        "      fact: resident.found\n      ne: {param: limit_a} #<\n    message: {ko: a, en: b}\n",
        "rules[0].when.ne",
        "cannot be compared with a parameter",
    ),
    (
        "an int list on a str fact",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n"
        "      fact: resident.dong_code\n      in:\n        - 1120058000 #<\n"
        "    message: {ko: a, en: b}\n",
        "rules[0].when.in[0]",
        "str fact",
    ),
    (
        "two operators in one leaf",
        HEAD + "rules:\n  - id: r\n    severity: block\n"
        "    when: {fact: resident.age, lt: 3, gt: 1} #<\n    message: {ko: a, en: b}\n",
        "rules[0].when",
        "exactly one operator",
    ),
    (
        "an empty any",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n      any: [] #<\n    message: {ko: a, en: b}\n",
        "rules[0].when.any",
        "at least one condition",
    ),
    (
        "unknown base",
        "ruleset: child\nextends: nowhere #<\ntitle: {ko: 자식, en: Child}\n",
        "extends",
        "unknown base rule set 'nowhere'",
    ),
    (
        "example with an unknown fact",
        HEAD + "examples:\n  - name: e\n    facts:\n      resident.income: 3 #<\n    expect: {outcome: eligible}\n",
        "examples[0].facts.resident.income",
        "unknown fact",
    ),
    (
        "example with an unknown rule id",
        HEAD + "examples:\n  - name: e\n    expect:\n      rules:\n        - not_a_rule #<\n",
        "examples[0].expect.rules[0]",
        "unknown rule id 'not_a_rule'",
    ),
    (
        "example fact of the wrong type",
        HEAD + "examples:\n  - name: e\n    facts:\n      resident.age: '70' #<\n    expect: {outcome: eligible}\n",
        "examples[0].facts.resident.age",
        "int fact",
    ),
    (
        "missing title",
        "ruleset: child #<\nextends: base\n",
        "title",
        "missing required key 'title'",
    ),
]


def _marked_line(text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if "#<" in line)


@pytest.mark.parametrize(("case", "text", "field", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_error_names_file_line_and_field(tmp_path: Path, case: str, text: str, field: str, fragment: str) -> None:
    write(tmp_path, "base.yaml", BASE_YAML)
    child = write(tmp_path, "child.yaml", text)
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    line = _marked_line(text)
    matches = [p for p in caught.value.problems if p.field == field and fragment in p.message]
    assert matches, f"no problem at {field} with {fragment!r} in:\n{caught.value}"
    problem = matches[0]
    assert problem.file == str(child)
    assert problem.line == line
    assert f"{child}:{line}: {field + ':' if field else ''}" in str(caught.value)


def test_extends_cycle_is_named(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "ruleset: a\nextends: b\ntitle: {ko: 가, en: A}\n")
    b = write(tmp_path, "b.yaml", "ruleset: b\nextends: a\ntitle: {ko: 나, en: B}\n")
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    cycles = [p for p in caught.value.problems if "extends cycle" in p.message]
    assert cycles and cycles[0].field == "extends" and cycles[0].line == 2
    assert cycles[0].file == str(b) and "a → b → a" in cycles[0].message


def test_self_extension_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "ruleset: a\nextends: a\ntitle: {ko: 가, en: A}\n")
    with pytest.raises(RuleSetError, match="extends cycle: a → a"):
        Library.from_directory(tmp_path)


def test_duplicate_rule_set_name_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE_YAML)
    second = write(tmp_path, "b.yaml", BASE_YAML)
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(second), 1, "ruleset")
    assert "already defined" in problem.message


def test_all_problems_are_reported_together_and_nothing_is_loaded(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE_YAML)
    write(
        tmp_path,
        "child.yaml",
        HEAD + "parameters:\n  limit_a: {value: 99}\nrules:\n  - id: r\n    severity: nope\n"
        "    when: {fact: resident.nope, eq: 1}\n    message: {ko: a, en: b}\n",
    )
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    fields = {p.field for p in caught.value.problems}
    assert {"parameters.limit_a.value", "rules[0].severity", "rules[0].when.fact"} <= fields
    assert str(caught.value).startswith("3 problems in rule sets:")


def test_load_text_names_its_source() -> None:
    with pytest.raises(RuleSetError) as caught:
        load_text("ruleset: x\ntitle: {ko: 가, en: A}\nrules: 3\n", source="<db v7>")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("<db v7>", 3, "rules")


def test_condition_too_complex_for_the_engine(tmp_path: Path) -> None:
    ages = ", ".join(str(n) for n in range(9))
    leaf = f"{{fact: resident.age, in: [{ages}]}}"
    text = (
        "ruleset: big\ntitle: {ko: 큰, en: Big}\nrules:\n  - id: r\n    severity: block\n"
        f"    when: #<\n      all: [{leaf}, {leaf}]\n    message: {{ko: a, en: b}}\n"
    )
    path = write(tmp_path, "big.yaml", text)
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 6, "rules[0].when")
    assert "81 alternatives" in problem.message


def test_an_unknown_top_level_key_does_not_hide_the_body_problems(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE_YAML)
    write(tmp_path, "child.yaml", HEAD + "colour: blue\nparameters:\n  limit_a: {value: 0}\n")
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    assert {p.field for p in caught.value.problems} == {"colour", "parameters.limit_a.value"}
