"""The package as a whole: no state kept at module level, no imports of the chat layers."""
import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import propensity

MODULES = sorted(f"propensity.{m.name}" for m in pkgutil.iter_modules(propensity.__path__)
                 if m.name != "__main__")  # importing __main__ runs the CLI
SOURCES = sorted(Path(propensity.__path__[0]).glob("*.py"))
# The bot modules propensity may use: the shop DB, the settings and formula-safe CSV.
ALLOWED_BOT = ("bot.settings", "bot.store", "bot.csvsafe")
FORBIDDEN = ("actions", "bot.support", "bot.web", "bot.needs")


def _imports(path: Path) -> set[str]:
    """Every module a source file imports, at any depth (imports inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_module_level_mutable_containers():
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if not attr.startswith("__"):
                assert not isinstance(value, (dict, list, set, bytearray)), f"{name}.{attr}"


def test_no_global_statements():
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        assert not any(isinstance(n, ast.Global) for n in ast.walk(tree)), path.name


def test_only_the_store_and_settings_of_the_bot_are_imported():
    for path in SOURCES:
        for name in _imports(path):
            if _within(name, ("bot", "actions")):
                assert _within(name, ALLOWED_BOT), f"{path.name} imports {name}"


def test_nothing_it_imports_pulls_in_the_chat_layers():
    bot_modules = sorted({n for p in SOURCES for n in _imports(p) if _within(n, ALLOWED_BOT)})
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES + bot_modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(n for n in sys.modules if any(n == p or n.startswith(p + '.') "
        f"for p in {FORBIDDEN!r})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(propensity.__path__[0]).parent)
    assert out.stdout.strip() == "[]"
