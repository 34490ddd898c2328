"""dbt docs for the reports folder.

The docs describe the dbt project (``manifest.json``) and the layout of the relations it reads
and builds (``catalog.json``: schemas, tables, columns, types, comments), not the data. So
:func:`generate_docs` runs ``dbt docs generate`` (about 14 s at group scale, most of it
compiling every node again) only when one of them changed since the docs in the folder were
generated: the inputs' digest (:func:`docs_inputs_digest`) is kept beside them in
:data:`INPUTS_FILE`. An hourly run over new data alone keeps the docs it has.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dealerfunnel.settings import data_dir
from dealerfunnel.transform.runner import project_digest, run_dbt
from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

#: What the docs show of the project: its models, macros, seeds and tests (with dbt_project.yml).
DOCS_FOLDERS = ("models", "macros", "seeds", "tests")
#: The digest of the inputs the docs in the folder were generated from.
INPUTS_FILE = "docs_inputs.sha256"
#: The files a complete docs site has (``dbt docs generate`` writes them last to first).
SITE_FILES = ("index.html", "manifest.json", "catalog.json")

# Every column of every relation outside PostgreSQL's own schemas, in a stable order: what
# catalog.json is made of (dbt's PostgreSQL catalog reads columns, types, owners and comments).
_LAYOUT = """
    select coalesce(string_agg(
        concat_ws(e'\\t', n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner),
            obj_description(c.oid, 'pg_class'), a.attnum, a.attname,
            format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum)),
        e'\\n' order by n.nspname, c.relname, a.attnum), '')
    from pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    join pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where c.relkind in ('r', 'p', 'v', 'm', 'f')
        and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
        and n.nspname not like 'pg\\_temp\\_%%' and n.nspname not like 'pg\\_toast\\_temp\\_%%'
"""


def docs_inputs_digest(url: str) -> str:
    """SHA-256 of what the docs are generated from: dbt's version, the project's files
    (:data:`DOCS_FOLDERS`) and the warehouse's relation layout."""
    digest = project_digest(DOCS_FOLDERS)
    with connect(url) as conn:
        (layout,) = conn.execute(_LAYOUT).fetchone()
    digest.update(b"\0layout\0" + layout.encode())
    return digest.hexdigest()


def generate_docs(url: str, *, force: bool = False) -> str:
    """Run ``dbt docs generate`` unless the folder holds a complete site generated from the same
    inputs (``force``: always); return the path of the static site's index.html.

    The digest is written after dbt succeeds, and removed before it runs: a failed or
    interrupted generation is redone next time."""
    target = data_dir() / "dbt" / "docs"
    inputs = docs_inputs_digest(url)
    recorded = target / INPUTS_FILE
    if not force and _current(target, recorded, inputs):
        log.info("dbt docs: the project and the relation layout are unchanged, docs kept")
        return str(target / "index.html")
    recorded.unlink(missing_ok=True)
    run_dbt(["docs", "generate"], url, target_path=target)
    recorded.write_text(inputs + "\n")
    return str(target / "index.html")


def _current(target: Path, recorded: Path, inputs: str) -> bool:
    try:
        held = recorded.read_text().strip()
    except FileNotFoundError:
        return False
    return held == inputs and all((target / name).is_file() for name in SITE_FILES)
