"""No blueprint imports another: what blueprints share (the payment gateway, field validators,
signed links) lives in a module of `licensing/api/` that is not a blueprint, and only
`licensing/api/__init__.py` gathers the blueprints to register them."""

from __future__ import annotations

import ast
from pathlib import Path

import licensing

PACKAGE = Path(licensing.__file__).parent
API = PACKAGE / "api"
REGISTRY = API / "__init__.py"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def defines_a_blueprint(tree: ast.Module) -> bool:
    """A module-level `name = Blueprint(...)` (flask-smorest's or Flask's, however named)."""
    return any(
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id.endswith("Blueprint")
        for node in tree.body
    )


def package_of(path: Path) -> str:
    """The package a module's relative imports start from."""
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def imported_modules(tree: ast.AST, package: str) -> set[str]:
    """Every module the tree imports, names of `from package import name` included (a name
    may be a module), relative imports resolved against `package`."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, (base, node.module or "")))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def blueprint_modules() -> set[str]:
    return {module_name(path) for path in API.rglob("*.py") if defines_a_blueprint(parsed(path))}


def test_the_api_has_blueprints_to_check() -> None:
    assert {"licensing.api.checkout", "licensing.api.paid_work"} <= blueprint_modules()
    assert "licensing.api.fields" not in blueprint_modules()


def test_no_module_but_the_registry_imports_a_blueprint_module() -> None:
    blueprints = blueprint_modules()
    offenders = {
        module_name(path): sorted(
            (imported_modules(parsed(path), package_of(path)) & blueprints) - {module_name(path)}
        )
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != REGISTRY
    }
    assert {module: imports for module, imports in offenders.items() if imports} == {}


def test_the_scan_sees_every_form_of_import() -> None:
    tree = ast.parse(
        "from licensing.api.checkout import payment_gateway\n"
        "from licensing.api import licenses\n"
        "import licensing.api.reports\n"
        "from .catalog import VERSION\n"
        "from . import notices\n"
    )
    assert {
        "licensing.api.checkout",
        "licensing.api.licenses",
        "licensing.api.reports",
        "licensing.api.catalog",
        "licensing.api.notices",
    } <= imported_modules(tree, "licensing.api")
    assert defines_a_blueprint(ast.parse('pages = FlaskBlueprint("pages", __name__)'))
