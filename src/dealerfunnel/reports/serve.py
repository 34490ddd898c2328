"""One local address for the report pages, dbt docs and GX Data Docs.

``python -m dealerfunnel.reports.serve [--port 8765]`` (``make docs``) serves:

| path | folder |
| --- | --- |
| ``/reports/`` | the report pages (``settings.reports_dir()``) |
| ``/dbt/`` | dbt docs (``<data_dir>/dbt/docs``, written by ``dbt docs generate``) |
| ``/gx/`` | Great Expectations Data Docs (``<data_dir>/gx/gx/uncommitted/data_docs/local_site``) |
| ``/gx-assets/`` | the libraries Data Docs load from CDNs (``<data_dir>/gx-assets/node_modules``) |

Standard library only (``http.server``), bound to 127.0.0.1 by default; Ctrl-C stops it. dbt docs
need a server because the page fetches ``manifest.json`` and ``catalog.json``. Data Docs pages
load Bootstrap, jQuery, Font Awesome and other libraries from public CDNs, which GX does not ship
and a dealer network may not reach: at startup ``main`` installs them once with npm
(:func:`dealerfunnel.reports.gx_assets.install`), and every ``.html`` page under ``/gx/`` is
served with those CDN URLs pointed at ``/gx-assets/`` (the files on disk stay as GX wrote them).
Until the assets are installed the pages are served unchanged.
"""

from __future__ import annotations

import argparse
import html
import io
import signal
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dealerfunnel.reports import gx_assets
from dealerfunnel.settings import data_dir, reports_dir

ASSETS = "gx-assets"
"""The URL prefix of the Data Docs libraries (not listed on the link page)."""


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
    """Serves each route's folder under its prefix, a link page at ``/``, the Data Docs libraries
    under ``/gx-assets/``; Data Docs pages with their CDN URLs pointed there."""

    routes: dict[str, tuple[str, Path]] = {}  # noqa: RUF012  (set per server by functools.partial)

    def __init__(
        self,
        *args,
        routes: dict[str, tuple[str, Path]],
        assets: Path | None = None,
        **kwargs,
    ):
        self.routes = routes
        self.assets = gx_assets.assets_dir() if assets is None else assets
        self.folders = {
            **routes,
            ASSETS: ("GX Data Docs libraries", self.assets / "node_modules"),
        }
        super().__init__(*args, **kwargs)

    def _route(self) -> tuple[str | None, str]:
        path = unquote(urlsplit(self.path).path)
        first, _, rest = path.lstrip("/").partition("/")
        return (first if first in self.folders else None), rest

    def translate_path(self, path: str) -> str:
        prefix, rest = self._route()
        if prefix is None:
            return str(Path(self.directory) / "__missing__")
        folder = self.folders[prefix][1]
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
        title, folder = self.folders[prefix]
        if not folder.is_dir():
            todo = (
                "Run <code>make docs</code> once with npm available."
                if prefix == ASSETS
                else "Run the pipeline (<code>make demo</code> or <code>make run</code>) first."
            )
            message = (
                f"<p>{html.escape(title)} are not generated yet: "
                f"{html.escape(str(folder))} does not exist. {todo}</p>"
            )
            return self._page(HTTPStatus.NOT_FOUND, message, head)
        return super().do_HEAD() if head else super().do_GET()

    def send_head(self):
        """A Data Docs page with its CDN URLs pointed at ``/gx-assets/`` once the libraries are
        installed; anything else as :class:`SimpleHTTPRequestHandler` serves it."""
        prefix, _ = self._route()
        if prefix != "gx" or not urlsplit(self.path).path.endswith(("/", ".html", ".htm")):
            return super().send_head()
        path = Path(self.translate_path(self.path))  # drops '..': stays inside the folder
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file() or gx_assets.missing(self.assets):
            return super().send_head()
        try:
            page = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return super().send_head()
        data = gx_assets.rewrite_cdn_urls(page, f"/{ASSETS}/").encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        return io.BytesIO(data)

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


def make_server(
    host: str = "127.0.0.1", port: int = 8765, verbose: bool = False, assets: Path | None = None
):
    """The server; ``assets`` is the npm prefix of the Data Docs libraries (default
    :func:`dealerfunnel.reports.gx_assets.assets_dir`)."""
    handler = partial(DocsHandler, routes=routes(), assets=assets, directory=str(data_dir()))
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
    parser.add_argument(
        "--no-gx-assets",
        action="store_true",
        help="do not npm-install the libraries Data Docs load from CDNs",
    )
    args = parser.parse_args(argv)
    assets_ready = False
    if not args.no_gx_assets:
        try:
            gx_assets.install()
            assets_ready = True
        except gx_assets.GxAssetsError as exc:
            print(f"warning: {exc}", file=sys.stderr)
    server = make_server(args.host, args.port, args.verbose)
    host, port = server.server_address[:2]
    base = f"http://{host}:{port}"
    print(f"Serving on {base}/ (Ctrl-C stops)")
    for name, (title, folder) in server.RequestHandlerClass.keywords["routes"].items():
        state = "" if folder.is_dir() else f"  (not generated yet: {folder})"
        print(f"  {title + ':':<32} {base}/{name}/{state}")
    if assets_ready:
        print(f"  Data Docs load their libraries from {base}/{ASSETS}/ instead of CDNs.")
    else:
        print("  Data Docs load Bootstrap, jQuery and Font Awesome from CDNs: offline they render")
        print("  unstyled (GX does not ship them; npm installs them at startup).")
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
