"""Views show read models: services return frozen dataclasses for what is shown, and a view
hands them to its schema as they are. Nothing in `licensing/api/` sets an attribute on a row
(or on anything else a service gave it), and no blueprint builds an answer as a dict."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import licensing

API = Path(licensing.__file__).parent / "api"

# The attribute assignments `api/` has that decorate no row, each with its reason; `None`
# allows any attribute of that name.
NOT_A_ROW = {
    ("g", None): "Flask's per-request globals",
    ("self", None): "an api object's own state (the rate limiter)",
    ("func", "_required_scopes"): "a view marked with the scopes it requires",
    ("func", "_confirms_key"): "a view whose statement confirms a remembered API key",
    ("func", "_apidoc"): "a view's notes for the OpenAPI document (flask-smorest)",
    ("wrapper", "_apidoc"): "a view's notes for the OpenAPI document (flask-smorest)",
    ("error", "data"): "werkzeug's error carrying the problem's members",
    ("response", "status_code"): "the status of a lean_response, set as flask-smorest sets it",
    ("post", "__doc__"): "a quote lifecycle view, made once per step",
    ("app", "session_interface"): "the pages' cookie session, wired once (D24)",
    ("session", "permanent"): "a signed-in session's cookie lifetime (D24)",
}
# Functions of blueprint modules that return a dict on purpose: no answer of the API.
NOT_AN_ANSWER = {
    ("reports.py", "_month"): "a query parameter's documentation",
}


def _targets(node: ast.AST) -> Iterator[ast.expr]:
    if isinstance(node, ast.Assign):
        pending = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        pending = [node.target]
    else:
        return
    while pending:
        target = pending.pop()
        if isinstance(target, ast.Tuple | ast.List):
            pending.extend(target.elts)
        elif isinstance(target, ast.Starred):
            pending.append(target.value)
        else:
            yield target


def attribute_assignments(tree: ast.AST) -> list[tuple[int, str]]:
    """Each `x.name = ...` (also in tuples and augmented), `setattr(...)`,
    `x.__setattr__(...)` and `x.__dict__[...] = ...` not in NOT_A_ROW."""
    found = []
    for node in ast.walk(tree):
        for target in _targets(node):
            if isinstance(target, ast.Attribute):
                owner = ast.unparse(target.value)
                if (owner, None) not in NOT_A_ROW and (owner, target.attr) not in NOT_A_ROW:
                    found.append((node.lineno, ast.unparse(target)))
            elif isinstance(target, ast.Subscript) and ast.unparse(target.value).endswith(
                "__dict__"
            ):
                found.append((node.lineno, ast.unparse(target)))
        if isinstance(node, ast.Call):
            called = node.func
            if (isinstance(called, ast.Name) and called.id == "setattr") or (
                isinstance(called, ast.Attribute) and called.attr == "__setattr__"
            ):
                found.append((node.lineno, ast.unparse(called)))
    return sorted(found)


def _builds_a_dict(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict | ast.DictComp):
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in {"dict", "vars"}
    )


def dict_answers(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """Each function returning a dict it builds (a display, a comprehension, `dict()` or
    `vars()`), and each `vars()` at all: the way a row or a read model is reshaped by hand."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef) or (module, function.name) in NOT_AN_ANSWER:
            continue
        found += [
            (node.lineno, function.name)
            for node in ast.walk(function)
            if isinstance(node, ast.Return) and _builds_a_dict(node.value)
        ]
    found += [
        (node.lineno, "vars()")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "vars"
    ]
    return sorted(set(found))


def _is_blueprint_module(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) == "Blueprint"
        for node in tree.body
    )


def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def test_nothing_in_api_sets_an_attribute_on_what_it_shows() -> None:
    offenders = [
        f"api/{path.name}:{line} {target}"
        for path in sorted(API.rglob("*.py"))
        for line, target in attribute_assignments(_parsed(path))
    ]
    assert not offenders, "return a read model from the service instead: " + ", ".join(offenders)


def test_no_blueprint_builds_its_answer_as_a_dict() -> None:
    modules = {path.name: _parsed(path) for path in sorted(API.rglob("*.py"))}
    blueprints = {name: tree for name, tree in modules.items() if _is_blueprint_module(tree)}
    assert {"checkout.py", "licenses.py", "helpdesk.py", "paid_work.py"} <= blueprints.keys()
    offenders = [
        f"api/{name}:{line} {what}"
        for name, tree in blueprints.items()
        for line, what in dict_answers(tree, name)
    ]
    assert not offenders, "dump a service's read model instead: " + ", ".join(offenders)


def test_the_scans_catch_what_they_look_for() -> None:
    tree = ast.parse(
        "quote.shown_status = 'expired'\n"
        "license.a, (order.b, _) = 1, (2, 3)\n"
        "row.count += 1\n"
        "setattr(license, 'newest', None)\n"
        "row.__dict__['x'] = 1\n"
        "g.principal = None\n"
        "func._apidoc = {}\n"
        "func._other = 1\n"
        "answer['status'] = 'ok'\n"
    )
    assert attribute_assignments(tree) == [
        (1, "quote.shown_status"),
        (2, "license.a"),
        (2, "order.b"),
        (3, "row.count"),
        (4, "setattr"),
        (5, "row.__dict__['x']"),
        (8, "func._other"),
    ]
    tree = ast.parse(
        "def get(self):\n    return {'allowed': True}\n"
        "def _rows(report):\n    return [{**vars(r)} for r in report.rows]\n"
        "def _month(report):\n    return {'bars': []}\n"
        "def _totals(report):\n    return dict(count=1)\n"
        "def show(key):\n    return services.show(key)\n"
    )
    assert dict_answers(tree, "reports.py") == [(2, "get"), (4, "vars()"), (8, "_totals")]
