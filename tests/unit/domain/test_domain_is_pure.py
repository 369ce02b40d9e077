"""The domain layer imports no framework, database or payment library and never reads the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import licensing.domain

DOMAIN_DIR = Path(licensing.domain.__file__).parent
FORBIDDEN = frozenset({"flask", "sqlalchemy", "stripe", "marshmallow", "werkzeug", "psycopg"})
CLOCK_READS = frozenset({"now", "utcnow"})


def domain_modules() -> list[Path]:
    return sorted(DOMAIN_DIR.rglob("*.py"))


def imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def is_forbidden(root: str) -> bool:
    return root in FORBIDDEN or root.startswith(("flask_", "psycopg"))


def test_domain_package_has_modules_to_check() -> None:
    names = {path.name for path in domain_modules()}
    assert {"errors.py", "money.py", "periods.py", "domains.py", "license_keys.py"} <= names


def test_domain_imports_no_framework_database_or_payment_library() -> None:
    offenders: dict[str, list[str]] = {}
    for path in domain_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if forbidden := sorted(filter(is_forbidden, imported_roots(tree))):
            offenders[str(path.relative_to(DOMAIN_DIR))] = forbidden
    assert offenders == {}


def test_domain_never_reads_the_clock() -> None:
    offenders = [
        f"{path.relative_to(DOMAIN_DIR)}:{node.lineno}"
        for path in domain_modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if isinstance(node, ast.Attribute) and node.attr in CLOCK_READS
    ]
    assert offenders == []


def test_purity_checks_catch_what_they_look_for() -> None:
    tree = ast.parse("import flask_smorest\nfrom sqlalchemy.orm import Session\nx = dt.now()")
    assert sorted(filter(is_forbidden, imported_roots(tree))) == ["flask_smorest", "sqlalchemy"]
    assert any(isinstance(n, ast.Attribute) and n.attr in CLOCK_READS for n in ast.walk(tree))


def test_only_the_payment_adapter_imports_stripe() -> None:
    """STYLE: StripeGateway is the one place that talks to Stripe."""
    package = DOMAIN_DIR.parent
    importers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "stripe" in imported_roots(ast.parse(path.read_text(), filename=str(path)))
    }
    assert importers == {"adapters/payments.py"}
