"""The department desk's English catalog (admin_ui/translations_desk) is fresh and agrees with
the main one: every message of admin_ui/desk and templates/desk is in it, translated and
compiled; nothing stale; and a message both catalogs hold reads the same in both, since
Flask-Babel merges them (the desk's last) and must not change another page's words.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
DESK = ROOT / "admin_ui" / "translations_desk" / "en" / "LC_MESSAGES"
MAIN = ROOT / "admin_ui" / "translations" / "en" / "LC_MESSAGES"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _extracted(config: str) -> set[str]:
    with (ROOT / "admin_ui" / config).open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map, KEYWORDS):
        found.add(_text(message))
    return found


def _text(value: object) -> str:
    """A message's id or string; a plural one as its forms joined (a .po holds tuples, a .mo lists)."""
    return value if isinstance(value, str) else " | ".join(str(v) for v in value)  # type: ignore[attr-defined]


def _catalog(folder: Path) -> dict[str, str]:
    with (folder / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    return {_text(m.id): _text(m.string) for m in catalog if m.id}


def test_every_desk_message_is_in_its_catalog_and_nothing_stale() -> None:
    extracted, catalog = _extracted("babel_desk.cfg"), set(_catalog(DESK))
    assert extracted, "no messages extracted: is admin_ui/babel_desk.cfg right?"
    assert not extracted - catalog, f"run `make i18n`: not in the catalog: {sorted(extracted - catalog)}"
    assert not catalog - extracted, f"run `make i18n`: no longer used: {sorted(catalog - extracted)}"


def test_the_main_catalog_leaves_the_desk_to_its_own() -> None:
    main, desk = _extracted("babel.cfg"), _extracted("babel_desk.cfg")
    only_desk = {m for m in desk if m not in main}
    assert only_desk, "admin_ui/babel.cfg extracts the desk's files too: it needs its [ignore: ...] lines"
    sources = {str(f) for f, *_rest in extract_from_dir(ROOT, *_mapping("babel.cfg"), KEYWORDS)}
    assert not [s for s in sources if "/desk/" in s or s.startswith("desk/")], sources


def _mapping(config: str) -> tuple[object, object]:
    with (ROOT / "admin_ui" / config).open(encoding="utf-8") as fh:
        return parse_mapping_cfg(fh)  # type: ignore[return-value]


def test_every_desk_message_is_translated_with_the_same_placeholders() -> None:
    with (DESK / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries in the desk's catalog"
    untranslated = [m.id for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
    assert not untranslated, f"untranslated: {untranslated}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems
    strings = [s for m in catalog if m.id for s in (m.string if isinstance(m.string, tuple) else [m.string])]
    assert not [s for s in strings if any("\uac00" <= ch <= "\ud7a3" for ch in s)], "Korean left in English strings"


def test_a_message_in_both_catalogs_reads_the_same() -> None:
    main, desk = _catalog(MAIN), _catalog(DESK)
    differ = {k: (main[k], desk[k]) for k in set(main) & set(desk) if main[k] != desk[k]}
    assert not differ, f"the desk's catalog would change the main one's words: {differ}"


def test_the_compiled_desk_catalog_matches_the_po() -> None:
    with (DESK / "messages.mo").open("rb") as fh:
        compiled = {_text(m.id): _text(m.string) for m in read_mo(fh) if m.id}
    assert compiled == _catalog(DESK), "run `make i18n`: messages.mo is older than messages.po"
