"""The layers of docs/architecture.md, enforced: who may import whom, and no module state.

Both checks read the source (AST) of every module of ``actions``, ``bot`` and ``propensity``;
the state check also imports each module in a fresh interpreter and inspects the values its
top-level assignments made.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from bot.settings import REPO_ROOT

PACKAGES = ("actions", "bot", "propensity")
# (importer prefix, forbidden import prefixes): docs/architecture.md, "What may import what".
FORBIDDEN = (
    ("propensity", ("bot.support", "bot.web", "bot.needs", "bot.services", "actions")),
    ("bot", ("actions",)),
    ("bot.needs", ("bot.support", "bot.web", "bot.services")),
    ("bot.store", ("bot.support", "bot.web", "bot.services", "bot.needs")),
    ("bot.support", ("bot.web",)),
    ("bot.privacy", ("bot.support", "bot.web")),
    ("bot.mail", ("bot.support", "bot.web", "bot.services", "bot.needs", "bot.privacy")),
    ("bot.logs", ("bot.support", "bot.web", "bot.services", "bot.needs", "bot.store")),
    ("bot.csvsafe", ("bot.support", "bot.web", "bot.services", "bot.needs", "bot.store")),
    ("bot.staff", ("bot.support", "bot.web", "bot.needs", "bot.privacy")),
    ("bot.nlu", ("bot.support", "bot.web", "bot.services", "bot.store", "bot.needs")),
    ("bot.console", ("bot.support", "bot.web", "bot.privacy", "bot.needs.service",
                     "bot.needs.pipeline")),
    ("bot.insights", ("bot.support", "bot.web", "bot.needs", "bot.privacy", "bot.console")),
)


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic scripts: run by Alembic, not imported
                continue
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


def imported_names(tree: ast.AST, module: str) -> set[str]:
    """Every module an ``import`` anywhere in the file names (also inside functions)."""
    names: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_layers_import_only_what_they_may():
    broken = []
    for module, path in modules():
        tree = ast.parse(path.read_text(), str(path))
        for importer, forbidden in FORBIDDEN:
            if not _within(module, importer):
                continue
            for name in imported_names(tree, module):
                if any(_within(name, f) for f in forbidden):
                    broken.append(f"{module} imports {name}")
    assert broken == []


def test_the_import_check_sees_imports_inside_functions():
    tree = ast.parse("def f():\n    from bot.support import orders\n")
    assert "bot.support.orders" in imported_names(tree, "propensity.x")


# --- no mutable module-level state ------------------------------------------------------------

# Run in a fresh interpreter: import every module, then describe every value its top-level
# assignments made. A value is acceptable when it cannot change: plain immutable data, compiled
# patterns, read-only mappings, frozen dataclasses, classes and functions, loggers (process-wide
# by design), SQLAlchemy schema objects (declarations, not state).
PROBE = r"""
import ast, dataclasses, datetime, enum, importlib, json, logging, re, sys, types
from decimal import Decimal
from pathlib import PurePath

IMMUTABLE = (str, bytes, int, float, complex, bool, type(None), frozenset, range, re.Pattern,
             types.MappingProxyType, PurePath, Decimal, enum.Enum, logging.Logger, type,
             types.FunctionType, types.BuiltinFunctionType, types.ModuleType, datetime.date,
             datetime.time, datetime.timedelta)

def ok(value):
    if isinstance(value, (tuple, frozenset)):
        return all(ok(v) for v in value)
    if isinstance(value, types.MappingProxyType):
        return all(ok(k) and ok(v) for k, v in value.items())
    if isinstance(value, IMMUTABLE) or callable(value) and not hasattr(value, "__dict__"):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        params = getattr(type(value), "__dataclass_params__", None)
        return bool(params and params.frozen)
    kind = type(value).__module__ or ""
    if kind.startswith("sqlalchemy.sql") or kind.startswith("sqlalchemy.orm.decl"):
        return True
    if kind.startswith("typing") or type(value).__name__ in ("TypeVar", "_GenericAlias"):
        return True
    if hasattr(value, "cache_info") and hasattr(value, "__wrapped__"):
        return True  # functools.lru_cache: a pure function of packaged files (see the docs)
    return False

def assigned(path):
    names = []
    for node in ast.parse(open(path).read()).body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            names += [sub.id for sub in ast.walk(target) if isinstance(sub, ast.Name)]
    return names

report = {}
for name, path in json.load(sys.stdin):
    module = importlib.import_module(name)
    bad = {n: type(getattr(module, n)).__name__ for n in assigned(path)
           if n != "__all__" and hasattr(module, n) and not ok(getattr(module, n))}
    if bad:
        report[name] = bad
print(json.dumps(report))
"""


def _global_statements(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [f"{path.name}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Global)]


def test_no_module_rebinds_a_global():
    found = [hit for _, path in modules() for hit in _global_statements(path)]
    assert found == []


def _mutable_values(targets: list[tuple[str, Path]]) -> dict:
    listing = json.dumps([(name, str(path)) for name, path in targets])
    out = subprocess.run([sys.executable, "-c", PROBE], input=listing, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=600,
                         env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_module_level_values_are_immutable():
    assert _mutable_values([m for m in modules() if not m[0].endswith("__main__")]) == {}


def test_the_state_check_finds_a_module_cache(tmp_path):
    module = tmp_path / "cachey.py"
    module.write_text("import re\nPATTERN = re.compile('x')\n_cache = {}\nNAMES = ('a',)\n")
    probe = PROBE.replace("import ast,", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import ast,")
    out = subprocess.run([sys.executable, "-c", probe], input=json.dumps([("cachey", str(module))]),
                         capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout) == {"cachey": {"_cache": "dict"}}
