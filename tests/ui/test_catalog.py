"""The English catalog is fresh: every message of the admin UI is in it, translated, and compiled.

``make i18n`` re-extracts, merges and compiles; this test fails when someone adds or changes a
Korean string without doing so, or edits the .po without compiling the .mo that is served.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "admin_ui" / "translations" / "en" / "LC_MESSAGES"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _extracted() -> set[str]:
    with (ROOT / "admin_ui" / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map, KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _po() -> dict[str, str]:
    with (CATALOG / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries in the English catalog"
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_every_message_is_in_the_catalog_and_nothing_stale() -> None:
    extracted, catalog = _extracted(), set(_po())
    assert extracted, "no messages extracted: is admin_ui/babel.cfg right?"
    assert not extracted - catalog, f"run `make i18n`: not in the catalog: {sorted(extracted - catalog)}"
    assert not catalog - extracted, f"run `make i18n`: no longer used: {sorted(catalog - extracted)}"


def test_every_message_has_an_english_translation_with_the_same_placeholders() -> None:
    with (CATALOG / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert not untranslated, f"untranslated: {untranslated}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems
    hangul = [m.id for m in catalog if m.id and any("\uac00" <= ch <= "\ud7a3" for ch in str(m.string))]
    assert not hangul, f"Korean left in English strings: {hangul}"


def test_the_compiled_catalog_matches_the_po() -> None:
    with (CATALOG / "messages.mo").open("rb") as fh:
        compiled = {str(m.id): str(m.string) for m in read_mo(fh) if m.id}
    assert compiled == _po(), "run `make i18n`: messages.mo is older than messages.po"
