"""Every validation error names the file, the 1-based line and the field path.

In each case the line the error must point at is marked with a `#<` comment.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest

from rules import Library, RuleSetError, load_text, run_rule_tests, yamlsrc
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
    # YAML 1.1 surprises: refused with a request to quote, never silently converted
    (
        "sexagesimal",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.age, gte: 1:30} #<\n"
        "    message: {ko: a, en: b}\n",
        "rules[0].when.gte",
        "quote it ('1:30')",
    ),
    (
        "octal",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.age, eq: 010} #<\n"
        "    message: {ko: a, en: b}\n",
        "rules[0].when.eq",
        "octal number: quote it ('010')",
    ),
    (
        "yes as a boolean",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.found, eq: yes} #<\n"
        "    message: {ko: a, en: b}\n",
        "rules[0].when.eq",
        "write true or false, or quote it ('yes')",
    ),
    (
        "off in an example",
        HEAD + "examples:\n  - name: e\n    facts: {resident.found: off} #<\n    expect: {outcome: eligible}\n",
        "examples[0].facts.resident.found",
        "quote it ('off')",
    ),
    (
        "n as text",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.sex, eq: n} #<\n"
        "    message: {ko: a, en: b}\n",
        "rules[0].when.eq",
        "quote it ('n')",
    ),
    ("an anchor", HEAD + "colour: &c blue #<\n", "", "anchors (&c) are not allowed"),
    ("deep nesting", HEAD + "colour: " + "[" * 100 + "]" * 100 + " #<\n", "", "nested more than 40 levels"),
    (
        "a string constant over the byte bound",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n      fact: resident.status\n"
        f"      eq: {'x' * 1025} #<\n    message: {{ko: a, en: b}}\n",
        "rules[0].when.eq",
        "longer than 1,024 UTF-8 bytes",
    ),
    (
        "a lone surrogate in a constant",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n      fact: resident.status\n"
        '      in: [active, "\\ud800"] #<\n    message: {ko: a, en: b}\n',
        "rules[0].when.in[1]",
        "lone surrogate U+D800",
    ),
    (
        "NUL in a message",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.found, eq: true}\n"
        '    message: {ko: "a\\0b", en: b} #<\n',
        "rules[0].message.ko",
        "NUL",
    ),
    (
        "an integer constant beyond 2**53 - 1",
        HEAD + "rules:\n  - id: r\n    severity: block\n"
        "    when: {fact: resident.age, lt: 9007199254740992} #<\n    message: {ko: a, en: b}\n",
        "rules[0].when.lt",
        "outside the range",
    ),
    (
        "a parameter bound beyond 2**53 - 1",
        HEAD + "parameters:\n  p:\n    value: 1\n    min: 0\n    max: 9223372036854775808 #<\n",
        "parameters.p.max",
        "outside the range",
    ),
    (
        "an example fact over the byte bound",
        HEAD + f"examples:\n  - name: e\n    facts: {{resident.status: {'가' * 342}}} #<\n"
        "    expect: {outcome: eligible}\n",
        "examples[0].facts.resident.status",
        "1,026 UTF-8 bytes is longer than 1,024",
    ),
    (
        "a long in list",
        HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n      fact: resident.age\n"
        f"      not_in: [{', '.join(map(str, range(65)))}] #<\n    message: {{ko: a, en: b}}\n",
        "rules[0].when.not_in",
        "lists 65 values (at most 64)",
    ),
    (
        "conditions nested too deeply",
        HEAD
        + "rules:\n  - id: r\n    severity: block\n    when:\n      "
        + "{any: [" * 8
        + "{all: [{fact: resident.age, eq: 1}]} #<\n"
        + "      "
        + "]}" * 8
        + "\n    message: {ko: a, en: b}\n",
        "rules[0].when" + ".any[0]" * 8,
        "nested more than 8 levels deep",
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


@pytest.mark.parametrize(("case", "text", "field", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_rules_test_prints_file_line_field_and_message(
    tmp_path: Path, case: str, text: str, field: str, fragment: str
) -> None:
    """What `seonbyeol rules test` prints for each case: one ERROR line, never a traceback."""
    write(tmp_path, "base.yaml", BASE_YAML)
    child = write(tmp_path, "child.yaml", text)
    out = StringIO()
    assert run_rule_tests([child], out, fallback_dir=tmp_path) == 1
    line = _marked_line(text)
    where = f"{child}:{line}: {field + ': ' if field else ''}"
    printed = [row for row in out.getvalue().splitlines() if row.startswith(f"ERROR {where}")]
    assert any(fragment in row for row in printed), out.getvalue()


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


def _stack_rules(count: int) -> str:
    return "".join(
        f"  - {{id: r{i}, severity: review, when: {{fact: resident.age, gte: {i}}}, message: {{ko: a, en: b}}}}\n"
        for i in range(count)
    )


def test_too_many_comparisons_true_at_once_for_durable(tmp_path: Path) -> None:
    """64 rules that can all hold at once overflow durable's evaluation stack (error 303 at run time)."""
    path = write(tmp_path, "wide.yaml", "ruleset: wide\ntitle: {ko: 넓은, en: Wide}\nrules:\n" + _stack_rules(64))
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 3, "rules")
    assert "65 places on its evaluation stack (it has 64)" in problem.message
    path.write_text("ruleset: wide\ntitle: {ko: 넓은, en: Wide}\nrules:\n" + _stack_rules(63), encoding="utf-8")
    assert len(Library.from_directory(tmp_path).get("wide").rules) == 63


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        # 8 rules of `in` 64 values: 512 alternatives, durable hangs at 512 children of a node
        ([f"{{fact: household.size, in: [{', '.join(str(r * 64 + i) for i in range(64))}]}}" for r in range(8)],
         "too many alternatives for the engine: 512 (at most 500)"),
        # 7 rules of in 8 × in 8 × not_in 8: 448 × 10 comparisons; unbounded, this shape took 20 s to register
        ([f"{{all: [{{fact: resident.age, in: [{', '.join(str(a) for a in range(60, 68))}]}}, "
          f"{{fact: household.size, in: [{', '.join(str(r * 8 + i) for i in range(8))}]}}, "
          f"{{fact: resident.status, not_in: [{', '.join(f's{r}{j}' for j in range(8))}]}}]}}" for r in range(7)],
         "too many comparisons for the engine: 4,480 (at most 4,096)"),
        ([f"{{fact: household.size, eq: {r}}}" for r in range(101)], "too many rules: 101"),
    ],
    ids=["alternatives", "comparisons", "rules"],
)  # fmt: skip
def test_rule_sets_too_large_for_durable(tmp_path: Path, rules: list[str], fragment: str) -> None:
    body = "".join(
        f"  - id: r{i}\n    severity: review\n    when: {w}\n    message: {{ko: a, en: b}}\n"
        for i, w in enumerate(rules)
    )
    path = write(tmp_path, "big.yaml", "ruleset: big\ntitle: {ko: 큰, en: Big}\nrules: #<\n" + body)
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 3, "rules")
    assert fragment in problem.message


