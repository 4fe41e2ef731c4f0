"""Load rule sets from YAML files and text: all-or-nothing, every problem reported at once.

A file names its rule set (`ruleset:`) and may extend another by name (`extends:`): the child
inherits the base's parameters and rules, may override parameter values within the base's
bounds, and may add parameters and rules, never redefine a rule. Bases are resolved by name
within the loaded set (then in a fallback library); cycles and unknown bases are errors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from rules.errors import Problem, RuleSetError, UnknownRuleSetError
from rules.model import RuleSet
from rules.schema import Header, check_body, read_header
from rules.yamlsrc import parse


def _read_file(path: Path, problems: list[Problem]) -> Header | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), 0, "", f"cannot read the file: {exc}"))
        return None
    doc, found = parse(text, str(path))
    problems.extend(found)
    return read_header(doc, problems) if doc is not None else None


def _resolve(
    raws: Mapping[str, Header],
    wanted: Iterable[str],
    external: Callable[[str], RuleSet | None],
    problems: list[Problem],
) -> dict[str, RuleSet]:
    """Resolve `wanted` rule sets (and their bases) in dependency order."""
    done: dict[str, RuleSet | None] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> RuleSet | None:
        if name in done:
            return done[name]
        raw = raws[name]
        base: RuleSet | None = None
        if raw.extends is not None:
            where = Problem(raw.doc.source, raw.doc.line("extends"), "extends", "")
            if raw.extends in (*chain, name):
                loop = chain[chain.index(raw.extends) :] if raw.extends in chain else ()
                cycle = " → ".join((*loop, name, raw.extends))
                problems.append(dataclasses.replace(where, message=f"extends cycle: {cycle}"))
            elif raw.extends in raws:
                base = resolve(raw.extends, (*chain, name))
                if base is None:
                    msg = f"base rule set {raw.extends!r} is invalid (see its problems)"
                    problems.append(dataclasses.replace(where, message=msg))
            else:
                base = external(raw.extends)
                if base is None:
                    known = ", ".join(sorted(raws)) or "none"
                    msg = f"unknown base rule set {raw.extends!r} (known: {known})"
                    problems.append(dataclasses.replace(where, message=msg))
            if base is None:
                done[name] = None
                return None
        done[name] = check_body(raw, base, problems)
        return done[name]

    for name in wanted:
        resolve(name, ())
    return {n: rs for n, rs in done.items() if rs is not None}


def _yaml_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def _index(files: Iterable[Path], problems: list[Problem]) -> dict[str, Header]:
    raws: dict[str, Header] = {}
    for path in files:
        raw = _read_file(path, problems)
        if raw is None:
            continue
        if raw.name in raws:
            first = raws[raw.name].doc
            problems.append(
                Problem(
                    raw.doc.source,
                    raw.doc.line("ruleset"),
                    "ruleset",
                    f"rule set {raw.name!r} is already defined in {first.source}:{first.line('ruleset')}",
                )
            )
            continue
        raws[raw.name] = raw
    return raws


class Library:
    """Resolved rule sets by name, loaded all-or-nothing from a directory of YAML files."""

    def __init__(self, rulesets: Mapping[str, RuleSet]) -> None:
        self._rulesets = dict(rulesets)

    @classmethod
    def from_directory(cls, path: str | Path, *, fallback: Library | None = None) -> Library:
        """Load every *.yaml/*.yml under `path`; raise RuleSetError listing every problem.

        `extends` names are looked up in the directory first, then in `fallback`.
        """
        return cls.from_paths([Path(path)], fallback=fallback)

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path], *, fallback: Library | None = None) -> Library:
        """Load the given files and directories as one set (see from_directory)."""
        problems: list[Problem] = []
        files = _collect_files(paths, problems)
        raws = _index(files, problems)
        external = fallback._rulesets.get if fallback else (lambda _name: None)
        resolved = _resolve(raws, raws, external, problems)
        if problems:
            raise RuleSetError(problems)
        return cls(resolved)

    def get(self, name: str) -> RuleSet:
        """Return the rule set named `name`; raise UnknownRuleSetError otherwise."""
        try:
            return self._rulesets[name]
        except KeyError:
            raise UnknownRuleSetError(name, self._rulesets) from None

    def names(self) -> list[str]:
        return sorted(self._rulesets)

    def __contains__(self, name: object) -> bool:
        return name in self._rulesets

    def __iter__(self) -> Iterator[RuleSet]:
        return iter(self._rulesets[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._rulesets)


def _collect_files(paths: Iterable[str | Path], problems: list[Problem]) -> list[Path]:
    """The YAML files of the given files and directories; a missing path is a problem."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            problems.append(Problem(str(path), 0, "", "no such file or directory"))
        else:
            files.extend(_yaml_files(path))
    return files


def load_paths_with_fallback(
    paths: Iterable[str | Path], fallback_dir: str | Path | None
) -> tuple[dict[str, RuleSet], list[Problem]]:
    """Resolve the rule sets of `paths`, taking missing bases from `fallback_dir`'s files.

    Returns the resolved rule sets of the given files and every problem (never raises), for
    the `rules test` runner. Problems in fallback files only show when a base is needed.
    """
    problems: list[Problem] = []
    files = _collect_files(paths, problems)
    raws = _index(files, problems)
    given = list(raws)
    if fallback_dir is not None and Path(fallback_dir).is_dir():
        seen = {p.resolve() for p in files}
        extra = [p for p in _yaml_files(Path(fallback_dir)) if p.resolve() not in seen]
        ignored: list[Problem] = []
        for name, raw in _index(extra, ignored).items():
            raws.setdefault(name, raw)
    resolved = _resolve(raws, given, lambda _name: None, problems)
    return {n: resolved[n] for n in given if n in resolved}, problems


def load_text(text: str, source: str = "<db>", library: Library | None = None) -> RuleSet:
    """Load one rule set from YAML text (e.g. a stored version); bases come from `library`."""
    problems: list[Problem] = []
    doc, found = parse(text, source)
    problems.extend(found)
    raw = read_header(doc, problems) if doc is not None else None
    if raw is None:
        raise RuleSetError(problems)
    external = library._rulesets.get if library else (lambda _name: None)
    resolved = _resolve({raw.name: raw}, [raw.name], external, problems)
    if problems or raw.name not in resolved:
        raise RuleSetError(problems)
    return resolved[raw.name]


def load_file(path: str | Path, library: Library | None = None) -> RuleSet:
    """Load one rule-set file; bases come from `library`."""
    text_path = Path(path)
    try:
        text = text_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleSetError([Problem(str(path), 0, "", f"cannot read the file: {exc}")]) from exc
    return load_text(text, str(path), library)
