"""One place commits: `licensing/services/transactions.py` opens, commits and rolls back;
every other module goes through its `commit()`, `unit_of_work()`, `flush()` or `rollback()`."""

from __future__ import annotations

import ast
from pathlib import Path

import licensing

PACKAGE = Path(licensing.__file__).parent
THE_COMMIT_PATH = "services/transactions.py"
# Ending a transaction, or opening one that commits at its end (`with session.begin():`);
# a savepoint (`begin_nested`) is not one: the transaction around it still commits here.
ENDS_A_TRANSACTION = frozenset({"commit", "rollback", "begin"})


def transaction_ends(tree: ast.AST) -> list[tuple[int, str]]:
    """Each `<something>.commit`, `.rollback` or `.begin`, called or passed on, but not the
    helpers themselves reached through the module (`transactions.commit()`)."""
    return sorted(
        (node.lineno, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ENDS_A_TRANSACTION
        and not (isinstance(node.value, ast.Name) and node.value.id == "transactions")
    )


def test_only_the_transactions_module_commits_or_rolls_back() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line} .{attribute}()"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() != THE_COMMIT_PATH
        for line, attribute in transaction_ends(ast.parse(path.read_text(), filename=str(path)))
    ]
    assert not offenders, "go through services/transactions.py: " + ", ".join(offenders)


def test_the_transactions_module_is_where_the_scan_expects_it() -> None:
    tree = ast.parse((PACKAGE / THE_COMMIT_PATH).read_text())
    assert {attribute for _, attribute in transaction_ends(tree)} >= {"commit", "rollback"}


def test_the_scan_catches_what_it_looks_for() -> None:
    tree = ast.parse(
        "db.session.commit()\n"
        "session.rollback()\n"
        "_guarded(db.session.commit)\n"
        "with db.session.begin():\n    pass\n"
        "with db.session.begin_nested():\n    pass\n"
        "commit()\n"
        "transactions.commit()\n"
        "transactions.rollback()\n"
    )
    assert transaction_ends(tree) == [(1, "commit"), (2, "rollback"), (3, "commit"), (4, "begin")]
