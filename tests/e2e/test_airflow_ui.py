"""``make airflow`` (``python -m dealerfunnel.cli airflow``): a browser logs in to the Airflow UI,
sees the four DAGs and opens the report view of the plugin; Ctrl-C stops every component.

The command runs as ``make airflow`` would (the CLI's Airflow environment under a temporary
data folder, the test database as ``WAREHOUSE_URL``). Headless Debian chromium is driven over
the Chrome DevTools Protocol (``--remote-debugging-port``, the ``websockets`` client): it types
the password the command printed into the SimpleAuthManager login form, as a person would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_FLAGS
from conftest import require
from websockets.sync.client import connect

from .airflow_stack import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DAG_IDS = ("dealer_exports_extract", "extract_ad_platforms", "funnel_transform", "funnel_alerts")
MARKER = "report index written by test_airflow_ui"


class Command:
    """``python -m dealerfunnel.cli airflow`` with its output collected line by line."""

    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dealerfunnel.cli", "airflow", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            assert self.proc.poll() is None, "\n".join(self.lines[-40:])
            time.sleep(0.5)
        raise AssertionError(f"no {pattern!r} in:\n" + "\n".join(self.lines[-40:]))


class Chromium:
    """Headless chromium and one page, driven over the DevTools Protocol."""

    def __init__(self, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                *CHROMIUM_FLAGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1400,1000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not active.exists() or not active.read_text().strip():
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.2)
        port = active.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            pages = [t for t in json.load(answer) if t["type"] == "page"]
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=None)
        self.next_id = 0

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def type_into(self, selector: str, text: str) -> None:
        """Focus the field and type ``text`` into it, as a keyboard would."""
        assert self.evaluate(
            f"(e => !!e && (e.focus(), true))(document.querySelector({json.dumps(selector)}))"
        )
        self.send("Input.insertText", text=text)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for(self, expression: str, what: str, timeout: float = 90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.5)
        text = self.evaluate("document.location.href + '\\n' + document.body.innerText")
        raise AssertionError(f"{what} did not happen; the page shows:\n{text}")

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


REPORT_FRAME = """
(() => {
  const frame = [...document.querySelectorAll("iframe")]
    .find((f) => (f.getAttribute("src") || "").includes("/dealerfunnel/reports/"));
  const body = frame && frame.contentDocument && frame.contentDocument.body;
  return body ? body.innerText : null;
})()
"""


@pytest.fixture
def airflow_ui(warehouse_url, tmp_path):
    require(Path(CHROMIUM).exists(), "chromium (apt-get install chromium)")
    reports = tmp_path / "var" / "reports"
    reports.mkdir(parents=True)
    (reports / "index.html").write_text(f"<h1>Funnel reports</h1><p>{MARKER}</p>", "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        WAREHOUSE_URL=warehouse_url,
        DEALERFUNNEL_DATA_DIR=str(tmp_path / "var"),
        DEALERFUNNEL_HOME=str(ROOT),
        PYTHONPATH=str(ROOT / "tools"),
    )
    env.pop("DEALERFUNNEL_REPORTS_DIR", None)
    port = free_port()
    command = Command(port, env)
    try:
        yield command, port
    finally:
        if command.proc.poll() is None:
            command.proc.send_signal(signal.SIGINT)
            try:
                command.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                command.proc.kill()


def test_login_dags_and_report_view_then_ctrl_c(airflow_ui, tmp_path):
    command, port = airflow_ui
    started = time.monotonic()
    url = command.wait_for(r"Airflow UI: (http://127\.0\.0\.1:\d+)/", timeout=400).group(1)
    assert url == f"http://127.0.0.1:{port}"
    password = command.wait_for(r"login: admin / (\S+)", timeout=10).group(1)
    ready_seconds = time.monotonic() - started
    browser = Chromium(tmp_path / "profile")
    try:
        browser.goto(f"{url}/")
        browser.wait_for("!!document.querySelector('input[name=\"password\"]')", "the login form")
        assert "/auth/login" in browser.evaluate("document.location.pathname")
        browser.type_into('input[name="username"]', "admin")
        browser.type_into('input[name="password"]', password)
        browser.evaluate("document.querySelector('button[type=\"submit\"]').click()")
        browser.wait_for("!document.location.pathname.startsWith('/auth')", "the login")
        browser.goto(f"{url}/dags")
        check = " && ".join(f"document.body.innerText.includes({json.dumps(d)})" for d in DAG_IDS)
        browser.wait_for(check, "the four DAGs in the DAG list")
        browser.goto(f"{url}/plugin/funnel-reports")
        text = browser.wait_for(REPORT_FRAME, "the report view")
        assert MARKER in text
    finally:
        browser.close()

    # Ctrl-C: every component stops, the port is free again
    command.proc.send_signal(signal.SIGINT)
    assert command.proc.wait(timeout=120) == 0, "\n".join(command.lines[-40:])
    assert "Airflow stopped." in command.lines
    with socket.socket() as sock, pytest.raises(OSError):
        sock.connect(("127.0.0.1", port))
    print(f"airflow UI ready in {ready_seconds:.0f}s")
