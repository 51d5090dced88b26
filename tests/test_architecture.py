"""The house's dependency order (docs/architecture.md), checked on the code itself.

Every module of the project is read (not imported) and each of its imports is placed on a
layer. An app may import from apps on lower layers only; apps on the same layer never import
each other; nothing imports another app's private names (a module or name starting with `_`);
the kernel (`core`) imports no app at all. A new app must be given its layer here, or this
test fails and says so.
"""
import ast
from pathlib import Path

import dangjian

ROOT = Path(dangjian.__file__).resolve().parent

# Lower first. The project modules at the top (urls, the API router, the home page) may use
# every app; settings and its helpers stand apart below everything.
LAYERS: list[set[str]] = [
    {"env", "keys"},
    {"settings", "gunicorn_conf"},
    {"core"},
    {"orgs"},
    {"members"},
    {"accounts"},
    {"activities"},
    {"rectification"},
    {"assessment"},
    {"reviews", "ratings", "duties", "feedback", "inspections", "dues", "development", "transfers"},
    {"commendations"},
    {"exchange"},
    {"demo"},
    {"api", "views", "wsgi", "manage"},
    {"urls"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str | None:
    """`dangjian.orgs.models` → "orgs"; None for anything outside the project."""
    parts = module.split(".")
    return parts[1] if parts[0] == "dangjian" and len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) for every import in the file."""
    rel = path.relative_to(ROOT.parent).with_suffix("")
    package = list(rel.parts[:-1])  # the package a relative import starts from
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module, [a.name for a in node.names]))
    return out


def _sources():
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(ROOT)
        yield path, rel.parts[0].removesuffix(".py")


def test_every_part_of_the_project_has_a_layer():
    unknown = sorted({unit for _, unit in _sources() if unit not in LAYER and unit != "__init__"})
    assert not unknown, f"give these a layer in tests/test_architecture.py (and docs/architecture.md): {unknown}"


def test_imports_follow_the_dependency_order():
    problems = []
    for path, unit in _sources():
        if unit == "__init__":
            continue
        for line, module, names in _imports(path):
            target = _unit(module)
            if target is None or target == unit:
                continue
            where = f"{path.relative_to(ROOT.parent)}:{line} imports {module}"
            if LAYER.get(target, -1) >= LAYER[unit]:
                problems.append(f"{where}: {target} is not below {unit}")
            private = [n for n in [*module.split(".")[2:], *names] if n.startswith("_") and not n.startswith("__")]
            if private:
                problems.append(f"{where}: private {', '.join(private)} of another app")
    assert not problems, "\n".join(problems)


def test_the_kernel_imports_no_app():
    for path, unit in _sources():
        if unit != "core":
            continue
        for line, module, _ in _imports(path):
            target = _unit(module)
            assert target in (None, "core"), f"{path.relative_to(ROOT.parent)}:{line} imports {module}"


def test_the_walk_sees_imports():
    """Guards the walk: if it stopped reading imports, the order test would pass on anything."""
    found = {module for path, unit in _sources() if unit == "members" for _, module, _ in _imports(path)}
    assert "dangjian.orgs.models" in found and "dangjian.core.scoping" in found
