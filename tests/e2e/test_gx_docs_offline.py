"""GX Data Docs open offline: ``make docs`` serves them with their CDN libraries from npm.

Real Data Docs are built by a quality gate on a tiny table (as in
``tests/integration/test_quality_gate.py``); the libraries are installed with npm (the registry is
the one network the install needs); the docs server serves both on 127.0.0.1, and headless
chromium, with every other host unresolvable, loads the pages. The pages must reference no
script or stylesheet on the internet, every library they load must come back from the server
(SRI hashes included), and bootstrap-table must have enhanced the tables (its wrapper
``div.bootstrap-table`` only exists after jQuery, Bootstrap and bootstrap-table ran). The same
page without the local libraries is the control: no enhanced table.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import psycopg
import pytest
from browser import CHROMIUM
from browser import CHROMIUM_FLAGS as BASE_FLAGS
from conftest import PIPELINE_SCHEMAS, require
from integration.test_quality_gate import _insert_leads

from dealerfunnel.quality import run_gate
from dealerfunnel.reports import gx_assets
from dealerfunnel.reports.serve import make_server
from dealerfunnel.warehouse import ensure_schema

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CHROMIUM_FLAGS = (
    *BASE_FLAGS,
    # offline: no host but the docs server resolves
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


@pytest.fixture(scope="module")
def var_dir(warehouse_url, tmp_path_factory):
    """A data dir with real Data Docs (one passing validation of a 10-row table) and the npm
    libraries installed; yields (data dir, install seconds)."""
    require(Path(CHROMIUM).exists(), "chromium (apt-get install chromium)")
    require(shutil.which("npm") is not None, "npm (apt-get install npm)")
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for schema in PIPELINE_SCHEMAS:
            conn.execute(f'drop schema if exists "{schema}" cascade')
    ensure_schema(warehouse_url)
    _insert_leads(warehouse_url, [(f"L{i}", "2026-05-04T02:00:00Z", False) for i in range(10)])
    var = tmp_path_factory.mktemp("var")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEALERFUNNEL_DATA_DIR", str(var))
        result = run_gate(warehouse_url, ["raw_dealer_export__leads"], checkpoint_name="offline")
        assert result.success and result.data_docs_index
        started = time.monotonic()
        modules = gx_assets.install(log=lambda _: None)
        seconds = time.monotonic() - started
    assert modules == var / "gx-assets" / "node_modules"
    yield var, seconds


def serve(var: Path, assets: Path | None = None):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEALERFUNNEL_DATA_DIR", str(var))
        mp.delenv("DEALERFUNNEL_REPORTS_DIR", raising=False)
        server = make_server(port=0, assets=assets or var / "gx-assets")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def served(var_dir):
    server, base = serve(var_dir[0])
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def pages(var_dir) -> list[str]:
    """The Data Docs pages, as paths under /gx/: the index and the validation results."""
    site = var_dir[0] / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"
    found = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert "index.html" in found and any(p.startswith("validations/") for p in found), found
    return found


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Resources(HTMLParser):
    """(tag, url, integrity) of every script src and stylesheet link."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.found.append((tag, a["src"], a.get("integrity")))
        elif tag == "link" and "stylesheet" in (a.get("rel") or "") and a.get("href"):
            self.found.append((tag, a["href"], a.get("integrity")))


def resources(page: str) -> list[tuple[str, str, str | None]]:
    parser = Resources()
    parser.feed(page)
    return parser.found


def test_pages_load_every_library_from_the_server(var_dir, served, pages):
    var, seconds = var_dir
    size = sum(f.stat().st_size for f in (var / "gx-assets").rglob("*") if f.is_file())
    print(f"npm install: {seconds:.1f}s, {size / 1e6:.1f} MB")  # shown with -s
    site = var / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"
    for path in pages:
        on_disk = (site / path).read_text(encoding="utf-8")
        assert "https://code.jquery.com/" in on_disk, path  # GX's file is left as it was
        status, body = fetch(f"{served}/gx/{path}")
        assert status == 200, path
        found = resources(body.decode("utf-8"))
        assert len(found) >= 10, (path, found)
        external = [url for _, url, _ in found if re.match(r"(https?:)?//", url)]
        assert external == [], path
        for _tag, url, integrity in found:
            absolute = urljoin(f"{served}/gx/{path}", url)
            status, data = fetch(absolute)
            assert status == 200 and len(data) > 100, (path, url, status)
            if integrity:
                algorithm, _, digest = integrity.partition("-")
                actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
                assert actual == digest, f"{url}: the npm file is not the CDN's"


def test_font_awesome_finds_its_webfonts(served):
    css_url = f"{served}/gx-assets/@fortawesome/fontawesome-free/css/all.min.css"
    status, css = fetch(css_url)
    assert status == 200
    fonts = set(re.findall(r"url\(([^)]+\.woff2)\)", css.decode()))
    assert fonts, "no webfont in all.min.css"
    for font in fonts:
        status, data = fetch(urljoin(css_url, font.strip("'\"")))
        assert status == 200 and len(data) > 1000, font


def chromium(tmp_path: Path, url: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    return subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def console_errors(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if ":CONSOLE" in line
        and re.search(r"Uncaught|integrity|Failed to load|is not defined|is not a function", line)
    ]


def test_chromium_offline_draws_the_enhanced_tables(var_dir, served, pages, tmp_path):
    for path in ("index.html", next(p for p in pages if p.startswith("validations/"))):
        done = chromium(tmp_path, f"{served}/gx/{path}")
        assert done.returncode == 0, done.stderr[-2000:]
        dom = done.stdout
        assert console_errors(done.stderr) == [], path
        # bootstrap-table wrapped the tables (in the Bootstrap 4 theme) and filled in their rows
        assert re.search(r'<div class="bootstrap-table bootstrap4[ "]', dom), (path, dom[-3000:])
        assert "fixed-table-container" in dom and "raw_dealer_export__leads" in dom, path
        if path == "index.html":
            assert 'class="filter-control"' in dom  # the filter-control extension ran


def test_control_without_local_libraries_the_tables_stay_plain(var_dir, tmp_path):
    """The same page with its CDN URLs (no local libraries): offline nothing enhances it, so the
    test above really measures the local libraries."""
    server, base = serve(var_dir[0], assets=tmp_path / "no-assets")
    try:
        done = chromium(tmp_path, f"{base}/gx/index.html")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "https://code.jquery.com/jquery-3.7.1.min.js" in done.stdout
    assert any("$ is not defined" in line for line in console_errors(done.stderr))
    assert not re.search(r'<div class="bootstrap-table[ "]', done.stdout)
