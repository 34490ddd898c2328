"""GX Data Docs offline: every CDN URL of the GX templates maps to a local npm file, and the
docs server rewrites Data Docs pages (only) once the libraries are installed."""

from __future__ import annotations

import importlib.util
import json
import re
import stat
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dealerfunnel.reports import gx_assets
from dealerfunnel.reports.gx_assets import CDN_ASSETS, GxAssetsError, local_url, rewrite_cdn_urls
from dealerfunnel.reports.serve import make_server

# found without importing great_expectations (slow to import)
TEMPLATES = (
    Path(importlib.util.find_spec("great_expectations").origin).parent
    / "render"
    / "view"
    / "templates"
)
URL = re.compile(r"""https?://[^\s"'<>(){}]+""")
# Links and images, not libraries: they need no network to render the page.
NOT_LIBRARIES = ("https://greatexpectations.io", "https://great-expectations-web-assets.")


def template_urls() -> set[str]:
    urls = set()
    for template in TEMPLATES.glob("*.j2"):
        urls.update(URL.findall(template.read_text(encoding="utf-8")))
    return urls


def library_urls() -> set[str]:
    return {u for u in template_urls() if not u.startswith(NOT_LIBRARIES)}


def test_every_cdn_url_of_the_gx_templates_maps_to_an_npm_file():
    urls = library_urls()
    assert len(urls) >= 15, urls  # the grep finds them (GX 1.x: 15 distinct)
    unmapped = sorted(u for u in urls if local_url(u) is None)
    assert unmapped == [], "add these to gx_assets.CDN_ASSETS"
    for url in urls:
        local = local_url(url)
        assert local.startswith("/gx-assets/") and not local.endswith("/"), (url, local)
        assert ".." not in local and "//" not in local, local


def test_every_table_row_is_used_by_a_template():
    urls = library_urls()
    unused = [
        a.cdn
        for a in CDN_ASSETS
        if not any(u == a.cdn or (a.cdn.endswith("/") and u.startswith(a.cdn)) for u in urls)
    ]
    assert unused == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://code.jquery.com/jquery-3.7.1.min.js", "/gx-assets/jquery/dist/jquery.min.js"),
        (
            "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css",
            "/gx-assets/@fortawesome/fontawesome-free/css/all.min.css",
        ),
        (
            "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js",
            "/gx-assets/popper.js/dist/umd/popper.min.js",
        ),
        (
            "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css",
            "/gx-assets/bootstrap/dist/css/bootstrap.min.css",
        ),
        (
            "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js",
            "/gx-assets/bootstrap/dist/js/bootstrap.min.js",
        ),
        (
            "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
            "bootstrap-table-filter-control.css",
            "/gx-assets/bootstrap-table-1.19.0/dist/extensions/filter-control/"
            "bootstrap-table-filter-control.css",
        ),
        ("https://cdn.jsdelivr.net/npm/vega@5", "/gx-assets/vega/build/vega.min.js"),
        ("https://cdn.jsdelivr.net/npm/vega@5.1/x.js", None),  # not what the table names
        ("https://unpkg.com/bootstrap-table@1.20.0/dist/bootstrap-table.min.js", None),
        ("https://greatexpectations.io/", None),
    ],
)
def test_local_url(url, expected):
    assert local_url(url) == expected


def test_rewrite_keeps_everything_but_the_cdn_urls():
    page = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>\n'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"'
        ' integrity="sha384-abc" crossorigin="anonymous"></script>\n'
        "<script src='https://cdn.jsdelivr.net/npm/vega-lite@5'></script>\n"
        '<a href="https://greatexpectations.io/">GX</a>'
    )
    assert rewrite_cdn_urls(page) == (
        '<link rel="stylesheet" href="/gx-assets/bootstrap/dist/css/bootstrap.min.css"/>\n'
        '<script src="/gx-assets/popper.js/dist/umd/popper.min.js"'
        ' integrity="sha384-abc" crossorigin="anonymous"></script>\n'
        "<script src='/gx-assets/vega-lite/build/vega-lite.min.js'></script>\n"
        '<a href="https://greatexpectations.io/">GX</a>'
    )
    # every template, rewritten, loads no library from the internet
    for template in TEMPLATES.glob("*.j2"):
        rewritten = rewrite_cdn_urls(template.read_text(encoding="utf-8"))
        left = {u for u in URL.findall(rewritten) if not u.startswith(NOT_LIBRARIES)}
        assert left == set(), template.name


