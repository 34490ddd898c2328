"""``make docs``: one local server maps /reports/, /dbt/ and /gx/ to their folders."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import pytest

from dealerfunnel.reports.serve import make_server


@pytest.fixture
def server(tmp_path, monkeypatch):
    var = tmp_path / "var"
    (var / "reports").mkdir(parents=True)
    (var / "reports" / "index.html").write_text("reports index")
    (var / "dbt" / "docs").mkdir(parents=True)
    (var / "dbt" / "docs" / "manifest.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("secret")
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(var))
    monkeypatch.delenv("DEALERFUNNEL_REPORTS_DIR", raising=False)
    httpd = make_server(port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_routes(server):
    assert get(f"{server}/reports/") == (200, "reports index")
    assert get(f"{server}/reports") == (200, "reports index")  # redirected to /reports/
    assert get(f"{server}/dbt/manifest.json") == (200, "{}")
    status, body = get(f"{server}/")
    assert status == 200 and 'href="/gx/"' in body and "not generated yet" in body
    status, body = get(f"{server}/gx/")
    assert status == 404 and "not generated yet" in body
    assert get(f"{server}/elsewhere/")[0] == 404


def test_no_way_out_of_a_folder(server):
    for path in ("/reports/../../secret.txt", "/reports/%2e%2e/%2e%2e/secret.txt"):
        request = urllib.request.Request(server + path)
        status, body = get(request.full_url)
        assert status == 404 and "secret" not in body, path
