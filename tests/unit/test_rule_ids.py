"""docs/rules.md defines every rule id the repository cites, and each built rule has its test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "rules.md"
CITING_DIRS = ("licensing", "tests", "migrations", "scripts")
CITING_FILES = ("README.md", "docs/api.md")
NOT_YET_BUILT = "*(not yet built)*"

# An id on its own: R or D, then 1 to 99 without a leading zero. The look-arounds keep out
# ids inside longer words or hex strings (`#D4D4D4`, `0xD3`, `ND40`), while `D2/D8`,
# `R4-R13` and `(D16)` still count; lower-case ids belong to test names, found separately.
CITED_ID = re.compile(r"(?<![\w$])[RD][1-9][0-9]?(?![\w$])")
TEST_NAMED_AFTER = re.compile(r"^\s*(?:async\s+)?def\s+test_([rd][1-9][0-9]?)_", re.MULTILINE)
RULE_ENTRY = re.compile(r"^- \*\*([RD][1-9][0-9]?)\*\*(.*)$", re.MULTILINE)


def _id_order(rule_id: str) -> tuple[str, int]:
    return rule_id[0], int(rule_id[1:])


def _text_files() -> Iterator[Path]:
    for name in CITING_DIRS:
        for path in sorted((ROOT / name).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path
    for name in CITING_FILES:
        if (ROOT / name).is_file():
            yield ROOT / name


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # a binary file (an image, a compiled file) cites nothing
        return None


def _citations() -> dict[str, list[str]]:
    """Each cited id, with the places (`path:line`) that cite it."""
    found: dict[str, list[str]] = {}
    for path in _text_files():
        text = _read(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            ids = CITED_ID.findall(line)
            ids += [name.upper() for name in TEST_NAMED_AFTER.findall(line)]
            for rule_id in ids:
                found.setdefault(rule_id, []).append(f"{path.relative_to(ROOT)}:{number}")
    return found


def _entries() -> list[tuple[str, bool]]:
    """docs/rules.md's entries in order: (id, built), built unless marked not yet built."""
    text = RULES.read_text(encoding="utf-8")
    return [
        (rule_id, not rest.strip().startswith(NOT_YET_BUILT))
        for rule_id, rest in RULE_ENTRY.findall(text)
    ]


def _ids_with_tests() -> set[str]:
    named: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        named.update(name.upper() for name in TEST_NAMED_AFTER.findall(path.read_text("utf-8")))
    return named


def test_docs_rules_has_exactly_one_entry_per_rule_id() -> None:
    ids = [rule_id for rule_id, _ in _entries()]
    assert ids, "docs/rules.md has no entries of the form `- **D4** ...`"
    repeated = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1}, key=_id_order)
    assert not repeated, f"docs/rules.md has more than one entry for {', '.join(repeated)}"


def test_every_cited_rule_id_is_in_docs_rules() -> None:
    documented = {rule_id for rule_id, _ in _entries()}
    citations = _citations()
    missing = sorted(set(citations) - documented, key=_id_order)
    assert not missing, "rule ids cited but not defined in docs/rules.md:\n" + "\n".join(
        f"  {rule_id} (cited at {', '.join(citations[rule_id][:3])})" for rule_id in missing
    )


def test_every_built_rule_has_a_test_named_after_it() -> None:
    tested = _ids_with_tests()
    untested = sorted(
        (rule_id for rule_id, built in _entries() if built and rule_id not in tested),
        key=_id_order,
    )
    assert not untested, (
        "rules in docs/rules.md without the *(not yet built)* marker but with no test named "
        "after them (def test_<id>_...): " + ", ".join(untested)
    )
