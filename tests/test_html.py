"""The HTML report: one self-contained page that a real browser renders without a console error,
with no external URL, hostile names shown as text, and the same bytes for the same input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.audit import run_audit
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import expand_paths
from tokenaudit.model import AuditReport
from tokenaudit.report.html import render_html
from tokenaudit.report.interface import RenderContext
from tokenaudit.synthetic.simulate import generate_org, write_org

ROOT = Path(__file__).parent.parent
HOSTILE_NAME = '<script>alert(1)</script>"><img src=x onerror=alert(2)>\u202eevil'
HOSTILE_TEAM = "<b>team</b>&amp;"


def _scan(paths: list[Path], workdir: Path) -> AuditReport:
    return run_audit(expand_paths(paths), AuditConfig(), workdir)


def _html(report: AuditReport) -> str:
    return render_html(report, RenderContext(cfg=AuditConfig(), shown=report.accounts.sort("rank")))


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> AuditReport:
    return _scan([ROOT / "sample_logs"], tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def sample_html(sample_report: AuditReport) -> str:
    return _html(sample_report)


@pytest.fixture(scope="module")
def hostile_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small organisation whose most suspicious tokenmaxxer and one team have hostile names."""
    org = generate_org(40, 28, seed=3, maxxer_share=0.15)
    victim = "priya.abe@acme.example"  # a scripted loop: flagged
    identities = org.identities.with_columns(
        pl.when(pl.col("account") == victim)
        .then(pl.lit(HOSTILE_NAME))
        .otherwise(pl.col("account"))
        .alias("account"),
        pl.when(pl.col("team") == "growth")
        .then(pl.lit(HOSTILE_TEAM))
        .otherwise(pl.col("team"))
        .alias("team"),
    )
    org = type(org)(org.usage, org.commits, identities, org.truth, org.inflation)
    where = tmp_path_factory.mktemp("hostile")
    write_org(org, where, fmt="parquet")
    report = _scan(
        [where / "usage.parquet", where / "commits.parquet", where / "identities.csv"], where
    )
    assert report.accounts.filter(pl.col("account") == HOSTILE_NAME)["flagged"].item()
    return _html(report)


class _Strict(HTMLParser):
    """Every non-void element closed in order; attributes and entities well formed."""

    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
        | {"track", "wbr", "circle", "line", "rect", "polygon", "polyline", "path"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster"):
                self.urls.append(value or "")
            if name.startswith("on"):
                self.errors.append(f"event handler attribute {name} on <{tag}>")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href"):
                self.urls.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def _parse(text: str) -> _Strict:
    parser = _Strict()
    parser.feed(text)
    parser.close()
    assert not parser.errors, parser.errors[:5]
    assert not parser.stack, f"unclosed: {parser.stack}"
    return parser


def test_the_page_is_well_formed_and_holds_every_section(
    sample_html: str, sample_report: AuditReport
) -> None:
    assert sample_html.startswith('<!DOCTYPE html>\n<html lang="en">')
    parsed = _parse(sample_html)
    assert {"table", "svg", "script", "style", "select"} <= parsed.tags
    for section in ("summary", "accounts", "ranked", "organisation", "teams", "flagged"):
        assert f'id="{section}"' in sample_html
    assert "61 accounts, 2026-03-02 to 2026-04-13" in sample_html
    # Every flagged account has its evidence and timeline; the fitted line is drawn.
    flagged = int(sample_report.accounts["flagged"].sum())
    assert flagged >= 1
    assert sample_html.count('<section class="account">') == flagged
    assert sample_html.count('class="chart timeline"') == flagged
    assert 'class="fit"' in sample_html and 'class="band"' in sample_html
    # One p-value histogram per check that judged anyone (deadline-spikes has no quota here).
    from tokenaudit.checks.registry import CHECKS

    assert sample_html.count('aria-label="p-values of') == len(CHECKS) - 1


def test_nothing_is_fetched(sample_html: str, hostile_html: str) -> None:
    for text in (sample_html, hostile_html):
        parsed = _parse(text)
        assert all(u.startswith("#") for u in parsed.urls), parsed.urls
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", text, re.I)
        assert not re.search(r"url\(\s*['\"]?(?:https?:|//)", text, re.I)
        assert "@import" not in text
    assert "http://" not in sample_html and "https://" not in sample_html
    # The policy forbids everything but this page's own style and script.
    assert "default-src 'none'" in sample_html and "unsafe-inline" not in sample_html


def test_hostile_names_are_text(hostile_html: str) -> None:
    _parse(hostile_html)
    assert "<script>alert" not in hostile_html
    assert "<img" not in hostile_html
    assert "<b>team</b>" not in hostile_html
    assert "\u202e" not in hostile_html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"
        in hostile_html
    )
    assert "\\u{202e}evil" in hostile_html
    assert "&lt;b&gt;team&lt;/b&gt;&amp;amp;" in hostile_html
    assert hostile_html.count("<script>") == 1


def test_same_input_same_bytes(
    sample_report: AuditReport, sample_html: str, tmp_path: Path
) -> None:
    assert _html(sample_report) == sample_html
    again = _scan([ROOT / "sample_logs"], tmp_path)
    assert _html(again) == sample_html


def test_without_a_fitted_line_the_points_are_drawn_alone(sample_report: AuditReport) -> None:
    from dataclasses import replace

    text = _html(replace(sample_report, fit_null_models=None))
    assert 'class="fit"' not in text and 'class="pt ' in text
    assert "No fitted line" in text


def test_importing_the_renderer_stays_light() -> None:
    code = (
        "import sys, tokenaudit.report.html, tokenaudit.report.html_teams, tokenaudit.teams;"
        "print(sorted(m for m in ('scipy', 'numpy', 'rich') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


def test_a_browser_renders_it_without_a_console_error(sample_html: str, tmp_path: Path) -> None:
    """Headless Chromium loads the file from disk with the network off: the script runs to its
    end (it marks `<html data-ready>`), and nothing is logged to the console (a CSP violation,
    a script error, a blocked fetch). The screenshot is kept beside the page."""
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")
    page = tmp_path / "report.html"
    page.write_text(sample_html, encoding="utf-8")
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--proxy-server=127.0.0.1:9",  # any request would fail (and be logged)
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
    ]
    dom = subprocess.run(
        [*common, f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="1"' in dom.stdout, "the page's script did not run to its end"
    console = [
        line
        for line in dom.stderr.splitlines()
        if ":CONSOLE" in line or "Content Security Policy" in line or "Uncaught" in line
    ]
    assert not console, console
    shot = tmp_path / "report.png"
    snap = subprocess.run(
        [
            *common,
            f"--user-data-dir={tmp_path / 'profile-shot'}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert snap.returncode == 0, snap.stderr[-2000:]
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
