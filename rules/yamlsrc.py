"""Read YAML strictly and remember the line of every field.

PyYAML silently keeps the last of duplicate keys and forgets where values came from; policy
files need both caught and reported, so documents are composed into nodes and converted here.

PyYAML also speaks YAML 1.1, where some plain values are not what they look like: `1:30` is the
number 90 (sexagesimal), `010` is 8 (octal), `yes`/`no`/`on`/`off` are booleans (and `y`/`n`
are booleans to other YAML 1.1 readers but text to PyYAML). A policy file is read by people, so
such values are refused with a request to quote them. Anchors and aliases are refused too (a few
lines of nested aliases expand without limit), and so is nesting deeper than MAX_YAML_DEPTH,
before Python's recursion limit is anywhere near. Every refusal names the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import yaml
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.errors import Problem
from rules.facts import text_problem

MAX_YAML_DEPTH: Final = 40
"""Most nested YAML lists/mappings in a document; the deepest condition allowed needs about 22."""

_INT_TAG: Final = "tag:yaml.org,2002:int"
_FLOAT_TAG: Final = "tag:yaml.org,2002:float"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_DECIMAL_RE: Final = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_YAML11_BOOLS: Final = frozenset(
    ["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"]
)
"""YAML 1.1 booleans except true/false (which YAML 1.2 reads the same way)."""


@dataclass
class Located:
    """A plain-Python YAML document plus the 1-based line of every field path."""

    data: object
    source: str
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, path: str) -> int:
        """Return the line of `path`, else of its nearest known parent, else 1."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("", 1)


def join(path: str, key: str | int) -> str:
    """Extend a field path: `rules` + 2 → `rules[2]`, `rules[2]` + `when` → `rules[2].when`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Refused(Exception):
    """The composer met something a policy file may not contain (an anchor, an alias, deep nesting)."""

    def __init__(self, mark: object, message: str) -> None:
        super().__init__(message)
        line = getattr(mark, "line", None)
        self.line = line + 1 if isinstance(line, int) else 1
        self.message = message


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader whose composer refuses anchors, aliases and deep nesting as it meets them."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            raise _Refused(event.start_mark, f"YAML aliases (*{event.anchor}) are not allowed: write the value out")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(event.start_mark, f"YAML anchors (&{anchor}) are not allowed: write the value out")
        if not isinstance(event, MappingStartEvent | SequenceStartEvent):
            return super().compose_node(parent, index)
        if self._depth >= MAX_YAML_DEPTH:
            raise _Refused(event.start_mark, f"nested more than {MAX_YAML_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Dumper(yaml.SafeDumper):
    """A SafeDumper that writes what `parse` accepts: `y`/`n` quoted, and never an anchor or alias."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if data in _YAML11_BOOLS:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return dumper.represent_str(data)


_Dumper.add_representer(str, _represent_str)


def dump(doc: object) -> str:
    """Return YAML text that `parse` reads back to the same data (used for stored rule sets)."""
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def parse(text: str, source: str) -> tuple[Located | None, list[Problem]]:
    """Parse one YAML document; return it with its lines, or None and the problems."""
    loader = _StrictLoader(text)
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(source, 1, "", "the file is empty")]
        doc = Located(None, source, {"": node.start_mark.line + 1})
        doc.data = _convert(loader, node, "", doc, problems)
    except _Refused as exc:
        return None, [Problem(source, exc.line, "", exc.message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return None, [Problem(source, line, "", f"invalid YAML: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(source, 1, "", f"invalid YAML: {exc}")]
    except RecursionError:  # not expected below MAX_YAML_DEPTH; a Problem all the same, never a traceback
        line = loader.get_mark().line + 1
        return None, [Problem(source, line, "", "nested too deeply for the YAML reader")]
    finally:
        loader.dispose()
    if problems:
        return None, problems
    return doc, []


def surprise(node: ScalarNode) -> str | None:
    """Say why a plain scalar means something else than it reads in YAML 1.1, or None."""
    if node.style is not None:  # quoted or block text: exactly what it says
        return None
    value = node.value
    if value in _YAML11_BOOLS:
        return (
            f"`{value}` is a boolean in YAML 1.1 but text in YAML 1.2: write true or false, "
            f"or quote it ('{value}') if you mean the text"
        )
    if node.tag == _MERGE_TAG:
        return "YAML merge keys (<<) are not allowed: write the keys out"
    if ":" in value and node.tag in (_INT_TAG, _FLOAT_TAG):
        return (
            f"`{value}` is read by YAML 1.1 as a sexagesimal (base-60) number: "
            f"quote it ('{value}') if you mean the text, or write the number in decimal"
        )
    if node.tag == _INT_TAG and not _DECIMAL_RE.fullmatch(value):
        kind = "an octal" if re.fullmatch(r"[-+]?0[0-7_]+", value) else "a non-decimal"
        return (
            f"`{value}` is read by YAML 1.1 as {kind} number: quote it ('{value}') if you mean the text, "
            "or write the number in plain decimal without leading zeros"
        )
    return None


def _convert(loader: yaml.SafeLoader, node: Node, path: str, doc: Located, problems: list[Problem]) -> object:
    if isinstance(node, ScalarNode):
        line = node.start_mark.line + 1
        if (message := surprise(node)) is not None:
            problems.append(Problem(doc.source, line, path, message))
            return None
        value = loader.construct_object(node, deep=True)
        if isinstance(value, str) and (message := text_problem(value)) is not None:
            problems.append(Problem(doc.source, line, path, message))
            return None
        return value
    if isinstance(node, SequenceNode):
        items = []
        for index, child in enumerate(node.value):
            child_path = join(path, index)
            doc.lines[child_path] = child.start_mark.line + 1
            items.append(_convert(loader, child, child_path, doc, problems))
        return items
    if isinstance(node, MappingNode):
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            known = len(problems)
            key = _convert(loader, key_node, path, doc, problems)
            if len(problems) > known:  # the key itself was refused, and reported
                continue
            if not isinstance(key, str):
                problems.append(Problem(doc.source, line, path, f"key {key!r} is not a string"))
                continue
            child_path = join(path, key)
            if key in result:
                first = doc.lines.get(child_path, line)
                msg = f"duplicate key {key!r} (first given on line {first})"
                problems.append(Problem(doc.source, line, child_path, msg))
                continue
            doc.lines[child_path] = line
            result[key] = _convert(loader, value_node, child_path, doc, problems)
        return result
    raise yaml.YAMLError(f"unsupported YAML node {node!r}")  # pragma: no cover
