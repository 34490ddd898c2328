"""One local address for the report pages, dbt docs and GX Data Docs.

``python -m dealerfunnel.reports.serve [--port 8765]`` (``make docs``) serves:

| path | folder |
| --- | --- |
| ``/reports/`` | the report pages (``settings.reports_dir()``) |
| ``/dbt/`` | dbt docs (``<data_dir>/dbt/docs``, written by ``dbt docs generate``) |
| ``/gx/`` | Great Expectations Data Docs (``<data_dir>/gx/gx/uncommitted/data_docs/local_site``) |

Standard library only (``http.server``), bound to 127.0.0.1 by default; Ctrl-C stops it. dbt docs
need a server because the page fetches ``manifest.json`` and ``catalog.json``. Data Docs work
offline for their content and GX's own styles, fonts and images (copied into ``local_site/static``)
but reference Bootstrap, jQuery, Font Awesome and other libraries on public CDNs, which GX does
not ship: offline they render unstyled, without their collapsible sections (see
:data:`GX_CDN_ASSETS`).
"""

from __future__ import annotations

import argparse
import html
import signal
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dealerfunnel.settings import data_dir, reports_dir

GX_CDN_ASSETS = (
    "bootstrap 4.3.1 (css, js)",
    "@forevolve/bootstrap-dark 1.1.0 (css)",
    "bootstrap-datepicker 1.9.0 (css, js)",
    "bootstrap-table 1.19.1 and its filter-control extension (css, js)",
    "font-awesome 6.6.0 (css)",
    "jquery 3.7.1",
    "popper.js 1.12.9",
    "vega 5, vega-lite 5, vega-embed 6",
)
"""What Data Docs pages load from CDNs and the great_expectations package does not ship."""


def routes() -> dict[str, tuple[str, Path]]:
    """URL prefix -> (title, folder)."""
    return {
        "reports": ("Funnel report pages", reports_dir()),
        "dbt": ("dbt docs", data_dir() / "dbt" / "docs"),
        "gx": (
            "Great Expectations Data Docs",
            data_dir() / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site",
        ),
    }


class DocsHandler(SimpleHTTPRequestHandler):
    """Serves each route's folder under its prefix, a link page at ``/``."""

    routes: dict[str, tuple[str, Path]] = {}  # noqa: RUF012  (set per server by functools.partial)

    def __init__(self, *args, routes: dict[str, tuple[str, Path]], **kwargs):
        self.routes = routes
        super().__init__(*args, **kwargs)

    def _route(self) -> tuple[str | None, str]:
        path = unquote(urlsplit(self.path).path)
        first, _, rest = path.lstrip("/").partition("/")
        return (first if first in self.routes else None), rest

    def translate_path(self, path: str) -> str:
        prefix, rest = self._route()
        if prefix is None:
            return str(Path(self.directory) / "__missing__")
        folder = self.routes[prefix][1]
        self.directory = str(folder)
        # SimpleHTTPRequestHandler drops '..' and absolute parts: no way out of the folder
        query = urlsplit(path).query
        return super().translate_path("/" + rest + (f"?{query}" if query else ""))

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        path = urlsplit(self.path).path
        if path in ("", "/"):
            return self._page(HTTPStatus.OK, self._links(), head)
        prefix, _ = self._route()
        if prefix is None:
            return self._page(HTTPStatus.NOT_FOUND, "<p>Not found. " + self._links(), head)
        if path.rstrip("/") == f"/{prefix}" and not path.endswith("/"):
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", f"/{prefix}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        folder = self.routes[prefix][1]
        if not folder.is_dir():
            message = (
                f"<p>{html.escape(self.routes[prefix][0])} are not generated yet: "
                f"{html.escape(str(folder))} does not exist. Run the pipeline "
                "(<code>make demo</code> or <code>make run</code>) first.</p>"
            )
            return self._page(HTTPStatus.NOT_FOUND, message, head)
        return super().do_HEAD() if head else super().do_GET()

    def _links(self) -> str:
        items = "".join(
            f'<li><a href="/{name}/">{html.escape(title)}</a>'
            f"{'' if folder.is_dir() else ' (not generated yet)'}</li>"
            for name, (title, folder) in self.routes.items()
        )
        return f"<h1>Dealer funnel documentation</h1><ul>{items}</ul>"

    def _page(self, status: HTTPStatus, body: str, head: bool) -> None:
        data = f"<!DOCTYPE html><meta charset='utf-8'><title>docs</title>{body}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)


def make_server(host: str = "127.0.0.1", port: int = 8765, verbose: bool = False):
    handler = partial(DocsHandler, routes=routes(), directory=str(data_dir()))
    server = ThreadingHTTPServer((host, port), handler)
    server.verbose = verbose  # type: ignore[attr-defined]
    server.daemon_threads = True
    return server


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, args.verbose)
    host, port = server.server_address[:2]
    base = f"http://{host}:{port}"
    print(f"Serving on {base}/ (Ctrl-C stops)")
    for name, (title, folder) in server.RequestHandlerClass.keywords["routes"].items():
        state = "" if folder.is_dir() else f"  (not generated yet: {folder})"
        print(f"  {title + ':':<32} {base}/{name}/{state}")
    print("  Data Docs load Bootstrap, jQuery and Font Awesome from CDNs: offline they render")
    print("  unstyled (GX does not ship them).")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
