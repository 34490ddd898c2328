"""Local copies of the CDN libraries GX Data Docs pages load, so the pages work offline.

Great Expectations 1.x writes Data Docs pages that load Bootstrap, jQuery, Font Awesome,
bootstrap-table and others from public CDNs (``render/view/templates/*.j2``); the package does not
ship them. A dealer network behind a firewall may not reach those CDNs, and then the pages render
unstyled with broken tables.

:data:`CDN_ASSETS` maps each CDN URL to a file (or folder) of an npm package at an exact version.
:func:`install` puts those packages once into ``<data_dir>/gx-assets`` with
``npm install --prefix``; :func:`rewrite_cdn_urls` points a page's CDN URLs at
``/gx-assets/<package folder>/<path>``, which ``make docs`` serves
(:mod:`dealerfunnel.reports.serve`). The files GX wrote stay as they are.

The npm files are the ones the CDNs serve (the CDNs publish the npm releases), so the
``integrity`` hashes of the pages still match and are kept.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from dealerfunnel.settings import data_dir

URL_PREFIX = "/gx-assets/"
"""Where the server publishes ``<assets dir>/node_modules``."""


class CdnAsset(NamedTuple):
    cdn: str
    """A CDN URL: ending in ``/`` a folder (the rest of a URL is kept), else one file."""
    package: str
    """``name@exact-version`` on npm."""
    path: str
    """The file, or with a trailing ``/`` the folder, inside the package."""
    folder: str = ""
    """The folder under ``node_modules`` (an npm alias) when two versions of one package are
    needed; default the package name."""

    @property
    def name(self) -> str:
        return self.package.rpartition("@")[0]

    @property
    def version(self) -> str:
        return self.package.rpartition("@")[2]

    @property
    def install_folder(self) -> str:
        return self.folder or self.name

    @property
    def spec(self) -> str:
        """The ``npm install`` argument."""
        return f"{self.folder}@npm:{self.package}" if self.folder else self.package


CDN_ASSETS: tuple[CdnAsset, ...] = (
    # --- stylesheets ----------------------------------------------------------------------
    CdnAsset("https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/", "bootstrap@4.3.1", "dist/"),
    CdnAsset("https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/", "bootstrap@4.3.1", "dist/"),
    CdnAsset(
        "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/",
        "@forevolve/bootstrap-dark@1.1.0",
        "",
    ),
    # css/all.min.css loads ../webfonts/*: the package has css/ and webfonts/ side by side.
    CdnAsset(
        "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/",
        "@fortawesome/fontawesome-free@6.6.0",
        "",
    ),
    CdnAsset(
        "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/",
        "bootstrap-datepicker@1.9.0",
        "dist/",
    ),
    CdnAsset("https://unpkg.com/bootstrap-table@1.19.1/", "bootstrap-table@1.19.1", ""),
    # The pages take the filter-control stylesheet from 1.19.0 and everything else from 1.19.1.
    CdnAsset(
        "https://unpkg.com/bootstrap-table@1.19.0/",
        "bootstrap-table@1.19.0",
        "",
        folder="bootstrap-table-1.19.0",
    ),
    # --- scripts --------------------------------------------------------------------------
    CdnAsset("https://code.jquery.com/jquery-3.7.1.min.js", "jquery@3.7.1", "dist/jquery.min.js"),
    CdnAsset(
        "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/", "popper.js@1.12.9", "dist/"
    ),
    # jsdelivr resolves a major version to its newest release and the package's "jsdelivr" file.
    CdnAsset("https://cdn.jsdelivr.net/npm/vega@5", "vega@5.33.1", "build/vega.min.js"),
    CdnAsset(
        "https://cdn.jsdelivr.net/npm/vega-lite@5", "vega-lite@5.23.0", "build/vega-lite.min.js"
    ),
    CdnAsset(
        "https://cdn.jsdelivr.net/npm/vega-embed@6",
        "vega-embed@6.29.0",
        "build/vega-embed.min.js",
    ),
)
"""CDN URL -> npm package at an exact version and the path inside it: the one table."""


class GxAssetsError(RuntimeError):
    """npm is missing or could not install the Data Docs assets."""


def assets_dir() -> Path:
    """``<data_dir>/gx-assets``: the npm prefix; the files are in its ``node_modules``."""
    return data_dir() / "gx-assets"


def packages() -> list[CdnAsset]:
    """One entry per install folder, in table order."""
    seen: dict[str, CdnAsset] = {}
    for asset in CDN_ASSETS:
        seen.setdefault(asset.install_folder, asset)
    return list(seen.values())


def _installed_version(root: Path, asset: CdnAsset) -> str | None:
    manifest = root / "node_modules" / asset.install_folder / "package.json"
    try:
        return json.loads(manifest.read_text()).get("version")
    except (OSError, ValueError):
        return None


def missing(root: Path | None = None) -> list[CdnAsset]:
    """The packages not installed (at their version, with their file) under ``root``."""
    root = assets_dir() if root is None else root
    out = []
    for asset in packages():
        target = root / "node_modules" / asset.install_folder / asset.path
        if _installed_version(root, asset) != asset.version or not target.exists():
            out.append(asset)
    # every table row's file or folder must be there, not only one per package
    for asset in CDN_ASSETS:
        target = root / "node_modules" / asset.install_folder / asset.path
        if not target.exists() and asset not in out:
            out.append(asset)
    return out


def install(
    root: Path | None = None,
    *,
    npm: str | None = None,
    log: Callable[[str], None] = print,
    timeout: float = 600,
) -> Path:
    """Install the packages of :data:`CDN_ASSETS` into ``root`` (default :func:`assets_dir`)
    once; return ``root / "node_modules"``. Nothing runs when they are all present.

    Raises :class:`GxAssetsError` naming npm when npm is missing or the install fails.
    """
    root = assets_dir() if root is None else root
    modules = root / "node_modules"
    todo = missing(root)
    if not todo:
        log(f"GX Data Docs assets: present in {modules}")
        return modules
    npm = npm or shutil.which("npm")
    if not npm:
        raise GxAssetsError(
            "npm is not installed (it is needed once to fetch the libraries GX Data Docs load "
            f"from CDNs into {root}); install Node.js/npm, e.g. apt-get install npm"
        )
    root.mkdir(parents=True, exist_ok=True)
    specs = [asset.spec for asset in packages()]
    # --legacy-peer-deps: the pages pair bootstrap 4.3.1 with popper.js 1.12.9, below bootstrap's
    # declared peer range; --ignore-scripts: only files are needed, no install scripts run.
    command = [
        npm,
        "install",
        "--prefix",
        str(root),
        "--no-audit",
        "--no-fund",
        "--save-exact",
        "--legacy-peer-deps",
        "--ignore-scripts",
        *specs,
    ]
    log(f"GX Data Docs assets: npm install {len(specs)} packages into {root} ...")
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GxAssetsError(f"npm install into {root} failed: {exc}") from exc
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise GxAssetsError(
            f"npm install into {root} failed (exit {done.returncode}):\n{output}\n"
            f"command: {' '.join(command)}"
        )
    still = missing(root)
    if still:
        raise GxAssetsError(
            "npm install finished but these files are missing: "
            + ", ".join(f"{a.package}/{a.path}" for a in still)
        )
    log(f"GX Data Docs assets: installed in {time.monotonic() - started:.1f}s ({modules})")
    return modules


def local_url(url: str, prefix: str = URL_PREFIX) -> str | None:
    """The local URL of a CDN URL in :data:`CDN_ASSETS`, else None."""
    for asset in CDN_ASSETS:
        if asset.cdn.endswith("/"):
            if url.startswith(asset.cdn):
                rest = url[len(asset.cdn) :]
                return f"{prefix}{asset.install_folder}/{asset.path}{rest}"
        elif url == asset.cdn:
            return f"{prefix}{asset.install_folder}/{asset.path}"
    return None


_URL = re.compile(r"""https?://[^\s"'<>()]+""")


def rewrite_cdn_urls(page: str, prefix: str = URL_PREFIX) -> str:
    """``page`` with every CDN URL of :data:`CDN_ASSETS` pointed at ``prefix``; other URLs
    (links to greatexpectations.io, ...) are left alone."""
    return _URL.sub(lambda m: local_url(m.group(0), prefix) or m.group(0), page)