def test_exact_versions_and_one_version_per_install_folder():
    folders: dict[str, str] = {}
    for asset in CDN_ASSETS:
        assert re.fullmatch(r"\d+\.\d+\.\d+", asset.version), asset.package
        assert folders.setdefault(asset.install_folder, asset.package) == asset.package, asset


def fake_install(root: Path) -> None:
    """What ``npm install`` leaves: each package's package.json and the mapped files."""
    for asset in CDN_ASSETS:
        folder = root / "node_modules" / asset.install_folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text(json.dumps({"version": asset.version}))
        target = folder / asset.path
        if asset.path.endswith("/") or not asset.path:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("/* lib */")
    css = root / "node_modules" / "bootstrap" / "dist" / "css" / "bootstrap.min.css"
    css.parent.mkdir(parents=True, exist_ok=True)
    css.write_text("body{}")


def fake_npm(tmp_path: Path, body: str) -> str:
    script = tmp_path / "npm"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_install_runs_npm_once_and_skips_when_present(tmp_path):
    root = tmp_path / "gx-assets"
    calls = tmp_path / "calls"
    npm = fake_npm(tmp_path, f'echo "$@" >> {calls}\nexit 0')
    with pytest.raises(GxAssetsError, match="npm install finished but these files are missing"):
        gx_assets.install(root, npm=npm, log=lambda _: None)
    args = calls.read_text().split()
    assert args[:4] == ["install", "--prefix", str(root), "--no-audit"]
    assert "jquery@3.7.1" in args and "bootstrap-table-1.19.0@npm:bootstrap-table@1.19.0" in args
    fake_install(root)
    messages: list[str] = []
    assert gx_assets.install(root, npm=npm, log=messages.append) == root / "node_modules"
    assert len(calls.read_text().splitlines()) == 1  # not run again
    assert "present" in messages[0]


def test_install_errors_name_npm(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GxAssetsError, match="npm is not installed"):
        gx_assets.install(tmp_path / "a", log=lambda _: None)
    failing = fake_npm(tmp_path, "echo 'npm ERR! network unreachable' >&2\nexit 1")
    with pytest.raises(GxAssetsError, match=r"npm install .* failed \(exit 1\):\nnpm ERR! network"):
        gx_assets.install(tmp_path / "b", npm=failing, log=lambda _: None)


@pytest.fixture
def server(tmp_path, monkeypatch):
    var = tmp_path / "var"
    site = var / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"
    (site / "validations").mkdir(parents=True)
    page = (TEMPLATES / "page.j2").read_text(encoding="utf-8")
    (site / "index.html").write_text(page)
    (site / "validations" / "v.html").write_text(page)
    (var / "reports").mkdir(parents=True)
    (var / "reports" / "r.html").write_text(page)
    (tmp_path / "secret.txt").write_text("secret")
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(var))
    monkeypatch.delenv("DEALERFUNNEL_REPORTS_DIR", raising=False)
    httpd = make_server(port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", var, page
    httpd.shutdown()
    httpd.server_close()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_server_rewrites_data_docs_pages_once_installed(server):
    base, var, page = server
    # not installed yet: pages as GX wrote them (online they still load from the CDNs)
    assert get(f"{base}/gx/index.html") == (200, page)
    status, body = get(f"{base}/gx-assets/jquery/dist/jquery.min.js")
    assert status == 404 and "make docs" in body
    fake_install(var / "gx-assets")
    for path in ("/gx/", "/gx/index.html", "/gx/validations/v.html"):
        status, body = get(base + path)
        assert status == 200 and body == rewrite_cdn_urls(page) != page, path
        assert "/gx-assets/bootstrap/dist/css/bootstrap.min.css" in body
    assert get(f"{base}/gx-assets/bootstrap/dist/css/bootstrap.min.css") == (200, "body{}")
    assert get(f"{base}/reports/r.html") == (200, page)  # only Data Docs are rewritten
    assert (
        var / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    ).read_text(encoding="utf-8") == page  # the file on disk is untouched
    status, body = get(f"{base}/")
    assert "gx-assets" not in body  # not a documentation site of its own


def test_no_way_out_of_the_asset_or_data_docs_folders(server):
    base, var, _ = server
    fake_install(var / "gx-assets")
    for path in (
        "/gx/../../../../../secret.txt",
        "/gx/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/gx-assets/../../../secret.txt",
        "/gx-assets/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/gx/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.html",
    ):
        status, body = get(base + path)
        assert status == 404 and "secret" not in body, path