def test_nested_aliases_are_refused_at_once(tmp_path: Path) -> None:
    """A billion laughs: before, the loader expanded it without limit and hung."""
    lines = ["ruleset: lol", "title: {ko: 가, en: a}", 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    path = write(tmp_path, "lol.yaml", "\n".join(lines) + "\n")
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 3, "")
    assert "anchors (&a) are not allowed" in problem.message


def test_an_unknown_top_level_key_does_not_hide_the_body_problems(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE_YAML)
    write(tmp_path, "child.yaml", HEAD + "colour: blue\nparameters:\n  limit_a: {value: 0}\n")
    with pytest.raises(RuleSetError) as caught:
        Library.from_directory(tmp_path)
    assert {p.field for p in caught.value.problems} == {"colour", "parameters.limit_a.value"}


def test_a_recursion_error_in_the_composer_is_a_problem_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the depth bound ever be lifted, Python's recursion limit still ends in a Problem."""
    monkeypatch.setattr(yamlsrc, "MAX_YAML_DEPTH", 10**9)
    text = "ruleset: deep\ntitle: {ko: 가, en: a}\n\nx: " + "[" * 20_000 + "]" * 20_000 + "\n"
    with pytest.raises(RuleSetError) as caught:
        load_text(text, source="deep.yaml")
    (problem,) = caught.value.problems
    assert problem.file == "deep.yaml" and problem.line == 4 and "nested too deeply" in problem.message
