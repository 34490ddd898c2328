"""The peer line: dlt loads the same dealer export CSVs into the same PostgreSQL.

Runs in its own virtualenv (``bench/.venv-dlt``, made by :func:`bench.peers.ensure_dlt`), never
in the project's: only the standard library and dlt are imported here. Every file of an object
(``leads*.csv``, ``stage_events*.csv``, ...) goes into one table of that name in the dataset
``dlt_raw``, with the dealer folder as ``_dealer_code``; each file is yielded as one page of
dicts (dlt's documented fast path for Python data). dlt infers the types, normalises and loads
with its PostgreSQL destination (``--file-format csv`` loads with COPY, the fastest it offers
for PostgreSQL; ``insert_values`` is its default).

``python bench/dlt_load.py --url postgresql://... --landing DIR --result out.json``
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

OBJECTS = ("leads", "stage_events", "followups", "activities")


def dlt_credentials(url: str) -> str:
    """dlt's PostgreSQL credentials demand a password; a server with trust authentication
    (the bench's scratch server) ignores it, so a URL without one gets a placeholder."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is not None or "@" not in parts.netloc:
        return url
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{user}:unused-trust-auth@{host}"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--landing", required=True, type=Path)
    parser.add_argument("--result", required=True, type=Path)
    parser.add_argument("--file-format", default="csv")
    args = parser.parse_args()
    import dlt

    started = time.perf_counter()  # after the import, as for the project's loader

    csv.field_size_limit(sys.maxsize)
    files = sorted(args.landing.glob("*/*.csv"))
    counted = {"rows": 0}

    def pages(obj: str):
        for path in files:
            if not path.name.startswith(obj):
                continue
            with path.open(encoding="utf-8-sig", newline="") as handle:
                page = [{**row, "_dealer_code": path.parent.name} for row in csv.DictReader(handle)]
            counted["rows"] += len(page)
            yield page

    resources = [
        dlt.resource(pages(obj), name=obj, write_disposition="append")
        for obj in OBJECTS
        if any(p.name.startswith(obj) for p in files)
    ]
    with tempfile.TemporaryDirectory() as pipelines_dir:
        pipeline = dlt.pipeline(
            pipeline_name="bench_dealer_exports",
            destination=dlt.destinations.postgres(credentials=dlt_credentials(args.url)),
            dataset_name="dlt_raw",
            pipelines_dir=pipelines_dir,
        )
        info = pipeline.run(resources, loader_file_format=args.file_format)
        info.raise_on_failed_jobs()
    seconds = time.perf_counter() - started
    result = {
        "seconds": round(seconds, 3),
        "rows": counted["rows"],
        "dlt_version": dlt.__version__,
        "file_format": args.file_format,
    }
    args.result.write_text(json.dumps(result), encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
