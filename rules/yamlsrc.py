"""Read YAML strictly and remember the line of every field.

PyYAML silently keeps the last of duplicate keys and forgets where values came from; policy
files need both caught and reported, so documents are composed into nodes and converted here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.errors import Problem


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


def parse(text: str, source: str) -> tuple[Located | None, list[Problem]]:
    """Parse one YAML document; return it with its lines, or None and the problems."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(source, 1, "", "the file is empty")]
        doc = Located(None, source, {"": node.start_mark.line + 1})
        problems: list[Problem] = []
        doc.data = _convert(loader, node, "", doc, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return None, [Problem(source, line, "", f"invalid YAML: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(source, 1, "", f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    if problems:
        return None, problems
    return doc, []


def _convert(loader: yaml.SafeLoader, node: Node, path: str, doc: Located, problems: list[Problem]) -> object:
    if isinstance(node, ScalarNode):
        return loader.construct_object(node, deep=True)
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
            key = _convert(loader, key_node, path, doc, problems)
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
