"""Every extension point is complete (scikit-learn's `all_estimators` test, for this package):
each check module's check is registered, each export adapter is tried, each renderer is a
`--format` choice with golden files. And a format added through the registry alone is a
`--format` choice, picked by its extension, and run by the golden loop."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

import tokenaudit.checks
import tokenaudit.report
from tokenaudit.checks.registry import CHECKS
from tokenaudit.cli import app
from tokenaudit.loaders import exports
from tokenaudit.report import registry
from tokenaudit.report.interface import RenderContext, Renderer

from .conftest import CLI_ENV
from .test_golden import CASES, golden_path
from .test_golden import test_every_registered_format_has_its_golden_files as golden_loop_check

#: Modules of `checks/` that hold no check.
_CHECK_SUPPORT = {"base", "stats", "peers", "registry"}


def _modules(package: Any) -> Iterator[Any]:
    for info in pkgutil.iter_modules(package.__path__):
        yield importlib.import_module(f"{package.__name__}.{info.name}")


def _defined_here(module: Any) -> list[type]:
    return [
        c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__
    ]


def test_every_check_module_holds_a_registered_check() -> None:
    registered = {type(c) for c in CHECKS}
    for module in _modules(tokenaudit.checks):
        name = module.__name__.rsplit(".", 1)[1]
        if name in _CHECK_SUPPORT:
            continue
        checks = [c for c in _defined_here(module) if hasattr(c, "id") and hasattr(c, "run")]
        assert checks, f"{module.__name__} defines no check (a class with `id` and `run`)"
        for check in checks:
            assert check in registered, f"{check.__name__} is not in checks.registry.CHECKS"
    assert len({c.id for c in CHECKS}) == len(CHECKS)


def test_every_export_adapter_is_tried() -> None:
    def is_adapter(fn: Any) -> bool:
        if not inspect.isfunction(fn) or fn.__name__.startswith("_"):
            return False
        return list(inspect.signature(fn).parameters) == ["records", "doc"]

    adapters = [fn for _, fn in inspect.getmembers(exports, is_adapter)]
    assert adapters
    for fn in adapters:
        if fn is exports.convert:
            continue
        assert fn in exports.ADAPTERS, f"exports.{fn.__name__} is not in exports.ADAPTERS"
    assert set(exports._LINE_ADAPTERS) <= set(exports.ADAPTERS)


def test_every_renderer_is_registered_and_has_golden_files() -> None:
    renderers = {
        c
        for module in _modules(tokenaudit.report)
        for c in _defined_here(module)
        if issubclass(c, Renderer) and not inspect.isabstract(c)
    }
    assert renderers == {type(r) for r in registry.RENDERERS.values()}
    for name, renderer in registry.RENDERERS.items():
        assert renderer.name == name and renderer.extensions
        for case in CASES:
            assert golden_path(case, name).exists(), golden_path(case, name)


def test_formats_claim_distinct_extensions() -> None:
    seen = [e for r in registry.RENDERERS.values() for e in r.extensions]
    assert len(seen) == len(set(seen)) and all(e.startswith(".") and e == e.lower() for e in seen)


class Toy(Renderer):
    """A format a newcomer might add: one line per account."""

    name = "toy"
    extensions = (".toy",)

    def render(self, report: Any, ctx: RenderContext) -> str:
        return "".join(f"{r['rank']} {r['account']}\n" for r in ctx.shown.iter_rows(named=True))


@pytest.fixture
def toy_format() -> Iterator[Toy]:
    toy = Toy()
    registry.register(toy)
    try:
        yield toy
    finally:
        registry.unregister(toy.name)


def test_a_format_registered_alone_is_a_choice_an_extension_and_a_golden_case(
    toy_format: Toy, small_org: Any, tmp_path: Any
) -> None:
    runner = CliRunner(env=CLI_ENV)
    assert "toy" in runner.invoke(app, ["scan", "--help"]).stdout
    result = runner.invoke(app, ["scan", str(small_org), "--format", "toy", "--exit-zero"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("1 ")
    out = tmp_path / "report.toy"
    result = runner.invoke(app, ["scan", str(small_org), "-o", str(out), "--exit-zero"])
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("1 ")
    # The golden loop runs every registered format: the toy one has no golden file yet.
    with pytest.raises(AssertionError, match=r"sample_logs\.toy"):
        golden_loop_check()
    with pytest.raises(ValueError, match="exists already"):
        registry.register(Toy())


def test_a_format_name_is_never_auto_or_taken() -> None:
    class Auto(Toy):
        name = "auto"

    with pytest.raises(ValueError):
        registry.register(Auto())
    assert "toy" not in registry.names()
