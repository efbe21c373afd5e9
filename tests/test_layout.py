"""The package's layout holds the redesign's limits: small modules and classes, no import
circle, no module reaching into another's private names."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "arraynet"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES, MAX_CLASS_LINES = 450, 250
PUBLIC_UNDERSCORE = {"_replace", "_asdict", "_fields", "_make"}  # namedtuple's own API


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The arraynet modules ``path`` imports, at any depth of its code."""
    here, found = _name(path), set()
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("arraynet")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("arraynet"):
                module = node.module
            else:
                continue
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    known = {_name(p) for p in MODULES}
    return {m for m in found if m in known and m != here}


def _cycle(graph: dict) -> list | None:
    """A circle of imports in ``graph`` (module -> modules), or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def _parent_packages(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:k]) for k in range(1, len(parts))}


def test_no_import_circle():
    # a package's __init__ importing its own modules is how a package exports: not a circle
    graph = {_name(p): _imports(p) - _parent_packages(_name(p)) for p in MODULES}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_circle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_and_classes_are_small(path):
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno - node.lineno + 1 <= MAX_CLASS_LINES, node.name


def private_reaches(source: str) -> list[str]:
    """Attributes with one leading underscore read or set on anything but self or cls."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__") or name in PUBLIC_UNDERSCORE:
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "super":
            continue
        found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_touches_private_names(path):
    assert private_reaches(path.read_text()) == []


def test_the_private_name_check_catches_one():
    assert private_reaches("model._params = 1\nself._ok = 2\nx = a.b._c") == [
        "model._params (line 1)",
        "a.b._c (line 3)",
    ]
